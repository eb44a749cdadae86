"""Checks on the DVA's OAuth 2.0 authorization server and on the bearer token at its resource server.

They judge what the OAuth probes (``validatiestraat.probes.oauth``) recorded: the front channel as the patient's
browser saw it (the authorize request, every redirect, the redirect back to the client) and the PGO's token and
FHIR requests on the backchannel. Rules: medmij-protocol.md §1.3-1.5 and §1.7, RFC 6749, RFC 6750.

The step names below are the contract between the probes and these checks. The helpers read a front-channel
step the same way for every check: the first request the harness sent is the authorize request (its query
holds the ``state``, ``redirect_uri`` and ``scope`` that were sent); a *callback* is a redirect whose target
is that ``redirect_uri`` (scheme, host, port and path equal; query and fragment aside).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

from validatiestraat.checks.context import BadBody, CheckContext, NoResponse
from validatiestraat.checks.registry import check
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.medmij.scope import ScopeError, parse_scope
from validatiestraat.results import Finding, errored, failed, omitted, passed, skipped

#: who the harness is in the recorder (the patient's browser, the reference PGO, raw harness clients); the
#: simulators' own taps record the SUT's requests to them under other senders
HARNESS = frozenset({"browser", "pgo", "harness"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: RFC 6749 §4.1.2.1 error codes of the authorization endpoint
AUTHORIZE_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
    }
)
TOKEN_SECONDS_MAX = 10.0  # core.tknint.206

# -- step names (written by the probes, read here) -----------------------------------------------------------
AUTHORIZE = "authorize"  # a good front channel up to the redirect back (code + state)
TOKEN_FIRST = "token-1"
TOKEN_REPLAY = "token-2"
BAD_RESPONSE_TYPE = "authorize:response-type"
BAD_REDIRECT_URI = "authorize:redirect-uri:"  # + other-host, http, fragment
BAD_SCOPE = "authorize:scope:"  # + bare-id, other-provider, mixed-providers
BAD_CLIENT = "authorize:client:"  # + unknown, missing (lists.py adds removed)
TOKEN_REDIRECT_URI_CASES = (
    # (step with a bad redirect_uri, step presenting the same code correctly afterwards, acceptable errors)
    ("token:redirect-uri-missing", "token:redirect-uri-missing:then-correct", ("invalid_grant", "invalid_request")),
    ("token:redirect-uri-other", "token:redirect-uri-other:then-correct", ("invalid_grant",)),
)
SEARCH_NO_TOKEN = "search:no-token"
SEARCH_UNKNOWN_TOKEN = "search:unknown-token"


# -- reading the evidence -------------------------------------------------------------------------------------
def harness_side(exchanges: Iterable[Exchange]) -> list[Exchange]:
    return [x for x in exchanges if x.sender in HARNESS]


def harness_step(ctx: CheckContext, name: str) -> Exchange | None:
    """The last exchange the harness sent in step ``name``."""
    found = harness_side(ctx.steps(name))
    return found[-1] if found else None


def harness_response(ctx: CheckContext, name: str) -> Exchange:
    """Like :meth:`CheckContext.response`, for the harness's own exchange of the step."""
    x = harness_step(ctx, name)
    if x is None:
        raise NoResponse(f"step {name!r} of {ctx.case} was not recorded (the probe did not reach it)")
    if x.status is None:
        raise NoResponse(f"no response to {x.method} {short(x.url)}: {x.error}", x.id)
    return x


def step_names(ctx: CheckContext, prefix: str) -> list[str]:
    """The names of the steps of this case that start with ``prefix``, in recorded order."""
    return list(dict.fromkeys(x.step for x in ctx.exchanges if x.step.startswith(prefix)))


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first value of each)."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def redirect_target(x: Exchange) -> str | None:
    """Where a redirect answer sends the user agent (absolute), or None when ``x`` is no redirect."""
    if x.status not in REDIRECT_STATUSES:
        return None
    location = x.header("location")
    return urljoin(x.url, location) if location else None


def _endpoint(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path or "/"


def same_endpoint(url: str, uri: str) -> bool:
    """True when ``url`` goes to the endpoint ``uri`` names: same scheme, host, port and path."""
    return bool(uri) and _endpoint(url) == _endpoint(uri)


def short(url: str) -> str:
    return url.split("?")[0]


@dataclass
class Callback:
    exchange: Exchange  # the answer that redirected to the client
    target: str  # the redirect target (absolute)
    params: dict[str, str]  # its query parameters


@dataclass
class FrontChannel:
    """One front-channel step as the browser went through it."""

    step: str
    exchanges: list[Exchange]  # the harness's exchanges of the step, in order

    @property
    def request(self) -> Exchange | None:
        return self.exchanges[0] if self.exchanges else None

    @property
    def sent(self) -> dict[str, str]:
        """The parameters of the authorize request."""
        return query_of(self.request.url) if self.request else {}

    def first_answer(self) -> Exchange:
        """The DVA's answer to the authorize request (raises :class:`NoResponse` when none came)."""
        x = self.request
        if x is None:
            raise NoResponse(f"step {self.step!r} was not recorded (the probe did not reach it)")
        if x.status is None:
            raise NoResponse(f"no response to GET {short(x.url)}: {x.error}", x.id)
        return x

    def redirects(self) -> list[tuple[Exchange, str]]:
        return [(x, t) for x in self.exchanges if (t := redirect_target(x)) is not None]

    def redirects_to(self, uri: str) -> list[tuple[Exchange, str]]:
        return [(x, t) for x, t in self.redirects() if same_endpoint(t, uri)]

    def callback(self) -> Callback | None:
        """The first redirect to the ``redirect_uri`` that was sent."""
        found = self.redirects_to(self.sent.get("redirect_uri", ""))
        if not found:
            return None
        x, target = found[0]
        return Callback(x, target, query_of(target))

    def codes_issued(self) -> list[tuple[Exchange, str]]:
        """Every redirect in the step that carries a ``code`` parameter (to whatever target)."""
        return [(x, t) for x, t in self.redirects() if "code" in query_of(t)]

    def ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.exchanges)

    def describe_end(self) -> str:
        """How the step ended, for messages: the last answer's status and where it was."""
        if not self.exchanges:
            return "nothing recorded"
        last = self.exchanges[-1]
        if last.status is None:
            return f"no answer from {short(last.url)} ({last.error})"
        target = redirect_target(last)
        if target:
            return f"HTTP {last.status} redirect to {short(target)}"
        return f"HTTP {last.status} {last.content_type or 'without content type'} at {short(last.url)}"


def front_channel(ctx: CheckContext, step: str) -> FrontChannel:
    return FrontChannel(step, harness_side(ctx.steps(step)))


def expect_error_redirect(fc: FrontChannel, errors: tuple[str, ...], why: str) -> Finding:
    """The finding for a front-channel step that must end in an RFC 6749 error redirect with one of ``errors``."""
    answer = fc.first_answer()
    issued = fc.codes_issued()
    if issued:
        _x, target = issued[0]
        return failed(f"{fc.step}: {why}, yet the DVA issued a code (redirect to {short(target)})", *fc.ids())
    cb = fc.callback()
    if cb is None:
        return failed(
            f"{fc.step}: {why}: expected an error redirect to the redirect_uri with error={'|'.join(errors)}; "
            f"the DVA answered {fc.describe_end()}",
            *fc.ids(),
        )
    error = cb.params.get("error")
    if error not in errors:
        return failed(
            f"{fc.step}: {why}: expected error={'|'.join(errors)}, the redirect carries error={error!r}",
            answer.id,
            cb.exchange.id,
        )
    return passed(f"{fc.step}: error redirect with error={error}", cb.exchange.id)


def token_error(x: Exchange) -> str | None:
    body = x.json_body()
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


def describe_token_answer(x: Exchange) -> str:
    error = token_error(x)
    return f"HTTP {x.status}" + (f" error={error}" if error else "")


# -- authorization endpoint ---------------------------------------------------------------------------------
@check(
    "oauth.state-returned",
    "The redirect back to the client carries the state the client sent",
    ["medmij.oauth.state-returned"],
    kinds=(),
)
def state_returned(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for step in step_names(ctx, AUTHORIZE):
        fc = front_channel(ctx, step)
        cb = fc.callback()
        if fc.request is None or cb is None:
            continue
        sent = fc.sent.get("state")
        got = cb.params.get("state")
        what = "code" if "code" in cb.params else f"error={cb.params.get('error')}"
        if got is None:
            findings.append(failed(f"{step}: the redirect with {what} carries no state", cb.exchange.id))
        elif got != sent:
            findings.append(failed(f"{step}: the redirect with {what} carries another state", cb.exchange.id))
        else:
            findings.append(passed(f"{step}: the redirect with {what} returns the state", cb.exchange.id))
    return findings or [skipped("no redirect back to the client was recorded, so there is no state to compare")]


@check(
    "oauth.error-redirect",
    "An unsupported response_type gets an RFC 6749 error redirect to the client",
    ["medmij.oauth.error-redirect"],
    kinds=(),
)
def error_redirect(ctx: CheckContext) -> list[Finding]:
    fc = front_channel(ctx, BAD_RESPONSE_TYPE)
    why = f"response_type={fc.sent.get('response_type')!r} is not supported"
    return [expect_error_redirect(fc, ("unsupported_response_type",), why)]


@check(
    "oauth.scope-grammar",
    "A scope that is not provider~GegevensdienstId for this one provider gets invalid_scope",
    ["medmij.oauth.scope-grammar"],
    kinds=(),
)
def scope_grammar(ctx: CheckContext) -> list[Finding]:
    steps = step_names(ctx, BAD_SCOPE)
    if not steps:
        raise NoResponse(f"no {BAD_SCOPE}* step of {ctx.case} was recorded (the probe did not reach it)")
    findings = []
    for step in steps:
        fc = front_channel(ctx, step)
        findings.append(expect_error_redirect(fc, ("invalid_scope",), f"scope={fc.sent.get('scope')!r}"))
    return findings


@check(
    "oauth.redirect-uri-validated",
    "A redirect_uri that is not https on the client's OCL hostname, or has a fragment, is never redirected to",
    ["medmij.oauth.redirect-uri-validated"],
    kinds=(),
)
def redirect_uri_validated(ctx: CheckContext) -> list[Finding]:
    steps = step_names(ctx, BAD_REDIRECT_URI)
    if not steps:
        raise NoResponse(f"no {BAD_REDIRECT_URI}* step of {ctx.case} was recorded (the probe did not reach it)")
    findings = []
    for step in steps:
        fc = front_channel(ctx, step)
        fc.first_answer()
        bad = fc.sent.get("redirect_uri", "")
        hits = fc.redirects_to(bad)
        if hits:
            x, target = hits[0]
            findings.append(failed(f"{step}: the DVA redirected to the invalid redirect_uri {target}", x.id))
        else:
            findings.append(passed(f"{step}: no redirect to {bad}; the DVA answered {fc.describe_end()}", *fc.ids()))
    return findings


@check(
    "oauth.unknown-client-no-redirect",
    "An unknown or missing client_id gets an error page, never a redirect to the redirect_uri",
    ["medmij.oauth.unknown-client-no-redirect"],
    kinds=(),
)
def unknown_client_no_redirect(ctx: CheckContext) -> list[Finding]:
    steps = step_names(ctx, BAD_CLIENT)
    if not steps:
        raise NoResponse(f"no {BAD_CLIENT}* step of {ctx.case} was recorded (the probe did not reach it)")
    findings = []
    for step in steps:
        fc = front_channel(ctx, step)
        answer = fc.first_answer()
        uri = fc.sent.get("redirect_uri", "")
        hits = fc.redirects_to(uri)
        client = fc.sent.get("client_id") or "(none)"
        if hits:
            x, target = hits[0]
            findings.append(failed(f"{step}: client_id {client}: the DVA redirected to {short(target)}", x.id))
        else:
            findings.append(
                passed(
                    f"{step}: client_id {client}: no redirect; HTTP {answer.status} {answer.content_type}", answer.id
                )
            )
    return findings


# -- token endpoint -------------------------------------------------------------------------------------------
@check(
    "oauth.token-response",
    "A good token request gets access_token, token_type bearer, expires_in and scope (not cached)",
    ["medmij.oauth.token-response"],
    kinds=(),
)
def token_response(ctx: CheckContext) -> list[Finding]:
    x = harness_response(ctx, TOKEN_FIRST)
    if x.status != 200:
        return [failed(f"the token request with a fresh code got {describe_token_answer(x)}, not 200", x.id)]
    body = x.json_body()
    if not isinstance(body, dict):
        return [failed(f"the token response is not a JSON object ({x.content_type or 'no content type'})", x.id)]
    problems = []
    if x.content_type != "application/json":
        problems.append(f"Content-Type is {x.content_type or 'missing'}, not application/json")
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        problems.append("no access_token")
    if not isinstance(body.get("token_type"), str) or body["token_type"].lower() != "bearer":
        problems.append(f"token_type is {body.get('token_type')!r}, not bearer")
    expires = body.get("expires_in")
    if isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0:
        problems.append(f"expires_in is {expires!r}, not a positive number of seconds")
    problems += _scope_problems(ctx, body.get("scope"))
    if "no-store" not in (x.header("cache-control") or "").lower():
        problems.append("Cache-Control: no-store is missing")
    if problems:
        return [failed(f"token response: {p}", x.id) for p in problems]
    return [passed(f"token response with bearer token, expires_in {expires}, scope {body['scope']!r}", x.id)]


def _scope_problems(ctx: CheckContext, scope: object) -> list[str]:
    if not isinstance(scope, str):
        return [f"scope is {scope!r}, not a string"]
    try:
        granted = parse_scope(scope)
    except ScopeError as exc:
        return [f"scope {scope!r} does not follow the grammar: {exc}"]
    requested = front_channel(ctx, AUTHORIZE).sent.get("scope")
    if requested:
        try:
            asked = set(parse_scope(requested).pairs)
        except ScopeError:
            return []
        extra = sorted(set(granted.pairs) - asked)
        if extra:
            return [f"scope grants {', '.join(extra)}, which was not requested ({requested!r})"]
    return []


@check(
    "oauth.token-within-10s",
    "The token endpoint answers within 10 seconds",
    ["medmij.oauth.token-within-10s"],
    kinds=(),
)
def token_within_10s(ctx: CheckContext) -> list[Finding]:
    tokens = [x for x in harness_side(ctx.exchanges) if x.step.startswith("token") and x.method == "POST"]
    if not tokens:
        raise NoResponse(f"no token request of {ctx.case} was recorded (the probe did not reach it)")
    findings = []
    for x in tokens:
        if x.elapsed >= TOKEN_SECONDS_MAX:
            answer = f"HTTP {x.status}" if x.status is not None else f"no answer ({x.error})"
            findings.append(failed(f"{x.step}: {answer} after {x.elapsed:.2f} s; at most 10 s is allowed", x.id))
        elif x.status is None:
            findings.append(errored(f"{x.step}: no answer after {x.elapsed:.2f} s: {x.error}", x.id))
    if findings:
        return findings
    slowest = max(tokens, key=lambda x: x.elapsed)
    return [passed(f"{len(tokens)} token answers, the slowest in {slowest.elapsed:.3f} s", slowest.id)]


@check(
    "oauth.code-single-use",
    "An authorization code is exchanged once; presenting it again gets invalid_grant",
    ["medmij.oauth.code-single-use"],
    kinds=(),
)
def code_single_use(ctx: CheckContext) -> list[Finding]:
    first = harness_response(ctx, TOKEN_FIRST)
    if first.status != 200:
        return [
            omitted(f"the first token request got {describe_token_answer(first)}; a replay proves nothing", first.id)
        ]
    second = harness_response(ctx, TOKEN_REPLAY)
    if second.status == 200:
        return [failed("the same code was exchanged a second time (HTTP 200)", first.id, second.id)]
    if second.status == 400 and token_error(second) == "invalid_grant":
        return [passed("the replayed code got HTTP 400 invalid_grant", first.id, second.id)]
    return [failed(f"the replayed code got {describe_token_answer(second)}, not 400 invalid_grant", second.id)]


@check(
    "oauth.redirect-uri-required",
    "A token request without the authorization's redirect_uri, or with another, gets no token; the code is spent",
    ["medmij.oauth.redirect-uri-required"],
    kinds=(),
)
def redirect_uri_required(ctx: CheckContext) -> list[Finding]:
    findings = []
    for bad_step, then_step, errors in TOKEN_REDIRECT_URI_CASES:
        bad = harness_response(ctx, bad_step)
        if bad.status == 200:
            findings.append(failed(f"{bad_step}: a token was issued (HTTP 200)", bad.id))
        elif bad.status == 400 and token_error(bad) in errors:
            findings.append(passed(f"{bad_step}: {describe_token_answer(bad)}", bad.id))
        else:
            findings.append(
                failed(f"{bad_step}: {describe_token_answer(bad)}, expected 400 {' or '.join(errors)}", bad.id)
            )
        then = harness_response(ctx, then_step)
        if then.status == 200:
            findings.append(
                failed(f"{then_step}: the code was exchanged after it had been presented (HTTP 200)", bad.id, then.id)
            )
        elif then.status == 400 and token_error(then) == "invalid_grant":
            findings.append(passed(f"{then_step}: the presented code stays refused (invalid_grant)", then.id))
        else:
            findings.append(failed(f"{then_step}: {describe_token_answer(then)}, expected 400 invalid_grant", then.id))
    return findings


# -- resource server --------------------------------------------------------------------------------------------
@check(
    "oauth.resource-token-required",
    "A FHIR search without a token or with an unknown token gets 401 and an OperationOutcome",
    ["medmij.fhir.token-required"],
    kinds=(),
)
def resource_token_required(ctx: CheckContext) -> list[Finding]:
    findings = []
    for step in (SEARCH_NO_TOKEN, SEARCH_UNKNOWN_TOKEN):
        x = harness_response(ctx, step)
        if x.status != 401:
            verdict = "served the search" if x.status is not None and x.status < 300 else "answered"
            findings.append(failed(f"{step}: the DVA {verdict} with HTTP {x.status}, expected 401", x.id))
            continue
        try:
            body = ctx.resource(x)
        except BadBody as exc:
            findings.append(failed(f"{step}: HTTP 401, but {exc}", x.id))
            continue
        if body.get("resourceType") != "OperationOutcome" or not body.get("issue"):
            findings.append(
                failed(f"{step}: HTTP 401 with a {body.get('resourceType')}, not an OperationOutcome", x.id)
            )
        else:
            findings.append(passed(f"{step}: HTTP 401 with an OperationOutcome", x.id))
    return findings
