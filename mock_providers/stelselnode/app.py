"""The simulated Stelselnode: serves the four MedMij lists under their MedMij file names.

``GET /MedMij_Zorgaanbiederslijst.xml`` (optionally ``?api=2``, core.lijsten.300; any ``api`` value is
served the same lists, the straat speaks one interface version) and likewise for the OCL, GNL and
Whitelist; ``GET /`` lists the four URLs. Unknown paths give 404.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mock_providers.stelselnode.state import StelselnodeState
from validatiestraat.medmij.lists import FILE_NAMES, SPECS, ListKind, to_xml

XML_MEDIA_TYPE = "application/xml"


def render(state: StelselnodeState, kind: ListKind) -> bytes:
    """The bytes the Stelselnode serves for ``kind`` right now, with any fault applied.

    Raises LookupError when ``stelselnode.replay_list`` is on but the list was published only once.
    """
    faults = state.faults
    model = state.get(kind)
    if "stelselnode.replay_list" in faults:
        older = state.previous(kind)
        if older is None:
            raise LookupError(f"{SPECS[kind].title} has no earlier version to replay; change it first")
        model = older
    data = to_xml(model)
    if "stelselnode.invalid_list" in faults:
        data = data.replace(f"<Volgnummer>{model.volgnummer}</Volgnummer>".encode(), b"", 1)
    return data


def create_app(state: StelselnodeState) -> Starlette:
    async def index(request: Request) -> Response:
        base = str(request.base_url)
        return JSONResponse(
            {
                "lists": {
                    kind: {"url": base + spec.file_name, "volgnummer": state.get(kind).volgnummer}
                    for kind, spec in SPECS.items()
                }
            }
        )

    async def list_file(request: Request) -> Response:
        kind = FILE_NAMES.get(request.path_params["file_name"])
        if kind is None:
            return PlainTextResponse("no such list", status_code=404)
        try:
            data = render(state, kind)
        except LookupError as exc:  # a misused fault switch is a harness error, say so plainly
            return PlainTextResponse(str(exc), status_code=503)
        return Response(data, media_type=XML_MEDIA_TYPE, headers={"Cache-Control": "no-cache"})

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/{file_name:str}", list_file, methods=["GET"]),
        ]
    )
    app.state.stelselnode = state
    return app


__all__ = ["XML_MEDIA_TYPE", "create_app", "render"]
