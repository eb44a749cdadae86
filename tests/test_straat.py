"""The built-in straat end to end, over real TLS on loopback: collect flows, OAuth rules, backchannel TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from straat_helpers import SCOPE, authorize_url, front

from mock_providers.his.dataset import load_builtin
from mock_providers.pgo.client import PGOError
from mock_providers.straat import DVA, PGO, PROVIDER, UNKNOWN_PERSON, Straat
from validatiestraat import net
from validatiestraat.fhir.store import Store
from validatiestraat.medmij.lists import OAuthclient
from validatiestraat.medmij.mp9 import BLOCKS, SERVICE_ID, block_of
from validatiestraat.pki import CertFiles, TestPKI
from validatiestraat.tls import client_context
from validatiestraat.useragent import AutoUserAgent

T = date(2026, 3, 1)
CLINICAL = {b.resource_type for b in BLOCKS}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def store() -> Store:
    return load_builtin(T)


@pytest.fixture(scope="module")
def straat(store: Store, pki: TestPKI) -> Iterator[Straat]:
    with Straat(store, pki=pki, list_max_age=3600) as s:
        yield s


# -- helpers -------------------------------------------------------------------------------------------------
def expected_ids(store: Store, patient_id: str) -> dict[str, set[str]]:
    """Per block code, the ids of the patient's resources in that block, straight from the dataset."""
    out: dict[str, set[str]] = {b.code: set() for b in BLOCKS}
    for rtype in CLINICAL:
        for r in store.all(rtype):
            block = block_of(r)
            if block is not None and Store.patient_of(r) == patient_id:
                out[block.code].add(r["id"])
    return out


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:300]
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def obtain_code(straat: Straat, bsn: str) -> str:
    """Run the front channel up to (not into) the PGO's redirect_uri and return the fresh code."""
    agent = AutoUserAgent(straat.browser_http, bsn, stop_at=straat.pgo.redirect_uri)
    straat.run(agent(authorize_url(straat)))
    query = redirect_params_from_url(agent.visited[-1])
    assert query["state"] == "s-123"
    return query["code"]


def redirect_params_from_url(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def backchannel(straat: Straat, cert: CertFiles | None, ctx: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    return net.client(ctx or client_context(straat.pki.root_pem, cert), straat.hosts)


def token_request(
    straat: Straat, data: dict[str, str] | None = None, *, cert: CertFiles | None = None, **kwargs: object
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with backchannel(straat, cert or straat.pki.leaf(PGO)) as c:
            return await c.post(f"{straat.origins['dva-back']}/oauth/token", data=data, **kwargs)

    return straat.run(go())


def good_form(straat: Straat, code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": straat.pgo.redirect_uri, "client_id": PGO}


def fhir_get(straat: Straat, path: str, token: str | None, cert: CertFiles | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        async with backchannel(straat, cert or straat.pki.leaf(PGO)) as c:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await c.get(f"{straat.origins['dva-back']}/fhir/{path}", headers=headers)

    return straat.run(go())


# -- the collect flow ---------------------------------------------------------------------------------------
def test_every_patient_collects_exactly_their_own_data_in_json_and_xml(straat: Straat, store: Store) -> None:
    assert len(store.patients) >= 8
    for patient in store.patients:
        collection = straat.run(straat.collect(patient.bsn, formats=("json", "xml")))
        expected = expected_ids(store, patient.id)
        for block in BLOCKS:
            results = {r.fmt: r for r in collection.results if r.block is block}
            assert {r.status for r in results.values()} == {200}, (patient.id, block.code)
            assert "json" in results["json"].content_type and "xml" in results["xml"].content_type
            bundle = results["json"].bundle
            assert bundle == results["xml"].bundle, f"{patient.id} {block.code}: JSON and XML differ"
            assert bundle is not None and bundle["type"] == "searchset"
            matches = {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}
            assert matches == expected[block.code], (patient.id, block.code)
            for entry in bundle.get("entry", []):  # nothing of another patient, not even as include
                resource = entry["resource"]
                if resource["resourceType"] == "Patient":
                    assert resource["id"] == patient.id
                assert Store.patient_of(resource) in (None, patient.id)
            assert patient.bsn not in results["json"].raw.decode()
    assert any(expected_ids(store, p.id) == {b.code: set() for b in BLOCKS} for p in store.patients), (
        "the dataset has a patient without medication data"
    )


def test_the_consent_page_names_the_client_organisation_from_the_ocl(straat: Straat, store: Store) -> None:
    bsn = store.patients[0].bsn
    agent = AutoUserAgent(straat.browser_http, bsn, stop_at=f"{straat.origins['dva-front']}/oauth/consent")
    straat.run(agent(authorize_url(straat)))
    page = front(straat, agent.visited[-1])
    assert page.status_code == 200
    assert straat.stelselnode.ocl.client(PGO).organisation_name in page.text


def test_refused_consent_and_unknown_person_get_access_denied_with_state(straat: Straat, store: Store) -> None:
    for bsn, consent in ((store.patients[0].bsn, False), (UNKNOWN_PERSON.bsn, True)):
        with pytest.raises(PGOError, match="access_denied"):
            straat.run(straat.pgo.collect(PROVIDER, SERVICE_ID, straat.user_agent(bsn, consent)))
    agent = AutoUserAgent(straat.browser_http, UNKNOWN_PERSON.bsn, stop_at=straat.pgo.redirect_uri)
    straat.run(agent(authorize_url(straat, state="keep-me")))
    assert redirect_params_from_url(agent.visited[-1]) == {
        "error": "access_denied",
        "error_description": "no data for this person",
        "state": "keep-me",
    }


# -- authorize: errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "onbekend.straat.test"},
        {"client_id": ""},
        {"redirect_uri": "http://pgo.straat.test/oauth/callback"},
        {"redirect_uri": "https://elders.straat.test/oauth/callback"},
        {"redirect_uri": "https://pgo.straat.test/oauth/callback#frag"},
        {"redirect_uri": "https://pgo.straat.test/oauth/callback?x=1"},
        {"redirect_uri": ""},
    ],
    ids=["unknown-client", "no-client", "http", "other-host", "fragment", "query", "no-redirect-uri"],
)
def test_bad_client_or_redirect_uri_gets_an_error_page_never_a_redirect(straat: Straat, overrides: dict) -> None:
    response = front(straat, authorize_url(straat, **overrides))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "unsupported_response_type"),
        ({"scope": SERVICE_ID}, "invalid_scope"),  # the AS 1.x bare id
        ({"scope": f"anderehuisarts~{SERVICE_ID}"}, "invalid_scope"),  # another provider
        ({"scope": f"{SCOPE} anderehuisarts~{SERVICE_ID}"}, "invalid_scope"),  # mixed providers
        ({"scope": f"{PROVIDER.removesuffix('@medmij')}~424242"}, "invalid_scope"),  # not offered
        ({"scope": ""}, "invalid_scope"),
    ],
)
def test_other_authorize_errors_redirect_with_the_original_state(straat: Straat, overrides: dict, error: str) -> None:
    params = redirect_params(front(straat, authorize_url(straat, **overrides)))
    assert params["error"] == error
    assert params["state"] == "s-123"
    assert front(straat, authorize_url(straat, **overrides)).headers["location"].startswith(straat.pgo.redirect_uri)


def test_missing_state_is_an_invalid_request(straat: Straat) -> None:
    url = authorize_url(straat)
    url = url.replace("&state=s-123", "")
    params = redirect_params(front(straat, url))
    assert params["error"] == "invalid_request" and "state" not in params


def test_the_dva_follows_the_ocl(straat: Straat) -> None:
    """A client on the OCL but not qualified for the service is refused the scope; a client removed from the
    OCL no longer gets past the first check."""
    other = "anderpgo.straat.test"
    try:
        straat.stelselnode.add_oauth_client(OAuthclient(other, "Ander PGO", ("123",)))
        straat.dva_lists.invalidate()
        redirect = f"https://{other}/cb"
        params = redirect_params(front(straat, authorize_url(straat, client_id=other, redirect_uri=redirect)))
        assert params["error"] == "invalid_scope" and params["state"] == "s-123"
    finally:
        straat.stelselnode.remove_oauth_client(other)
        straat.dva_lists.invalidate()
    response = front(straat, authorize_url(straat, client_id=other, redirect_uri=f"https://{other}/cb"))
    assert response.status_code == 400 and "location" not in response.headers


# -- token ------------------------------------------------------------------------------------------------------
def test_code_is_single_use_and_a_replay_revokes_its_token(straat: Straat, store: Store) -> None:
    code = obtain_code(straat, store.patients[0].bsn)
    headers = {"MedMij-Request-ID": "0f0e4f39-64f4-4f39-9a43-1c1d8e0c8c01", "X-Correlation-ID": "corr-1"}
    first = token_request(straat, good_form(straat, code), headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["scope"] == SCOPE
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["medmij-request-id"] == headers["MedMij-Request-ID"]
    assert first.headers["x-correlation-id"] == "corr-1"
    token = body["access_token"]
    assert fhir_get(straat, "metadata", token).status_code == 200
    assert fhir_get(straat, f"Patient/{store.patients[0].id}", token).status_code == 200
    second = token_request(straat, good_form(straat, code))
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    revoked = fhir_get(straat, f"Patient/{store.patients[0].id}", token)
    assert revoked.status_code == 401
    assert revoked.json()["issue"][0]["code"] == "security"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"redirect_uri": None}, 400, "invalid_grant"),
        ({"redirect_uri": "https://pgo.straat.test/elders"}, 400, "invalid_grant"),
        ({"client_id": "anderpgo.straat.test"}, 401, "invalid_client"),
        ({"client_id": None}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
)
def test_token_request_rules(straat: Straat, store: Store, change: dict, status: int, error: str) -> None:
    form = good_form(straat, obtain_code(straat, store.patients[1].bsn))
    for key, value in change.items():
        if value is None:
            del form[key]
        else:
            form[key] = value
    response = token_request(straat, form)
    assert response.status_code == status and response.json()["error"] == error


def test_a_token_request_must_be_form_encoded(straat: Straat, store: Store) -> None:
    form = good_form(straat, obtain_code(straat, store.patients[1].bsn))
    response = token_request(straat, content=json.dumps(form), headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# -- backchannel TLS --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["none", "rogue", "expired"])
def test_backchannel_refuses_bad_client_certificates(straat: Straat, kind: str) -> None:
    pki = straat.pki
    cert = {"none": None, "rogue": pki.rogue_leaf(PGO), "expired": pki.expired_leaf(PGO)}[kind]

    async def go() -> httpx.Response:
        async with net.client(client_context(pki.root_pem, cert), straat.hosts) as c:
            return await c.get(f"{straat.origins['dva-back']}/fhir/metadata")

    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        straat.run(go())


def test_backchannel_refuses_a_valid_certificate_not_on_the_whitelist(straat: Straat, store: Store) -> None:
    outsider = straat.pki.leaf("onbekend.straat.test")
    response = fhir_get(straat, "metadata", None, cert=outsider)
    assert response.status_code == 403 and response.json()["issue"][0]["code"] == "security"
    form = good_form(straat, obtain_code(straat, store.patients[0].bsn))
    refused = token_request(straat, form, cert=outsider)
    assert refused.status_code == 403
    assert token_request(straat, form).status_code == 200  # the code was not consumed by the outsider


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_backchannel_and_front_channel_refuse_old_tls(straat: Straat, version: ssl.TLSVersion) -> None:
    ctx = client_context(straat.pki.root_pem, straat.pki.leaf(PGO))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = version

    async def go(origin: str) -> httpx.Response:
        async with backchannel(straat, None, ctx) as c:
            return await c.get(origin)

    for listener in ("dva-back", "dva-front", "stelselnode"):
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            straat.run(go(straat.origins[listener]))


def test_the_dva_presents_its_own_hostname(straat: Straat) -> None:
    der = None

    async def go() -> None:
        nonlocal der
        async with backchannel(straat, straat.pki.leaf(PGO)) as c:
            r = await c.get(f"{straat.origins['dva-back']}/fhir/metadata")
            der = r.extensions["network_stream"].get_extra_info("ssl_object").getpeercert()

    straat.run(go())
    assert der is not None and ("DNS", DVA) in der["subjectAltName"]


# -- concurrency -------------------------------------------------------------------------------------------------
def test_fifty_concurrent_collect_flows(straat: Straat, store: Store) -> None:
    patients = [store.patients[i % len(store.patients)] for i in range(50)]
    codes_before = set(straat.auth.codes)

    async def all_flows() -> list:
        return await asyncio.gather(*(straat.collect(p.bsn) for p in patients), return_exceptions=True)

    results = straat.run(all_flows(), timeout=300)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    tokens = [r.token.access_token for r in results]
    assert len(set(tokens)) == 50
    new_codes = set(straat.auth.codes) - codes_before
    assert len(new_codes) == 50 and not new_codes & set(tokens)
    for patient, collection in zip(patients, results, strict=True):
        expected = expected_ids(store, patient.id)
        for r in collection.results:
            assert r.bundle is not None
            matches = {e["resource"]["id"] for e in r.bundle.get("entry", []) if e["search"]["mode"] == "match"}
            assert matches == expected[r.block.code]
            assert all(
                e["resource"]["id"] == patient.id
                for e in r.bundle.get("entry", [])
                if e["resource"]["resourceType"] == "Patient"
            )


# -- lists ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "kind"), [("stelselnode.replay_list", "replay"), ("stelselnode.invalid_list", "schema")]
)
def test_parties_keep_their_lists_when_the_stelselnode_serves_an_old_or_invalid_one(
    straat: Straat, fault: str, kind: str
) -> None:
    straat.stelselnode.set_whitelist([*straat.stelselnode.whitelist.nodes])  # publish a second version
    straat.pgo_lists.invalidate()
    held = straat.run(straat.pgo_lists.fresh()).whitelist
    assert held is not None and held.volgnummer == straat.stelselnode.whitelist.volgnummer
    straat.stelselnode.enable_fault(fault)
    try:
        straat.pgo_lists.invalidate()
        cache = straat.run(straat.pgo_lists.fresh())
        assert cache.whitelist == held  # still the newest valid list
        assert kind in straat.pgo_lists.errors["whitelist"]
    finally:
        straat.stelselnode.disable_fault(fault)
        straat.pgo_lists.invalidate()
    straat.run(straat.pgo_lists.fresh())
    assert straat.pgo_lists.errors == {}


def test_the_pgo_refuses_a_dva_host_that_is_not_on_the_whitelist(straat: Straat, store: Store) -> None:
    nodes = straat.stelselnode.whitelist.nodes
    try:
        straat.stelselnode.set_whitelist([n for n in nodes if n != DVA])
        straat.pgo_lists.invalidate()
        with pytest.raises(PGOError, match="whitelist"):
            straat.run(straat.collect(store.patients[0].bsn))
    finally:
        straat.stelselnode.set_whitelist(nodes)
        straat.pgo_lists.invalidate()
        straat.dva_lists.invalidate()
