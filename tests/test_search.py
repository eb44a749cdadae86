from datetime import date, timedelta
from pathlib import Path

import pytest

from mock_providers.his.dataset import load_dataset
from validatiestraat.fhir.search import SearchError, read, search
from validatiestraat.fhir.store import Store

MINI = Path(__file__).parent / "data" / "mini"
T = date(2025, 3, 14)
BASE = "https://dva.test/fhir"
SCT = "http://snomed.info/sct"
PRK = "urn:oid:2.16.840.1.113883.2.4.4.10"
MA = f"{SCT}|33633005"
TRT = "urn:oid:2.16.840.1.113883.2.4.3.11.999.1"


def d(days: int) -> str:
    return (T + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def store() -> Store:
    return load_dataset(MINI, T)


def ids(bundle: dict, mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def run(store: Store, rt: str, *params: tuple[str, str], patient: str = "pat-a") -> dict:
    return search(store, rt, list(params), patient, BASE)


def test_token_category_system_code_or_and_forms(store: Store) -> None:
    assert ids(run(store, "MedicationRequest", ("category", MA))) == ["ma-1", "ma-2"]
    assert ids(run(store, "MedicationRequest", ("category", f"{MA},{SCT}|52711000146108"))) == ["ma-1", "ma-2", "vv-1"]
    assert ids(run(store, "MedicationRequest", ("category", "33633005"))) == ["ma-1", "ma-2"]
    assert ids(run(store, "MedicationRequest", ("category", "|33633005"))) == []
    assert ids(run(store, "MedicationRequest", ("category", f"{SCT}|"))) == ["ma-1", "ma-2", "vv-1"]
    assert ids(run(store, "MedicationDispense", ("category", f"{SCT}|422037009"))) == ["ta-1"]
    assert ids(run(store, "MedicationAdministration", ("category", f"{SCT}|18629005"))) == ["mtd-1"]


def test_identifier_medication_code_and_treatment(store: Store) -> None:
    assert ids(run(store, "MedicationRequest", ("identifier", "urn:oid:2.16.840.1.113883.2.4.3.11.999.2|MA-1"))) == [
        "ma-1"
    ]
    assert ids(run(store, "MedicationRequest", ("medication.code", f"{PRK}|2222"))) == ["ma-2"]
    assert ids(run(store, "MedicationRequest", ("medication.code", f"{PRK}|1111"))) == ["ma-1", "vv-1"]
    assert ids(run(store, "MedicationRequest", ("pharmaceutical-treatment-identifier", f"{TRT}|T1"))) == [
        "ma-1",
        "vv-1",
    ]
    assert ids(run(store, "MedicationStatement", ("pharmaceutical-treatment-identifier", f"{TRT}|T1"))) == ["mgb-1"]


def test_repeated_parameters_are_and(store: Store) -> None:
    both = run(store, "MedicationRequest", ("category", MA), ("medication.code", f"{PRK}|1111"))
    assert ids(both) == ["ma-1"]


def test_period_of_use_derives_end_from_duration(store: Store) -> None:
    # ma-1 starts T-10 and lasts 5 days: it ended at T-5, so it is not in use from T-4 on.
    assert ids(run(store, "MedicationRequest", ("category", MA), ("period-of-use", f"ge{d(-4)}"))) == ["ma-2"]
    assert ids(run(store, "MedicationRequest", ("category", MA), ("period-of-use", f"ge{d(-7)}"))) == ["ma-1", "ma-2"]
    assert ids(run(store, "MedicationRequest", ("period-of-use", f"lt{d(-9)}"))) == ["ma-1"]
    assert ids(run(store, "MedicationRequest", ("period-of-use", f"ge{d(-7)}"), ("period-of-use", f"le{d(-1)}"))) == [
        "ma-1"
    ]
    # MedicationStatement.effectivePeriod: start T-20 + 2 weeks = end T-6
    assert ids(run(store, "MedicationStatement", ("period-of-use", f"ge{d(-5)}"))) == []
    assert ids(run(store, "MedicationStatement", ("period-of-use", f"ge{d(-8)}"))) == ["mgb-1"]


def test_period_of_use_derives_start_from_end_minus_duration(store: Store) -> None:
    # ta-1 ends at the end of T+5 and lasts 10 days: it starts at T-4.
    assert ids(run(store, "MedicationDispense", ("period-of-use", f"lt{d(-4)}"))) == []
    assert ids(run(store, "MedicationDispense", ("period-of-use", f"lt{d(-3)}"))) == ["ta-1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"sa{d(-1)}", ["ma-2"]),
        (f"eb{d(-4)}", ["ma-1"]),
        (f"ne{d(0)}", ["ma-1", "ma-2"]),
        (f"eq{d(0)}", []),
        (f"gt{d(20)}", []),
        (f"ap{d(-3000)}", []),
    ],
)
def test_period_of_use_prefixes(store: Store, value: str, expected: list[str]) -> None:
    assert ids(run(store, "MedicationRequest", ("category", MA), ("period-of-use", value))) == expected


@pytest.mark.parametrize(
    ("value", "hit"),
    [
        (d(-3), True),
        (f"ge{d(-3)}", True),
        (f"le{d(-3)}", True),
        (f"gt{d(-3)}", False),
        (f"lt{d(-3)}", False),
        (f"ge{d(-3)}T10:00:00+01:00", True),
        (f"gt{d(-3)}T09:30:00Z", False),
        (f"lt{d(-3)}T09:30:00Z", True),
        (f"eq{d(-3)}T10:00", True),
        (d(-3)[:7], True),
        (f"ge{d(-3)},eq{d(-40)}", True),
    ],
)
def test_whenhandedover_date_semantics(store: Store, value: str, hit: bool) -> None:
    assert ids(run(store, "MedicationDispense", ("whenhandedover", value))) == (["mve-1"] if hit else [])


def test_ap_is_near(store: Store) -> None:
    assert "ma-2" in ids(run(store, "MedicationRequest", ("category", MA), ("period-of-use", f"ap{d(3)}")))


def test_effective_time(store: Store) -> None:
    assert ids(run(store, "MedicationAdministration", ("effective-time", f"ge{d(-2)}"))) == ["mtd-1"]
    assert ids(run(store, "MedicationAdministration", ("effective-time", f"lt{d(-2)}"))) == []
    assert ids(run(store, "MedicationAdministration", ("effective-time", d(-2)))) == ["mtd-1"]


def test_includes_iterate_dedup_and_modes(store: Store) -> None:
    b = run(
        store,
        "MedicationRequest",
        ("category", MA),
        ("_include", "MedicationRequest:medication"),
        ("_include", "MedicationRequest:requester"),
        ("_include:iterate", "PractitionerRole:organization"),
        ("_include:iterate", "PractitionerRole:practitioner"),
        ("_include:iterate", "PractitionerRole:location"),
    )
    assert b["type"] == "searchset" and b["total"] == 2
    assert ids(b) == ["ma-1", "ma-2"]
    assert sorted(ids(b, "include")) == ["loc-1", "med-1", "med-2", "org-1", "prac-1", "role-1"]
    urls = [e["fullUrl"] for e in b["entry"]]
    assert len(urls) == len(set(urls))
    assert urls[0] == f"{BASE}/MedicationRequest/ma-1"
    no_iterate = run(store, "MedicationRequest", ("category", MA), ("_include", "MedicationRequest:requester"))
    assert ids(no_iterate, "include") == ["role-1"]
    typed = run(store, "MedicationRequest", ("category", MA), ("_include", "MedicationRequest:requester:Practitioner"))
    assert ids(typed, "include") == []


def test_includes_never_bring_another_patients_data(store: Store) -> None:
    b = run(
        store,
        "MedicationStatement",
        ("_include", "MedicationStatement:source"),
        ("_include", "MedicationStatement:subject"),
    )
    assert ids(b) == ["mgb-1"]
    assert ids(b, "include") == ["pat-a"]  # informationSource points at pat-b: left out


def test_patient_comes_from_the_token_only(store: Store) -> None:
    b = run(store, "MedicationRequest", ("patient", "pat-b"), ("subject", "Patient/pat-b"), ("category", MA))
    assert ids(b) == ["ma-1", "ma-2"]
    assert ids(run(store, "MedicationRequest", ("category", MA), patient="pat-b")) == ["ma-b"]
    assert "patient" not in b["link"][0]["url"] and "subject" not in b["link"][0]["url"]


def test_self_link_has_applied_parameters_url_encoded(store: Store) -> None:
    b = run(store, "MedicationRequest", ("category", MA), ("_count", "5"), ("bogus", "1"), ("_include", "Foo:bar"))
    assert b["link"] == [
        {"relation": "self", "url": f"{BASE}/MedicationRequest?category=http%3A%2F%2Fsnomed.info%2Fsct%7C33633005"}
    ]
    assert run(store, "MedicationRequest")["link"][0]["url"] == f"{BASE}/MedicationRequest"


def test_empty_result_has_no_entry(store: Store) -> None:
    b = run(store, "MedicationAdministration", patient="pat-b")
    assert b["total"] == 0 and "entry" not in b


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("period-of-use", "ge2025-13-45"),
        ("period-of-use", "xx2025-01-01"),
        ("whenhandedover", "yesterday"),
        ("effective-time", "ge2025-01-01T25:00"),
        ("category", "a|b|c"),
        ("category", ""),
        ("category:text", "x"),
        ("_include:bogus", "MedicationRequest:medication"),
    ],
)
def test_bad_syntax_is_400_invalid(store: Store, name: str, value: str) -> None:
    rt = (
        "MedicationDispense"
        if name == "whenhandedover"
        else ("MedicationAdministration" if name == "effective-time" else "MedicationRequest")
    )
    with pytest.raises(SearchError) as e:
        run(store, rt, (name, value))
    assert (e.value.status, e.value.code) == (400, "invalid")


def test_unsupported_type(store: Store) -> None:
    with pytest.raises(SearchError) as e:
        run(store, "Observation")
    assert (e.value.status, e.value.code) == (404, "not-supported")


def test_read_own_and_reachable_only(store: Store) -> None:
    assert read(store, "MedicationRequest", "ma-1", "pat-a")["id"] == "ma-1"
    assert read(store, "Organization", "org-1", "pat-a")["id"] == "org-1"  # via requester -> role -> org
    assert read(store, "Patient", "pat-a", "pat-a")["id"] == "pat-a"
    for rt, rid, patient in [
        ("Patient", "pat-b", "pat-a"),
        ("MedicationRequest", "ma-b", "pat-a"),
        ("Medication", "med-2", "pat-b"),
        ("Medication", "nope", "pat-a"),
    ]:
        with pytest.raises(SearchError) as e:
            read(store, rt, rid, patient)
        assert (e.value.status, e.value.code) == (404, "not-found")


def test_store_lookups(store: Store) -> None:
    assert store.by_bsn("999911132").id == "pat-b"
    assert store.by_token("whatever") is None
    assert Store.patient_of(store.get("MedicationRequest", "ma-b")) == "pat-b"
    assert Store.patient_of(store.get("Medication", "med-1")) is None
