"""The simulated Stelselnode: versioned lists, the HTTP app, and its fault switches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_providers.stelselnode.app import create_app
from mock_providers.stelselnode.state import FAULTS, StelselnodeState, reference_state
from validatiestraat.medmij.lists import (
    SPECS,
    ListCache,
    ListError,
    OAuthclient,
    Whitelist,
    Zorgaanbieder,
    parse_list,
    parse_ocl,
    parse_whitelist,
)


def ticking_clock(start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> Callable[[], datetime]:
    """A clock that moves one minute per reading, so every publication gets a new Tijdstempel."""
    moments: Iterator[datetime] = (start + timedelta(minutes=i) for i in range(10_000))
    return lambda: next(moments)


class Client:
    """A synchronous face on httpx.AsyncClient over the ASGI app (in-process, no network)."""

    def __init__(self, app: Starlette, base_url: str) -> None:
        self.app, self.base_url = app, base_url

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def state() -> StelselnodeState:
    return reference_state(dva_base_url="https://dva.straat.test:8443", clock=ticking_clock())


@pytest.fixture
def client(state: StelselnodeState) -> Client:
    return Client(create_app(state), base_url="https://stelselnode.straat.test")


def volgnummers(state: StelselnodeState) -> dict[str, int]:
    return {kind: state.get(kind).volgnummer for kind in SPECS}


def test_reference_state_describes_the_straat(state: StelselnodeState) -> None:
    assert volgnummers(state) == {"zal": 1, "ocl": 1, "gnl": 1, "whitelist": 1}
    assert state.whitelist.nodes == ("pgo.straat.test", "dva.straat.test")
    service = state.zal.service("straathuisarts", "99999")
    assert service is not None and service.token_uri == "https://dva.straat.test:8443/oauth/token"
    pgo = state.ocl.client("pgo.straat.test")
    assert pgo is not None and pgo.qualified_for("99999")
    assert state.gnl.name("99999") is not None
    assert state.previous("zal") is None


def test_every_change_raises_only_that_lists_volgnummer(state: StelselnodeState) -> None:
    first = state.ocl.tijdstempel
    state.add_oauth_client(OAuthclient("pgo2.straat.test", "Tweede PGO"))
    assert volgnummers(state) == {"zal": 1, "ocl": 2, "gnl": 1, "whitelist": 1}
    assert state.ocl.tijdstempel > first
    assert state.ocl.client("pgo2.straat.test") is not None

    state.remove_oauth_client("PGO2.straat.test")
    assert state.ocl.volgnummer == 3 and state.ocl.client("pgo2.straat.test") is None
    state.set_whitelist(["dva.straat.test"])
    state.set_providers([])
    state.set_service_names({"1": "Een dienst"})
    assert volgnummers(state) == {"zal": 2, "ocl": 3, "gnl": 2, "whitelist": 2}
    assert state.zal.providers == () and state.gnl.names == {"1": "Een dienst"}
    previous = state.previous("whitelist")
    assert previous is not None and previous.volgnummer == 1


def test_generic_update_ignores_the_given_header(state: StelselnodeState) -> None:
    published = state.update(Whitelist(datetime(2000, 1, 1, tzinfo=UTC), 99, ("dva.straat.test",)))
    assert published.volgnummer == 2 and published.tijdstempel.year == 2026
    assert state.whitelist == published


def test_invalid_changes_are_refused_and_publish_nothing(state: StelselnodeState) -> None:
    with pytest.raises(ListError) as info:
        state.set_whitelist(["DVA.straat.test"])
    assert info.value.kind == "schema"
    with pytest.raises(ListError):
        state.set_providers([Zorgaanbieder("http@medmij", ())])  # a provider needs a service
    with pytest.raises(ValueError, match="already"):
        state.add_oauth_client(OAuthclient("pgo.straat.test", "Nog een PGO"))
    with pytest.raises(KeyError):
        state.remove_oauth_client("nope.straat.test")
    assert volgnummers(state) == {"zal": 1, "ocl": 1, "gnl": 1, "whitelist": 1}


def test_state_needs_all_four_lists(state: StelselnodeState) -> None:
    with pytest.raises(ValueError, match="missing: gnl, ocl"):
        StelselnodeState([state.zal, state.whitelist])


def test_app_serves_every_list_as_valid_xml(state: StelselnodeState, client: Client) -> None:
    for kind, spec in SPECS.items():
        response = client.get(f"/{spec.file_name}", params={"api": "2"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/xml"
        assert parse_list(kind, response.content) == state.get(kind)
    assert client.get("/MedMij_Whitelist.xml").content == client.get("/MedMij_Whitelist.xml?api=3").content


def test_app_index_and_unknown_files(client: Client) -> None:
    index = client.get("/").json()["lists"]
    assert index["zal"] == {
        "url": "https://stelselnode.straat.test/MedMij_Zorgaanbiederslijst.xml",
        "volgnummer": 1,
    }
    assert set(index) == {"zal", "ocl", "gnl", "whitelist"}
    assert client.get("/MedMij_Catalogus.xml").status_code == 404
    assert client.get("/lists/MedMij_Whitelist.xml").status_code == 404
    assert client.post("/MedMij_Whitelist.xml").status_code == 405


def test_served_volgnummer_follows_changes_and_a_consumer_keeps_up(state: StelselnodeState, client: Client) -> None:
    consumer = ListCache()
    assert consumer.accept_xml("ocl", client.get("/MedMij_OAuthclientlist.xml").content)
    state.add_oauth_client(OAuthclient("pgo2.straat.test", "Tweede PGO"))
    served = client.get("/MedMij_OAuthclientlist.xml").content
    assert parse_ocl(served).volgnummer == 2
    assert consumer.accept_xml("ocl", served) is True
    assert consumer.accept_xml("ocl", served) is False  # re-download of the same version
    assert client.get("/").json()["lists"]["ocl"]["volgnummer"] == 2


def test_fault_replay_list_serves_the_older_version(state: StelselnodeState, client: Client) -> None:
    consumer = ListCache()
    state.enable_fault("stelselnode.replay_list")
    assert client.get("/MedMij_Whitelist.xml").status_code == 503  # nothing older yet: said plainly
    state.disable_fault("stelselnode.replay_list")

    state.set_whitelist(["dva.straat.test"])
    consumer.accept_xml("whitelist", client.get("/MedMij_Whitelist.xml").content)
    state.enable_fault("stelselnode.replay_list")
    replayed = client.get("/MedMij_Whitelist.xml").content
    assert parse_whitelist(replayed).volgnummer == 1
    with pytest.raises(ListError) as info:
        consumer.accept_xml("whitelist", replayed)
    assert info.value.kind == "replay"
    held = consumer.whitelist
    assert held is not None and not held.contains("pgo.straat.test")


def test_fault_invalid_list_is_refused_by_a_consumer(state: StelselnodeState, client: Client) -> None:
    state.enable_fault("stelselnode.invalid_list")
    assert state.faults == {"stelselnode.invalid_list"}
    for kind, spec in SPECS.items():
        response = client.get(f"/{spec.file_name}")
        assert response.status_code == 200
        with pytest.raises(ListError) as info:
            parse_list(kind, response.content)
        assert info.value.kind == "schema" and "Volgnummer" in info.value.message
    state.disable_fault("stelselnode.invalid_list")
    assert parse_list("gnl", client.get("/MedMij_Gegevensdienstnamenlijst.xml").content).volgnummer == 1


def test_unknown_fault_names_are_refused(state: StelselnodeState) -> None:
    with pytest.raises(KeyError, match="unknown"):
        state.enable_fault("stelselnode.nonsense")
    assert state.faults == frozenset()
    assert all(name.startswith("stelselnode.") for name in FAULTS)
