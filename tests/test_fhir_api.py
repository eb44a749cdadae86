from datetime import date
from pathlib import Path

import httpx
import pytest

from mock_providers.dva.fhir_api import create_fhir_app
from mock_providers.his.dataset import load_dataset
from validatiestraat.fhir.formats import from_xml
from validatiestraat.fhir.store import Grant

MINI = Path(__file__).parent / "data" / "mini"
SERVICE = "svc-mp9"
GRANTS = {
    "tok-a": Grant("pat-a", frozenset({SERVICE})),
    "tok-b": Grant("pat-b", frozenset({SERVICE})),
    "tok-other-service": Grant("pat-a", frozenset({"svc-other"})),
}
MA = "http://snomed.info/sct|33633005"
BASE = "https://dva.test/fhir"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def app():
    return create_fhir_app(load_dataset(MINI, date(2025, 3, 14)), GRANTS.get, SERVICE)


async def get(app, path: str, token: str | None = "tok-a", **kw) -> httpx.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, root_path="/fhir"), base_url=BASE) as c:
        return await c.get(BASE + path, headers=headers, **kw)


def assert_outcome(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status
    body = from_xml(r.content) if "xml" in r.headers["content-type"] else r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert body["issue"][0]["severity"] in ("error", "fatal")


async def test_search_json(app) -> None:
    r = await get(app, "/MedicationRequest", params={"category": MA, "_include": "MedicationRequest:medication"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/fhir+json; charset=utf-8"
    b = r.json()
    assert b["type"] == "searchset" and b["total"] == 2
    assert (
        b["link"][0]["url"] == f"{BASE}/MedicationRequest?category=http%3A%2F%2Fsnomed.info%2Fsct%7C33633005"
        "&_include=MedicationRequest%3Amedication"
    )
    assert [e["fullUrl"] for e in b["entry"]][:2] == [
        f"{BASE}/MedicationRequest/ma-1",
        f"{BASE}/MedicationRequest/ma-2",
    ]
    assert {e["search"]["mode"] for e in b["entry"][2:]} == {"include"}


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"_format": "xml"}, {}),
        ({}, {"Accept": "application/fhir+xml"}),
        ({"_format": "application/fhir+xml"}, {"Accept": "application/fhir+json"}),
    ],
)
async def test_xml_has_the_same_content(app, params: dict, headers: dict) -> None:
    base = {"category": MA, "_include": "MedicationRequest:requester"}
    as_json = (await get(app, "/MedicationRequest", params=base)).json()
    r = await get(app, "/MedicationRequest", params={**base, **params}, headers=headers)
    assert r.headers["content-type"] == "application/fhir+xml; charset=utf-8"
    assert from_xml(r.content) == as_json


async def test_read_and_echoed_headers(app) -> None:
    hdrs = {"MedMij-Request-ID": "6f1c1e6e-0000-4000-8000-000000000001", "X-Correlation-ID": "corr-1"}
    r = await get(app, "/Medication/med-1", headers=dict(hdrs))
    assert r.status_code == 200 and r.json()["id"] == "med-1"
    assert r.headers["MedMij-Request-ID"] == hdrs["MedMij-Request-ID"]
    assert r.headers["X-Correlation-ID"] == "corr-1"
    assert_outcome(await get(app, "/Patient/pat-b"), 404, "not-found")
    assert_outcome(await get(app, "/MedicationRequest/ma-b"), 404, "not-found")


async def test_401_without_or_with_unknown_token(app) -> None:
    r = await get(app, "/MedicationRequest", token=None)
    assert_outcome(r, 401, "security")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = await get(app, "/MedicationRequest", token="expired-or-unknown")
    assert_outcome(r, 401, "security")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = await get(app, "/MedicationRequest", token=None, headers={"Authorization": "Basic dTpw"})
    assert_outcome(r, 401, "security")


async def test_403_when_grant_lacks_the_data_service(app) -> None:
    assert_outcome(await get(app, "/MedicationRequest", token="tok-other-service"), 403, "security")


async def test_404_not_supported_for_other_types(app) -> None:
    assert_outcome(await get(app, "/Observation"), 404, "not-supported")
    assert_outcome(await get(app, "/Observation/x"), 404, "not-supported")
    assert_outcome(await get(app, "/Observation", params={"_format": "xml"}), 404, "not-supported")


async def test_400_invalid_on_bad_search(app) -> None:
    assert_outcome(await get(app, "/MedicationRequest", params={"period-of-use": "ge2025-02-30"}), 400, "invalid")
    assert_outcome(await get(app, "/MedicationRequest", params={"category": "a|b|c"}), 400, "invalid")


async def test_the_token_decides_the_patient(app) -> None:
    a = (await get(app, "/MedicationRequest", params={"patient": "pat-b"})).json()
    b = (await get(app, "/MedicationRequest", token="tok-b")).json()
    assert {e["resource"]["subject"]["reference"] for e in a["entry"]} == {"Patient/pat-a"}
    assert [e["resource"]["id"] for e in b["entry"]] == ["ma-b"]


async def test_search_post_style_path_and_metadata(app) -> None:
    r = await get(app, "/MedicationRequest/_search", params={"category": MA})
    assert r.json()["total"] == 2
    cs = (await get(app, "/metadata", token=None)).json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert "MedicationRequest:next-practitioner" in by_type["MedicationRequest"]["searchInclude"]
    assert {"name": "period-of-use", "type": "date"} in by_type["MedicationStatement"]["searchParam"]
    assert by_type["Patient"]["interaction"] == [{"code": "read"}]
