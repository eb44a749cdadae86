"""Checks on the DVA's use of the MedMij lists at its authorization endpoint (medmij-protocol.md §1.3, §2).

The DVA must follow the OAuth client list (OCL): a ``client_id`` that is not on it (never was, or was taken off)
gets no authorization at all, and a scope may only hold GegevensdienstIds the OCL lists for that client. The
probes (``validatiestraat.probes.lists``) change the Stelselnode's OCL and record the front channel; these checks
read it like the OAuth checks do (``validatiestraat.checks.oauth``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from validatiestraat.checks.context import CheckContext, NoResponse
from validatiestraat.checks.oauth import BAD_CLIENT, FrontChannel, front_channel, short
from validatiestraat.checks.registry import check
from validatiestraat.results import Finding, errored, failed, passed

# -- step names (written by the probes, read here) -----------------------------------------------------------
UNKNOWN_CLIENT = BAD_CLIENT + "unknown"  # a client_id that is not on the OCL
REMOVED_CLIENT = BAD_CLIENT + "removed"  # a client_id that was on the OCL and has been taken off
OCL_CLIENT_STEPS = (UNKNOWN_CLIENT, REMOVED_CLIENT)
UNLISTED_SERVICE = "authorize:unlisted-service"  # a client on the OCL asks for an id the OCL does not list for it


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def went_elsewhere(fc: FrontChannel) -> list[str]:
    """The hosts other than the authorization endpoint's that the user agent was sent to (authentication went
    on: DigiD, a login page), in order. The redirect_uri is never visited by the probes (they stop before it)."""
    if fc.request is None:
        return []
    home = _host(fc.request.url)
    return list(dict.fromkeys(_host(x.url) for x in fc.exchanges[1:] if _host(x.url) != home))


@check(
    "lists.ocl-client",
    "The DVA gives no authorization to a client_id that is not on the OCL",
    ["medmij.lists.ocl-client"],
    kinds=(),
)
def ocl_client(ctx: CheckContext) -> list[Finding]:
    steps = [s for s in OCL_CLIENT_STEPS if ctx.steps(s)]
    if not steps:
        raise NoResponse(f"no {BAD_CLIENT}unknown/removed step of {ctx.case} was recorded (the probe did not reach it)")
    findings = []
    for step in steps:
        fc = front_channel(ctx, step)
        answer = fc.first_answer()
        client = fc.sent.get("client_id") or "(none)"
        issued = fc.codes_issued()
        elsewhere = went_elsewhere(fc)
        if issued:
            x, _target = issued[0]
            findings.append(failed(f"{step}: the DVA issued a code to {client}, which is not on the OCL", x.id))
        elif elsewhere:
            findings.append(
                failed(
                    f"{step}: the DVA went on to {', '.join(elsewhere)} (authentication) for {client}, which is not "
                    "on the OCL",
                    *fc.ids(),
                )
            )
        else:
            findings.append(passed(f"{step}: {client} (not on the OCL) refused: {fc.describe_end()}", answer.id))
    return findings


@check(
    "lists.ocl-service",
    "The DVA refuses a scope with a GegevensdienstId the OCL does not list for the client (invalid_scope)",
    ["medmij.lists.ocl-service"],
    kinds=(),
)
def ocl_service(ctx: CheckContext) -> list[Finding]:
    fc = front_channel(ctx, UNLISTED_SERVICE)
    answer = fc.first_answer()
    client = fc.sent.get("client_id") or "(none)"
    scope = fc.sent.get("scope")
    listed = ctx.facts.get("ocl_services")
    on_ocl = f" (the OCL lists {', '.join(listed)})" if listed else ""
    issued = fc.codes_issued()
    if issued:
        x, _target = issued[0]
        return [failed(f"the DVA issued a code to {client} for scope {scope!r}{on_ocl}", x.id)]
    elsewhere = went_elsewhere(fc)
    if elsewhere:
        return [
            failed(
                f"the DVA went on to {', '.join(elsewhere)} (authentication) for scope {scope!r} of {client}{on_ocl}",
                *fc.ids(),
            )
        ]
    cb = fc.callback()
    if cb is None:
        return [
            errored(
                f"the DVA answered {fc.describe_end()} instead of an invalid_scope redirect to {client}: it may not "
                f"hold the OCL version that lists {client} yet, so its scope check could not be seen",
                answer.id,
            )
        ]
    error = cb.params.get("error")
    if error != "invalid_scope":
        return [
            failed(
                f"scope {scope!r} of {client}{on_ocl}: expected error=invalid_scope, the redirect to "
                f"{short(cb.target)} carries error={error!r}",
                cb.exchange.id,
            )
        ]
    return [passed(f"scope {scope!r} of {client}{on_ocl}: invalid_scope", cb.exchange.id)]
