import asyncio
from datetime import date
from pathlib import Path

import httpx
import pytest

from mock_providers.his.app import create_app
from mock_providers.his.dataset import load_builtin, load_dataset

MINI = Path(__file__).parent / "data" / "mini"
T = date(2025, 3, 14)


def test_builtin_dataset_loads_with_its_patients() -> None:
    store = load_builtin(T)
    if not store.patients:
        pytest.skip("fixtures/mp9 is still empty")
    assert all(store.get("Patient", p.id) for p in store.patients)
    assert all(store.by_bsn(p.bsn) == p for p in store.patients)
    assert "${DATE" not in str(store.all())


def test_his_api_lists_patients_without_bsn_and_their_data() -> None:
    store = load_dataset(MINI, T)

    async def calls() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="https://his.test") as c:
            return (
                await c.get("/patients"),
                await c.get("/patients/pat-a/resources"),
                await c.get("/patients/x/resources"),
            )

    listing, bundle, missing = asyncio.run(calls())
    assert [p["id"] for p in listing.json()] == ["pat-a", "pat-b"]
    assert "999911120" not in listing.text
    b = bundle.json()
    assert b["type"] == "collection"
    keys = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in b["entry"]}
    assert ("MedicationRequest", "ma-1") in keys and ("MedicationRequest", "ma-b") not in keys
    assert ("Patient", "pat-b") not in keys
    assert missing.status_code == 404
