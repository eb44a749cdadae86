"""The fault catalogue: each fault really breaks its rule on the reference DVA, and the certification run
catches it (the kill matrix).

(a) Unit level: per fault, the broken behaviour as a client sees it over real TLS, beside the clean straat's.
(b) The kill matrix: per fault, the engine runs every scenario that has a check citing the fault's requirement
against a straat with only that fault on; the verdict must be *not certified* with that requirement among the
failed results. The clean straat must certify the same scenarios.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import socket
import ssl
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree
from straat_helpers import authorize_url, front

from mock_providers.dva import faults as F
from mock_providers.faults import FAULTS, describe, get, validate
from mock_providers.his.dataset import BUILTIN_DIR, load_builtin
from mock_providers.straat import DVA, PGO, Straat
from validatiestraat import engine, net, scenarios
from validatiestraat.checks.registry import checks_for
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.formats import from_json, from_xml
from validatiestraat.fhir.search import search
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.fhir.tdates import expand
from validatiestraat.medmij.lists import OAuthclient
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE
from validatiestraat.pki import CertFiles, TestPKI
from validatiestraat.results import Outcome, Result, Verdict, verdict
from validatiestraat.scenarios import Scenario
from validatiestraat.session import DvaSession
from validatiestraat.tls import client_context
from validatiestraat.useragent import AutoUserAgent

T = date(2026, 11, 23)
MEDIA = {"json": "application/fhir+json", "xml": "application/fhir+xml"}
ELSEWHERE = "https://elders.straat.test/cb"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def store() -> Store:
    """The dataset, with a preshared token per patient (the unit tests need no front channel for FHIR)."""
    loaded = load_builtin(T)
    for p in loaded.patients:
        loaded.add_patient(replace(p, token=f"token-{p.id}"))
    return loaded


@pytest.fixture(scope="module")
def patient(store: Store) -> PatientEntry:
    return store.patients[0]  # the filter patient: every block, includes and iterate includes


@pytest.fixture(scope="module")
def clean(store: Store, pki: TestPKI) -> Iterator[Straat]:
    with Straat(store, pki=pki, list_max_age=3600) as s:
        yield s


@pytest.fixture
def faulty(store: Store, pki: TestPKI) -> Iterator[Callable[[str], Straat]]:
    """``faulty(name)``: a started straat with only that fault on (stopped after the test)."""
    started: list[Straat] = []

    def make(name: str) -> Straat:
        s = Straat(store, pki=pki, list_max_age=3600, faults=frozenset({name})).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


# --------------------------------------------------------------------------- helpers


def backchannel(straat: Straat, cert: CertFiles | None = None, ctx: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    return net.client(ctx or client_context(straat.pki.root_pem, cert), straat.hosts)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def front_channel(straat: Straat, bsn: str, stop_at: str | None = None, **overrides: str) -> str:
    """Run the front channel up to (not into) ``stop_at`` (the PGO's redirect_uri); the URL it stopped at."""
    agent = AutoUserAgent(straat.browser_http, bsn, stop_at=stop_at or straat.pgo.redirect_uri)
    straat.run(agent(authorize_url(straat, **overrides)))
    return agent.visited[-1]


def good_form(straat: Straat, code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": straat.pgo.redirect_uri, "client_id": PGO}


def token_request(
    straat: Straat, form: dict[str, str], cert: CertFiles | None = None, timeout: float | None = None
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with backchannel(straat, cert) as c:
            kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            return await c.post(f"{straat.origins['dva-back']}/oauth/token", data=form, **kwargs)

    return straat.run(go())


def fresh_token_form(straat: Straat, bsn: str) -> dict[str, str]:
    return good_form(straat, query_of(front_channel(straat, bsn))["code"])


def token_for(patient: PatientEntry) -> str:
    """The patient's preshared token (the OAuth faults leave those alone)."""
    assert patient.token is not None
    return patient.token


def fhir(
    straat: Straat, path: str, token: str | None, params: list[tuple[str, str]] | None = None, fmt: str = "json"
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with backchannel(straat, straat.pki.leaf(PGO)) as c:
            headers = {"Accept": MEDIA[fmt], **({"Authorization": f"Bearer {token}"} if token else {})}
            return await c.get(f"{straat.origins['dva-back']}/fhir/{path}", params=params, headers=headers)

    return straat.run(go())


def block_search(
    straat: Straat, patient: PatientEntry, code: str = "MA", *filters: tuple[str, str], fmt: str = "json"
) -> httpx.Response:
    block = BLOCKS_BY_CODE[code]
    return fhir(straat, block.resource_type, token_for(patient), block.query(*filters), fmt)


def bundle_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:300]
    return from_xml(response.content) if "xml" in response.headers["content-type"] else from_json(response.content)


def both(
    clean: Straat, broken: Straat, patient: PatientEntry, code: str = "MA", *filters: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same search answered by the clean and by the broken DVA."""
    return bundle_of(block_search(clean, patient, code, *filters)), bundle_of(
        block_search(broken, patient, code, *filters)
    )


def entries(bundle: dict[str, Any], mode: str | None = None) -> list[dict[str, Any]]:
    return [e for e in bundle.get("entry", []) if mode is None or e["search"]["mode"] == mode]


def keys(bundle: dict[str, Any], mode: str | None = None) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in entries(bundle, mode)]


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for k, v in walk(resource) if k == "coding" for c in v]


def references(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for _, v in walk(resource) if isinstance(v, dict) and isinstance(v.get("reference"), str)]


def doses(resource: dict[str, Any]) -> list[Any]:
    return [v.get("value") for k, v in walk(resource) if k in ("doseQuantity", "dose") and isinstance(v, dict)]


def tls10_handshake(straat: Straat, listener: str, cert: CertFiles | None) -> str:
    """A raw TLS 1.0-only handshake with a straat listener; the negotiated version (raises when refused)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with warnings.catch_warnings():  # ssl deprecates TLS 1.0: this client speaks it on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_verify_locations(straat.pki.root_pem)
    if cert is not None:
        ctx.load_cert_chain(cert.cert, cert.key)
    port = straat.listeners[listener].port
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=DVA) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {DVA}\r\nConnection: close\r\n\r\n".encode())
        assert tls.recv(12).startswith(b"HTTP/1.1"), "the listener answered no HTTP over TLS 1.0"
        return str(tls.version())


# --------------------------------------------------------------------------- the catalogue


def test_every_catalogued_fault_is_implemented_and_cites_a_requirement() -> None:
    assert set(FAULTS) == F.IMPLEMENTED
    assert len(FAULTS) == 39
    for name, fault in FAULTS.items():
        assert fault.name == name and fault.party == "dva" and fault.layer in ("oauth", "tls", "fhir")
        assert fault.requirement.count(".") >= 2 and fault.requirement == fault.requirement.lower()
        assert fault.title and fault.description.endswith(".")


def test_describe_lists_name_requirement_and_title_sorted_by_name() -> None:
    rows = describe()
    assert [r[0] for r in rows] == sorted(FAULTS)
    assert rows[0] == ("dva.accepts_tls10", "medmij.tls.min-version", "Accepts TLS 1.0")


def test_unknown_fault_names_are_refused_with_the_known_ones(store: Store, pki: TestPKI) -> None:
    with pytest.raises(ValueError, match=r"unknown fault 'dva\.nope'; known faults: dva\.accepts_tls10, "):
        validate({"dva.nope", "dva.no_self_link"})
    with pytest.raises(ValueError, match=r"dva\.whitelist_ignored"):
        get("nope")
    assert validate("dva.no_self_link") == {"dva.no_self_link"}
    with pytest.raises(ValueError, match="unknown fault"):
        Straat(store, pki=pki, faults=frozenset({"dva.nope"}))


def test_bundle_mutators_work_on_a_copy_and_never_touch_the_store(store: Store, patient: PatientEntry) -> None:
    before = json.dumps([store.all(), [p.bsn for p in store.patients]], sort_keys=True)
    block = BLOCKS_BY_CODE["MA"]
    params = tuple(block.query())
    bundle = search(store, block.resource_type, params, patient.id, "https://dva.straat.test/fhir")
    pristine = copy.deepcopy(bundle)
    ctx = F.SearchContext(store, block.resource_type, params, patient.id, "https://dva.straat.test/fhir")
    assert F.mutate_bundle(bundle, frozenset(), ctx) is bundle
    for name in F.MUTATORS:
        broken = F.mutate_bundle(bundle, frozenset({name}), ctx)
        assert broken != pristine, f"{name} changed nothing in the MA answer of {patient.id}"
    assert bundle == pristine
    assert json.dumps([store.all(), [p.bsn for p in store.patients]], sort_keys=True) == before


# --------------------------------------------------------------------------- (a) OAuth faults


def test_code_reusable(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    for straat, second_status in ((clean, 400), (faulty("dva.code_reusable"), 200)):
        form = fresh_token_form(straat, patient.bsn)
        first = token_request(straat, form, straat.pki.leaf(PGO))
        assert first.status_code == 200
        assert token_request(straat, form, straat.pki.leaf(PGO)).status_code == second_status


def test_state_dropped(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    broken = faulty("dva.state_dropped")
    assert query_of(front_channel(clean, patient.bsn))["state"] == "s-123"
    landed = query_of(front_channel(broken, patient.bsn))
    assert "code" in landed and "state" not in landed
    for straat, has_state in ((clean, True), (broken, False)):  # error redirects too
        error = query_of(front(straat, authorize_url(straat, response_type="token")).headers["location"])
        assert error["error"] == "unsupported_response_type" and ("state" in error) is has_state


def test_redirect_uri_unvalidated(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    refused = front(clean, authorize_url(clean, redirect_uri=ELSEWHERE))
    assert refused.status_code == 400 and "location" not in refused.headers
    broken = faulty("dva.redirect_uri_unvalidated")
    landed = front_channel(broken, patient.bsn, stop_at=ELSEWHERE, redirect_uri=ELSEWHERE)
    assert landed.startswith(ELSEWHERE) and "code" in query_of(landed)
    assert front(broken, authorize_url(broken, redirect_uri="http://pgo.straat.test/cb")).status_code == 400


def test_scope_unchecked(clean: Straat, faulty: Callable[[str], Straat]) -> None:
    """A client on the OCL that is not qualified for the DVA's service asks for it anyway."""
    other = "anderpgo.straat.test"
    for straat, refused in ((clean, True), (faulty("dva.scope_unchecked"), False)):
        straat.stelselnode.add_oauth_client(OAuthclient(other, "Ander PGO", ("123",)))
        straat.dva_lists.invalidate()
        try:
            answer = front(straat, authorize_url(straat, client_id=other, redirect_uri=f"https://{other}/cb"))
        finally:
            straat.stelselnode.remove_oauth_client(other)
            straat.dva_lists.invalidate()
        assert answer.status_code == 303
        to = answer.headers["location"]
        assert (query_of(to).get("error") == "invalid_scope") is refused
        assert to.startswith(straat.origins["digid"]) is not refused


def test_token_without_redirect_uri(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    for straat, status in ((clean, 400), (faulty("dva.token_without_redirect_uri"), 200)):
        form = fresh_token_form(straat, patient.bsn)
        del form["redirect_uri"]
        assert token_request(straat, form, straat.pki.leaf(PGO)).status_code == status
    broken = faulty("dva.token_without_redirect_uri")
    form = {**fresh_token_form(broken, patient.bsn), "redirect_uri": "https://pgo.straat.test/elders"}
    assert token_request(broken, form, broken.pki.leaf(PGO)).status_code == 400  # a wrong one is still refused


def test_token_slow(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    """Fast to test: the clean DVA answers within a second, the slow one not (the full 10 s wait is the kill
    matrix's business)."""
    assert token_request(clean, fresh_token_form(clean, patient.bsn), clean.pki.leaf(PGO), 1.0).status_code == 200
    broken = faulty("dva.token_slow")
    with pytest.raises(httpx.ReadTimeout):
        token_request(broken, fresh_token_form(broken, patient.bsn), broken.pki.leaf(PGO), 1.0)


def test_unknown_token_accepted(clean: Straat, faulty: Callable[[str], Straat], store: Store) -> None:
    block = BLOCKS_BY_CODE["MA"]
    assert fhir(clean, block.resource_type, "made-up-token", block.query()).status_code == 401
    answer = fhir(faulty("dva.unknown_token_accepted"), block.resource_type, "made-up-token", block.query())
    assert answer.status_code == 200
    assert {Store.patient_of(e["resource"]) for e in entries(bundle_of(answer), "match")} == {store.patients[0].id}


# --------------------------------------------------------------------------- (a) TLS faults


@pytest.mark.parametrize("listener", ["dva-back", "dva-front"])
def test_accepts_tls10(clean: Straat, faulty: Callable[[str], Straat], listener: str) -> None:
    cert = clean.pki.leaf(PGO) if listener == "dva-back" else None
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls10_handshake(clean, listener, cert)
    assert tls10_handshake(faulty("dva.accepts_tls10"), listener, cert) == "TLSv1"


def test_client_cert_optional(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    async def certless_metadata(straat: Straat) -> httpx.Response:
        async with backchannel(straat, None) as c:
            return await c.get(f"{straat.origins['dva-back']}/fhir/metadata")

    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        clean.run(certless_metadata(clean))
    broken = faulty("dva.client_cert_optional")
    assert broken.run(certless_metadata(broken)).status_code == 200
    issued = token_request(broken, fresh_token_form(broken, patient.bsn), cert=None)
    assert issued.status_code == 200, issued.text
    outsider = broken.pki.leaf("onbekend.straat.test")  # a certificate, when presented, is still checked
    assert token_request(broken, fresh_token_form(broken, patient.bsn), cert=outsider).status_code == 403


def test_whitelist_ignored(clean: Straat, faulty: Callable[[str], Straat]) -> None:
    outsider = clean.pki.leaf("onbekend.straat.test")

    async def metadata(straat: Straat) -> httpx.Response:
        async with backchannel(straat, outsider) as c:
            return await c.get(f"{straat.origins['dva-back']}/fhir/metadata")

    assert clean.run(metadata(clean)).status_code == 403
    broken = faulty("dva.whitelist_ignored")
    assert broken.run(metadata(broken)).status_code == 200


# --------------------------------------------------------------------------- (a) FHIR faults


def test_wrong_bundle_type(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.wrong_bundle_type"), patient)
    assert (good["type"], bad["type"]) == ("searchset", "collection")


def test_missing_full_url(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.missing_full_url"), patient)
    assert all("fullUrl" in e for e in entries(good))
    assert [e for e in entries(bad) if "fullUrl" not in e]


def test_full_url_mismatch(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.full_url_mismatch"), patient)

    def mismatched(b: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            e
            for e in entries(b)
            if not e["fullUrl"].endswith(f"/{e['resource']['resourceType']}/{e['resource']['id']}")
        ]

    assert mismatched(good) == [] and len(mismatched(bad)) == 1


def test_missing_meta_profile(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.missing_meta_profile"), patient)
    assert all(e["resource"]["meta"]["profile"] for e in entries(good))
    assert entries(bad, "match") and all("profile" not in e["resource"].get("meta", {}) for e in entries(bad, "match"))
    assert all(e["resource"]["meta"]["profile"] for e in entries(bad, "include"))


def test_coding_without_system(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.coding_without_system"), patient)
    assert all("system" in c for e in entries(good) for c in codings(e["resource"]))
    assert [c for e in entries(bad, "match") for c in codings(e["resource"]) if "system" not in c]


def test_reference_without_display(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.reference_without_display"), patient)
    assert all("display" in r for e in entries(good, "match") for r in references(e["resource"]))
    assert [r for e in entries(bad, "match") for r in references(e["resource"]) if "display" not in r]


def test_identifier_without_system(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.identifier_without_system"), patient)

    def systemless(b: dict[str, Any]) -> list[dict[str, Any]]:
        return [i for e in entries(b, "match") for i in e["resource"].get("identifier", []) if "system" not in i]

    assert systemless(good) == [] and len(systemless(bad)) == 1


def test_total_above_matches(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.total_above_matches"), patient)
    assert good["total"] == len(entries(good, "match")) and bad["total"] > len(entries(bad, "match"))


def test_no_self_link(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.no_self_link"), patient)
    assert [link["relation"] for link in good["link"]] == ["self"]
    assert not [link for link in bad.get("link", []) if link["relation"] == "self"]


def test_bsn_in_output(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    assert patient.bsn not in block_search(clean, patient).text
    answer = block_search(faulty("dva.bsn_in_output"), patient)
    assert patient.bsn in answer.text
    (patient_resource,) = [
        e["resource"] for e in entries(bundle_of(answer)) if e["resource"]["resourceType"] == "Patient"
    ]
    assert {"system": F.BSN_SYSTEM, "value": patient.bsn} in patient_resource["identifier"]


def test_resource_dropped(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.resource_dropped"), patient)
    assert keys(bad, "match") == keys(good, "match")[:-1] and bad["total"] == good["total"] - 1


def test_include_ignored(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.include_ignored"), patient)
    assert keys(good, "include") and keys(bad, "include") == [] and keys(bad, "match") == keys(good, "match")


def test_iterate_ignored(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.iterate_ignored"), patient)
    missing = set(keys(good)) - set(keys(bad))
    assert missing and set(keys(bad)) < set(keys(good)) and keys(bad, "match") == keys(good, "match")
    assert {rt for rt, _ in missing} <= {"Organization", "Practitioner", "Location"}
    assert {rt for rt, _ in keys(bad, "include")} >= {"Medication", "Patient", "PractitionerRole"}


def filter_queries() -> list[dict[str, Any]]:
    text = expand((BUILTIN_DIR / "filters.json").read_text(encoding="utf-8"), T)
    return [q for q in json.loads(text)["queries"] if any(k == "period-of-use" for k, _ in q["params"])]


def test_period_end_not_derived(clean: Straat, faulty: Callable[[str], Straat], store: Store) -> None:
    """The project's filter table: the clean DVA matches every period-of-use query, the broken one not."""
    filter_patient = store.patient(json.loads((BUILTIN_DIR / "filters.json").read_text("utf-8"))["patient"])
    assert filter_patient is not None
    broken = faulty("dva.period_end_not_derived")
    wrong = []
    for q in filter_queries():
        params = [(k, v) for k, v in q["params"]]
        for straat in (clean, broken):
            answer = bundle_of(fhir(straat, q["resourceType"], token_for(filter_patient), params))
            got = sorted(rid for _, rid in keys(answer, "match"))
            if straat is clean:
                assert got == sorted(q["expected"]), q["query"]
            elif got != sorted(q["expected"]):
                wrong.append(q["query"])
    assert wrong, "no period-of-use query of the filter table notices the missing derived end"


def test_broken_xml(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    broken = faulty("dva.broken_xml")
    assert bundle_of(block_search(clean, patient, fmt="xml"))["type"] == "searchset"
    answer = block_search(broken, patient, fmt="xml")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/fhir+xml")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(answer.content)
    assert bundle_of(block_search(broken, patient, fmt="json"))["type"] == "searchset"  # JSON is untouched


@pytest.mark.parametrize(("fmt", "expected"), [("json", "application/json"), ("xml", "text/xml")])
def test_wrong_content_type(
    clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry, fmt: str, expected: str
) -> None:
    assert block_search(clean, patient, fmt=fmt).headers["content-type"].startswith(MEDIA[fmt])
    answer = block_search(faulty("dva.wrong_content_type"), patient, fmt=fmt)
    assert answer.headers["content-type"].split(";")[0] == expected
    assert bundle_of(answer)["type"] == "searchset"  # the body itself is right


def test_filter_500(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    broken = faulty("dva.filter_500")
    period = ("period-of-use", f"ge{T.isoformat()}")
    assert block_search(clean, patient, "MA", period).status_code == 200
    assert block_search(broken, patient, "MA").status_code == 200  # the base query still works
    failing = block_search(broken, patient, "MA", period)
    assert failing.status_code == 500 and from_json(failing.content)["resourceType"] == "OperationOutcome"


def test_dose_altered(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry, store: Store) -> None:
    good, bad = both(clean, faulty("dva.dose_altered"), patient)
    for e in entries(good):
        r = e["resource"]
        assert r == store.get(r["resourceType"], r["id"])
    changed = [e["resource"] for e in entries(bad) if e["resource"] != store.get(*_key(e))]
    assert len(changed) == 1 and changed[0]["resourceType"] == "MedicationRequest"
    assert doses(changed[0]) != doses(store.get(*_key({"resource": changed[0]})))


def _changed(bad: dict[str, Any], store: Store) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(stored, served) pairs of the entry resources the fault changed."""
    return [(store.get(*_key(e)), e["resource"]) for e in entries(bad) if e["resource"] != store.get(*_key(e))]


def test_status_outside_value_set(
    clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry, store: Store
) -> None:
    _, bad = both(clean, faulty("dva.status_outside_value_set"), patient)
    ((was, now),) = _changed(bad, store)
    assert (was["status"], now["status"]) == ("active", "in-progress")
    assert {k: v for k, v in now.items() if k != "status"} == {k: v for k, v in was.items() if k != "status"}


def test_period_ends_before_start(
    clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry, store: Store
) -> None:
    _, bad = both(clean, faulty("dva.period_ends_before_start"), patient)
    ((was, now),) = _changed(bad, store)
    periods = [v for _, v in walk(now) if isinstance(v, dict) and v.get("end") == "1990-01-01"]
    assert len(periods) == 1 and periods[0]["start"] > "1990-01-01"
    assert "1990-01-01" not in json.dumps(was)


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["resource"]["resourceType"], entry["resource"]["id"]


def test_other_patient_data(clean: Straat, faulty: Callable[[str], Straat], patient: PatientEntry) -> None:
    good, bad = both(clean, faulty("dva.other_patient_data"), patient)
    assert {Store.patient_of(e["resource"]) for e in entries(good, "match")} == {patient.id}
    strangers = [e["resource"] for e in entries(bad, "match") if Store.patient_of(e["resource"]) != patient.id]
    assert len(strangers) == 1 and bad["total"] == len(entries(bad, "match"))
    category = BLOCKS_BY_CODE["MA"].category
    assert category in {c["code"] for cc in strangers[0]["category"] for c in cc["coding"]}


# --------------------------------------------------------------------------- (b) the kill matrix


def selection(requirement: str) -> list[Scenario]:
    """Every scenario that runs a check citing ``requirement``: only those can catch a fault of that rule."""
    return [s for s in scenarios.load() if any(requirement in c.requirements for c in checks_for(s.kind, s.checks))]


def certify(
    pki: TestPKI,
    chosen: list[Scenario],
    faults: frozenset[str] = frozenset(),
    until: Callable[[list[Result]], bool] | None = None,
) -> list[Result]:
    """A certification run of the reference DVA (with ``faults``) over ``chosen``, on its own straat and store:
    :func:`engine.run_case` on every case in order, as :func:`engine.run` does, stopping early once ``until``
    holds for the results so far."""
    store = load_builtin(T)
    recorder = Recorder()
    results: list[Result] = []
    with Straat(store, pki=pki, recorder=recorder, list_max_age=3600, faults=faults) as straat:
        session = DvaSession(straat, recorder, store, t=T.isoformat())
        for scenario in chosen:
            for _, variant in scenario.cases:
                results += engine.run_case(session, scenario, variant)
                if until is not None and until(results):
                    return results
    return results


def failed_requirements(results: list[Result]) -> set[str]:
    return {req for r in results if r.outcome is Outcome.FAIL for req in r.requirements}


def summary(results: list[Result], limit: int = 25) -> str:
    shown = [f"{r.id} {r.outcome} {list(r.requirements)} {r.messages[:1]}" for r in results if r.outcome != "pass"]
    return "\n".join(shown[:limit]) or "(every result passed)"


@pytest.fixture(scope="module")
def clean_run(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> list[Result]:
    """The clean straat over every scenario any fault's selection holds (the union of the selections). Under
    pytest-xdist the first worker runs it and the others read its results (the pytest-xdist recipe for a
    once-per-session fixture), so the long clean run is not repeated per worker."""
    requirements = {f.requirement for f in FAULTS.values()}
    chosen = [s for s in scenarios.load() if any(s in selection(r) for r in requirements)]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return certify(pki, chosen)
    shared = tmp_path_factory.getbasetemp().parent / "faults-clean-run.json"
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shared.exists():
            shared.write_text(json.dumps([r.to_json() for r in certify(pki, chosen)]), encoding="utf-8")
        return [Result.from_json(r) for r in json.loads(shared.read_text(encoding="utf-8"))]


def test_the_clean_straat_certifies(clean_run: list[Result]) -> None:
    assert clean_run, "no scenario runs a check of any fault's requirement"
    assert verdict(clean_run) is Verdict.CERTIFIED, summary(clean_run)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_the_clean_straat_certifies_the_selection_of(name: str, clean_run: list[Result]) -> None:
    ids = {s.id for s in selection(FAULTS[name].requirement)}
    mine = [r for r in clean_run if r.scenario in ids]
    assert mine, f"no scenario runs a check citing {FAULTS[name].requirement}"
    assert verdict(mine) is Verdict.CERTIFIED, summary(mine)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_the_fault_is_killed(name: str, pki: TestPKI) -> None:
    """The run stops at the first failure citing the fault's requirement: from there on the verdict can only be
    *not certified* (any failure decides it). A fault that is not caught runs the whole selection."""
    fault = FAULTS[name]
    chosen = selection(fault.requirement)
    assert chosen, f"no scenario runs a check citing {fault.requirement}: nothing can catch {name}"
    results = certify(pki, chosen, frozenset({name}), until=lambda rs: fault.requirement in failed_requirements(rs))
    cases = len({r.case for r in results})
    report = f"{name} ({fault.requirement}), {cases} cases of {len(chosen)} scenarios run:\n{summary(results)}"
    assert verdict(results).exit_code == 3, f"verdict {verdict(results)}; " + report
    assert fault.requirement in failed_requirements(results), "the failures cite other requirements; " + report
