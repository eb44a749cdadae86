"""The DVA's FHIR resource server (mounted by the DVA under ``/fhir``).

The patient is taken from the bearer token's grant only. Error answers follow the Nictiz error-handling
guidance: 401 ``security`` (no or unknown token, with ``WWW-Authenticate: Bearer``), 403 ``security`` (the
grant does not cover this data service), 404 ``not-supported`` (a resource type outside the data service),
404 ``not-found``, 400 ``invalid`` (bad search syntax); each with an OperationOutcome in the negotiated format.

``faults`` (FHIR faults of ``mock_providers.faults``) break single rules of the answers on purpose; with none,
the answers are exactly the clean ones.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_providers.dva import faults as F
from validatiestraat.fhir.formats import Format, dumps, media_type, negotiate
from validatiestraat.fhir.outcome import operation_outcome
from validatiestraat.fhir.search import SearchError, read, search
from validatiestraat.fhir.searchparams import SEARCH_PARAMS, SEARCHABLE_TYPES, includes_for, params_for
from validatiestraat.fhir.store import Grant, Store

ECHOED_HEADERS = ("MedMij-Request-ID", "X-Correlation-ID")
READ_TYPES = (
    *SEARCHABLE_TYPES,
    "Medication",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "RelatedPerson",
)
_SEARCH_TYPE = {"token": "token", "date": "date", "period": "date"}


def capability_statement() -> dict[str, Any]:
    """Our own CapabilityStatement: search on the four MP9 resource types, read on the secondaries."""
    resources = []
    for rt in READ_TYPES:
        entry: dict[str, Any] = {"type": rt, "interaction": [{"code": "read"}]}
        if rt in SEARCHABLE_TYPES:
            entry["interaction"].append({"code": "search-type"})
            entry["searchInclude"] = [f"{rt}:{name}" for name in includes_for(rt)]
            entry["searchParam"] = [
                {"name": p.name, "type": _SEARCH_TYPE[p.kind]} for p in params_for(rt) if p.name in SEARCH_PARAMS
            ]
        if rt == "PractitionerRole":
            entry["searchInclude"] = [f"{rt}:{name}" for name in includes_for(rt)]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "validatiestraat reference DVA"},
        "fhirVersion": "4.0.1",
        "format": ["json", "xml"],
        "rest": [
            {
                "mode": "server",
                "security": {"service": [{"text": "OAuth2 bearer token (MedMij)"}]},
                "resource": resources,
            }
        ],
    }


def _format(request: Request) -> Format:
    return negotiate(request.query_params.get("_format"), request.headers.get("accept"))


def _respond(
    request: Request,
    status: int,
    body: dict[str, Any],
    extra: dict[str, str] | None = None,
    faults: frozenset[str] = frozenset(),
) -> Response:
    fmt = _format(request)
    headers = {h: v for h in ECHOED_HEADERS if (v := request.headers.get(h)) is not None}
    headers.update(extra or {})
    content, mtype = dumps(body, fmt), media_type(fmt)
    if faults:
        content, mtype = F.serialise(content, mtype, fmt, faults)
    return Response(content, status_code=status, media_type=mtype, headers=headers)


def _error(
    request: Request,
    status: int,
    code: str,
    diagnostics: str,
    extra: dict[str, str] | None = None,
    faults: frozenset[str] = frozenset(),
) -> Response:
    return _respond(request, status, operation_outcome(code, diagnostics), extra, faults)


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


def create_fhir_app(
    store: Store,
    grant_for_token: Callable[[str], Grant | None],
    service_id: str,
    faults: frozenset[str] = frozenset(),
) -> Starlette:
    """The FHIR API over ``store``; ``grant_for_token`` maps a bearer token to its grant (None if unknown or
    expired); requests need a grant for ``service_id``."""
    faults = frozenset(faults)
    respond = partial(_respond, faults=faults)
    error = partial(_error, faults=faults)

    def authorize(request: Request) -> Grant | Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(request, 401, "security", "no bearer token", {"WWW-Authenticate": "Bearer"})
        grant = grant_for_token(token.strip())
        if grant is None:
            return error(
                request,
                401,
                "security",
                "the access token is unknown or expired",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if service_id not in grant.service_ids:
            return error(request, 403, "security", "the access token does not cover this data service")
        return grant

    async def metadata(request: Request) -> Response:
        return respond(request, 200, capability_statement())

    async def search_type(request: Request) -> Response:
        grant = authorize(request)
        if isinstance(grant, Response):
            return grant
        rt = request.path_params["type"]
        if rt not in SEARCHABLE_TYPES:
            return error(request, 404, "not-supported", f"search on {rt} is not supported by this data service")
        params = request.query_params.multi_items()
        if F.refuses_search(faults, params):
            return error(request, 500, "exception", "internal server error")
        derive_end = F.PERIOD_END_NOT_DERIVED not in faults
        try:
            bundle = search(store, rt, params, grant.patient_id, _base_url(request), derive_end=derive_end)
        except SearchError as e:
            return error(request, e.status, e.code, e.diagnostics)
        if faults:
            context = F.SearchContext(store, rt, tuple(params), grant.patient_id, _base_url(request))
            bundle = F.mutate_bundle(bundle, faults, context)
        return respond(request, 200, bundle)

    async def read_instance(request: Request) -> Response:
        grant = authorize(request)
        if isinstance(grant, Response):
            return grant
        rt, rid = request.path_params["type"], request.path_params["id"]
        if rt not in READ_TYPES:
            return error(request, 404, "not-supported", f"{rt} is not supported by this data service")
        try:
            resource = read(store, rt, rid, grant.patient_id)
        except SearchError as e:
            return error(request, e.status, e.code, e.diagnostics)
        return respond(request, 200, resource)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not-found", 405: "not-supported"}.get(status, "exception")
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return error(request, status, code, str(detail))

    return Starlette(
        routes=[
            Route("/metadata", metadata, methods=["GET"]),
            Route("/{type}", search_type, methods=["GET"]),
            Route("/{type}/_search", search_type, methods=["GET"]),
            Route("/{type}/{id}", read_instance, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
