"""The HIS (the GP's information system) as a party: a small read API over its dataset.

The reference DVA reads the same :class:`Store` in-process (its connection to the source system); this API
shows what the HIS holds, for people and for tests. It never shows a BSN.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from validatiestraat.fhir.formats import JSON_MEDIA_TYPE, to_json
from validatiestraat.fhir.outcome import operation_outcome
from validatiestraat.fhir.store import Store


def create_app(store: Store) -> Starlette:
    async def patients(request: Request) -> Response:
        return JSONResponse([{"id": p.id, "name": p.name, "purpose": p.purpose} for p in store.patients])

    async def resources(request: Request) -> Response:
        patient_id = request.path_params["patient_id"]
        if store.patient(patient_id) is None:
            return JSONResponse(operation_outcome("not-found", "unknown patient"), status_code=404)
        base = str(request.base_url).rstrip("/")
        entries = [
            {"fullUrl": f"{base}/{t}/{i}", "resource": r}
            for t, i in sorted(store.reachable(patient_id))
            if (r := store.get(t, i)) is not None
        ]
        bundle = {"resourceType": "Bundle", "type": "collection", **({"entry": entries} if entries else {})}
        return Response(to_json(bundle), media_type=JSON_MEDIA_TYPE)

    return Starlette(
        routes=[
            Route("/patients", patients),
            Route("/patients/{patient_id}/resources", resources),
        ]
    )
