"""Checks on the DVA's backchannel TLS: protocol versions, client certificates and the Whitelist.

They judge the attempts the TLS probes (``validatiestraat.probes.tls``) recorded against the token endpoint
and the FHIR resource endpoint taken from the ZAL (targets ``token`` and ``fhir``). An attempt the DVA refused
is an exchange without a response whose error is a TLS handshake ended by the server (or a connection it closed
before answering): that is the expected *pass* of a negative attempt. A TCP connection nobody accepted, a name
that did not resolve or a timeout is the environment (``error``), never the DVA's merit nor its fault.

Rules: core.tls.300 and the NCSC-based TLS requirements (TLS 1.2 mandatory, 1.3 where reasonably possible,
nothing older), mutual TLS with PKIoverheid certificates on the backchannel (core.tls.314) and the Whitelist
check on every node connection (medmij-protocol.md §1.6).
"""

from __future__ import annotations

from validatiestraat.checks.context import CheckContext, NoResponse
from validatiestraat.checks.oauth import harness_step, short
from validatiestraat.checks.registry import check
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.results import Finding, Outcome, errored, failed, omitted, passed

TARGETS = ("token", "fhir")
OLD_VERSIONS = ("TLSv1", "TLSv1.1")
CURRENT_VERSIONS = ("TLSv1.2", "TLSv1.3")
BAD_CERTIFICATES = ("no-cert", "rogue-ca", "expired")
NOT_WHITELISTED = "not-whitelisted"


# -- step names (written by the probes, read here) -----------------------------------------------------------
def version_step(version: str, target: str) -> str:
    return f"tls:{version}:{target}"


def version_control_step(version: str) -> str:
    """A handshake at ``version`` with the harness's own control listener: can this client speak it at all?"""
    return f"tls-control:{version}"


def attempt_step(kind: str, target: str) -> str:
    return f"{kind}:{target}"


def control_step(target: str) -> str:
    """The same request as the negative attempts, with the PGO's valid, whitelisted certificate."""
    return f"control:{target}"


# -- classifying a failed attempt -------------------------------------------------------------------------------
REFUSED = "refused"  # TCP connected, then the server ended the TLS handshake or closed before answering
UNREACHABLE = "unreachable"  # nothing accepted the TCP connection, or the name did not resolve
TIMEOUT = "timeout"
LOCAL = "local"  # this client could not even offer what it was asked to (e.g. no protocol version available)
SERVER_CERTIFICATE = "server-certificate"  # this client refused the DVA's certificate
OTHER = "other"

_UNREACHABLE_MARKERS = (
    "all connection attempts failed",
    "connection refused",
    "connect call failed",
    "errno 111",
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no route to host",
    "network is unreachable",
)
_LOCAL_MARKERS = ("no_protocols_available", "no protocols available", "no ciphers available")
_SERVER_CERT_MARKERS = ("certificate_verify_failed", "certificate verify failed", "hostname mismatch")
_CONNECTION_ERRORS = ("ConnectError", "ReadError", "WriteError", "RemoteProtocolError", "CloseError")


def transport_failure(x: Exchange) -> str:
    """What kind of failure the exchange ``x`` (which has no response) records."""
    error = x.error or ""
    kind = error.split(":", 1)[0].strip()
    text = error.lower()
    if "Timeout" in kind:
        return TIMEOUT
    if any(m in text for m in _UNREACHABLE_MARKERS):
        return UNREACHABLE
    if any(m in text for m in _LOCAL_MARKERS):
        return LOCAL
    if any(m in text for m in _SERVER_CERT_MARKERS):
        return SERVER_CERTIFICATE
    if kind in _CONNECTION_ERRORS:
        return REFUSED
    return OTHER


def _not_refused(x: Exchange, what: str) -> Finding:
    """The finding for an attempt that got no response but was not refused by the DVA either."""
    kind = transport_failure(x)
    reason = {
        UNREACHABLE: "nothing accepted the connection",
        TIMEOUT: "it timed out",
        LOCAL: "this client could not offer it",
        SERVER_CERTIFICATE: "this client did not accept the DVA's server certificate",
    }.get(kind, "an unexpected transport failure")
    return errored(f"{x.step}: {what} could not be judged, {reason}: {x.error}", x.id)


def judge_refusal(x: Exchange | None, step: str, what: str) -> Finding:
    """A negative attempt: the DVA must refuse it, in the handshake or with an HTTP 4xx."""
    if x is None:
        raise NoResponse(f"step {step!r} was not recorded (the probe did not reach it)")
    if x.status is None:
        if transport_failure(x) == REFUSED:
            return passed(f"{step}: {what}: refused at the TLS layer ({x.error})", x.id)
        return _not_refused(x, what)
    if 400 <= x.status < 500:
        return passed(
            f"{step}: {what}: the handshake completed ({x.tls_version}), the request got HTTP {x.status}", x.id
        )
    if x.status >= 500:
        return failed(f"{step}: {what}: HTTP {x.status} (a server error, not a refusal) at {short(x.url)}", x.id)
    return failed(f"{step}: {what}: served with HTTP {x.status} over {x.tls_version} at {short(x.url)}", x.id)


def _control_problem(ctx: CheckContext, target: str) -> Finding | None:
    """An error finding when the control request of ``target`` did not succeed (the refusals prove nothing)."""
    step = control_step(target)
    x = harness_step(ctx, step)
    if x is None:
        raise NoResponse(f"step {step!r} was not recorded (the probe did not reach it)")
    if x.status == 200:
        return None
    answer = f"HTTP {x.status}" if x.status is not None else f"no answer ({x.error})"
    return errored(
        f"{step}: the same request with the PGO's valid, whitelisted certificate got {answer}; the refusals on "
        f"{target} cannot be put down to the certificate",
        x.id,
    )


def _with_controls(ctx: CheckContext, kinds: tuple[str, ...], describe: dict[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    for target in TARGETS:
        control = _control_problem(ctx, target)
        for kind in kinds:
            step = attempt_step(kind, target)
            finding = judge_refusal(harness_step(ctx, step), step, describe[kind])
            if finding.outcome == Outcome.PASS and control is not None:
                finding = errored(f"{finding.message}; but {control.message}", *finding.exchanges, *control.exchanges)
            findings.append(finding)
    return findings


# -- checks -------------------------------------------------------------------------------------------------------
@check(
    "tls.old-versions-refused",
    "The backchannel refuses TLS 1.0 and TLS 1.1",
    ["medmij.tls.min-version"],
    kinds=(),
)
def old_versions_refused(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for version in OLD_VERSIONS:
        control_name = version_control_step(version)
        control = harness_step(ctx, control_name)
        if control is None:
            raise NoResponse(f"step {control_name!r} was not recorded (the probe did not reach it)")
        can_speak = control.status is not None and control.tls_version == version
        for target in TARGETS:
            step = version_step(version, target)
            x = harness_step(ctx, step)
            if x is None:
                raise NoResponse(f"step {step!r} was not recorded (the probe did not reach it)")
            if x.status is not None:
                findings.append(
                    failed(f"{step}: the DVA completed a {x.tls_version} handshake and answered HTTP {x.status}", x.id)
                )
            elif not can_speak:
                why = control.error or f"it negotiated {control.tls_version}"
                findings.append(
                    omitted(
                        f"{step}: this harness's OpenSSL could not complete a {version} handshake with its own control "
                        f"listener either (even at @SECLEVEL=0: {why}), so the DVA's answer ({x.error}) proves nothing",
                        x.id,
                        control.id,
                    )
                )
            elif transport_failure(x) != REFUSED:
                findings.append(_not_refused(x, f"a {version} handshake"))
            else:
                findings.append(
                    passed(f"{step}: {version} refused ({x.error}); the control listener spoke it", x.id, control.id)
                )
    return findings


@check(
    "tls.current-versions-accepted",
    "The backchannel accepts TLS 1.2 (mandatory) and TLS 1.3 (where reasonably possible)",
    ["medmij.tls.min-version"],
    kinds=(),
)
def current_versions_accepted(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for version in CURRENT_VERSIONS:
        for target in TARGETS:
            step = version_step(version, target)
            x = harness_step(ctx, step)
            if x is None:
                raise NoResponse(f"step {step!r} was not recorded (the probe did not reach it)")
            if x.status is not None:
                if x.tls_version == version:
                    findings.append(passed(f"{step}: {version} handshake, HTTP {x.status}", x.id))
                else:
                    findings.append(failed(f"{step}: asked for {version} only, got {x.tls_version}", x.id))
            elif transport_failure(x) != REFUSED:
                findings.append(_not_refused(x, f"a {version} handshake"))
            elif version == "TLSv1.2":
                findings.append(failed(f"{step}: TLS 1.2 is mandatory, the DVA refused it ({x.error})", x.id))
            else:
                findings.append(
                    omitted(
                        f"{step}: the DVA does not speak TLS 1.3, which MedMij requires where reasonably possible "
                        f"(not decidable here): {x.error}",
                        x.id,
                    )
                )
    return findings


@check(
    "tls.client-cert-required",
    "The backchannel serves no client without a valid PKIoverheid-chained certificate",
    ["medmij.tls.client-cert-required"],
    kinds=(),
)
def client_cert_required(ctx: CheckContext) -> list[Finding]:
    return _with_controls(
        ctx,
        BAD_CERTIFICATES,
        {
            "no-cert": "no client certificate",
            "rogue-ca": "a client certificate from a CA outside the trust chain",
            "expired": "an expired client certificate",
        },
    )


@check(
    "tls.whitelist",
    "The backchannel serves no client whose certificate names a host not on the Whitelist",
    ["medmij.tls.whitelist"],
    kinds=(),
)
def whitelist(ctx: CheckContext) -> list[Finding]:
    return _with_controls(
        ctx, (NOT_WHITELISTED,), {NOT_WHITELISTED: "a valid certificate for a host not on the Whitelist"}
    )
