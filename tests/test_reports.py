"""Reports: everything a run writes to reports/<run-id>/, redacted, tamper-evident, readable by CI tools."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from lxml import etree

from validatiestraat import reports as reports_pkg
from validatiestraat.engine import RunOutcome
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.redact import BSN_SYSTEM
from validatiestraat.reports import ReportError, write_reports
from validatiestraat.reports.evidence import MANIFEST, read_exchanges, verify
from validatiestraat.reports.scan import scan
from validatiestraat.results import Finding, Outcome, Result
from validatiestraat.scenarios import Expect, Scenario

TOKEN = "Tk1-9fJ2kQ8zLmN3pR7sT4uV"
REFRESH = "Rf2-0aB9cD8eF7gH6iJ5"
CODE = "Cd3-7yH2kL9pQ4wE8rT6"
SAMLART = "SA4-QQbcdEF123456ghIJ"
RELAY = "Rl5-77Yh3Kq0PzXc"
SESSION_ID = "Se6-4Rt9Lm2Qx8Vb"
CSRF = "Cs7-Zq81Wv05HkNm"
STATE = "St8-kept-in-clear-0042"
BSN = "999911120"  # a dataset BSN: given as a secret
BSN_FHIR = "999922233"  # only its FHIR identifier says it is a BSN
GIVEN = {TOKEN, BSN}
ALL = {TOKEN, REFRESH, CODE, SAMLART, RELAY, SESSION_ID, CSRF, BSN, BSN_FHIR}

SCENARIOS = {
    "MA-0.1": Scenario(
        id="MA-0.1",
        kind="mp9-search",
        title="Medication agreements",
        variants=("json", "xml"),
        block="MA",
        patient="vs-patient-verhoeven",
        expect=Expect(("a",)),
        tags=("mp9",),
    ),
    "OAUTH-1": Scenario(id="OAUTH-1", kind="probe", title="Code is single use", probe="code-replay"),
}

# a JUnit schema of our own in the widely used Ant/Jenkins shape: suites hold properties and test cases;
# a test case holds at most one skipped, then errors, failures, system-out, system-err; counts are integers
JUNIT_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="stamp">
    <xs:restriction base="xs:string">
      <xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="outcome" mixed="true">
    <xs:attribute name="message" type="xs:string"/>
    <xs:attribute name="type" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="xs:int"/>
      <xs:attribute name="failures" type="xs:int"/>
      <xs:attribute name="errors" type="xs:int"/>
      <xs:attribute name="disabled" type="xs:int"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="properties" minOccurs="0">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="property" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:attribute name="name" type="xs:string" use="required"/>
                  <xs:attribute name="value" type="xs:string" use="required"/>
                </xs:complexType>
              </xs:element>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
        <xs:element name="testcase" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="skipped" type="outcome" minOccurs="0"/>
              <xs:element name="error" type="outcome" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="failure" type="outcome" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="system-out" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="system-err" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="classname" type="xs:string"/>
            <xs:attribute name="time" type="xs:decimal"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:int" use="required"/>
      <xs:attribute name="failures" type="xs:int"/>
      <xs:attribute name="errors" type="xs:int"/>
      <xs:attribute name="skipped" type="xs:int"/>
      <xs:attribute name="disabled" type="xs:int"/>
      <xs:attribute name="time" type="xs:decimal"/>
      <xs:attribute name="timestamp" type="stamp"/>
      <xs:attribute name="hostname" type="xs:string"/>
      <xs:attribute name="id" type="xs:string"/>
      <xs:attribute name="package" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def junit_valid(path: Path) -> etree._Element:
    schema = etree.XMLSchema(etree.fromstring(JUNIT_XSD))
    doc = etree.parse(str(path))
    schema.assertValid(doc)
    return doc.getroot()


def ex(id: str, case: str, step: str, **kw: object) -> Exchange:
    base: dict[str, object] = {
        "id": id,
        "case": case,
        "step": step,
        "sender": "pgo",
        "receiver": "dva.straat.test",
        "method": "GET",
        "url": "https://dva.straat.test/",
        "request_headers": [],
        "request_body": b"",
        "status": 200,
        "started": float(int(id[1:])) / 100,
        "elapsed": 0.005,
        "tls_version": "TLSv1.3",
    }
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


def exchanges() -> list[Exchange]:
    setup = "setup:token:vs-patient-verhoeven"
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"system": BSN_SYSTEM, "value": BSN_FHIR}],
                }
            }
        ],
    }
    xml = (
        '<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Patient><identifier>'
        f'<system value="{BSN_SYSTEM}"/><value value="{BSN}"/></identifier></Patient></resource></entry></Bundle>'
    )
    return [
        ex(
            "x00001",
            setup,
            "authorize",
            status=303,
            url=f"https://dva.straat.test/digid/acs?SAMLart={SAMLART}&RelayState={RELAY}",
            response_headers=[("location", f"/oauth/consent?session={SESSION_ID}")],
        ),
        ex(
            "x00002",
            setup,
            "authorize",
            url=f"https://dva.straat.test/oauth/consent?session={SESSION_ID}",
            response_headers=[("content-type", "text/html")],
            response_body=f'<input type="hidden" name="csrf" value="{CSRF}">'.encode(),
        ),
        ex(
            "x00003",
            setup,
            "authorize",
            method="POST",
            status=303,
            request_body=f"session={SESSION_ID}&csrf={CSRF}&decision=allow".encode(),
            response_headers=[("location", f"https://pgo.straat.test/oauth/callback?code={CODE}&state={STATE}")],
        ),
        ex(
            "x00004",
            setup,
            "authorize",
            method="POST",
            url="https://dva.straat.test/oauth/token",
            request_headers=[("content-type", "application/x-www-form-urlencoded")],
            request_body=f"grant_type=authorization_code&code={CODE}&client_id=pgo.straat.test".encode(),
            response_headers=[("content-type", "application/json")],
            response_body=json.dumps(
                {"access_token": TOKEN, "refresh_token": REFRESH, "token_type": "Bearer"}
            ).encode(),
        ),
        ex(
            "x00005",
            "MA-0.1[json]",
            "search",
            url=f"https://dva.straat.test/fhir/MedicationRequest?category=x&patient.identifier={quote(BSN_SYSTEM)}%7C{BSN}",
            request_headers=[("authorization", f"Bearer {TOKEN}"), ("accept", "application/fhir+json")],
            response_headers=[("content-type", "application/fhir+json")],
            response_body=json.dumps(bundle).encode(),
        ),
        ex(
            "x00006",
            "MA-0.1[xml]",
            "search",
            request_headers=[("authorization", f"Bearer {TOKEN}"), ("accept", "application/fhir+xml")],
            response_headers=[("content-type", "application/fhir+xml")],
            response_body=xml.encode(),
        ),
        ex("x00007", "OAUTH-1", "replay", status=None, error=f"ConnectError: refused for code={CODE}"),
        ex("x00008", "OAUTH-1", "binary", response_body=b"\xff\xfe" + TOKEN.encode() + b"\x80"),
    ]


def result(case: str, scenario: str, variant: str | None, check: str, reqs: tuple[str, ...], *f: Finding) -> Result:
    return Result.of(case, scenario, variant, check, f"title of {check}", reqs, list(f), duration=0.002)


def outcome() -> RunOutcome:
    results = [
        result(
            "MA-0.1[json]",
            "MA-0.1",
            "json",
            "search.status",
            ("nictiz.mp9.status",),
            Finding(Outcome.PASS, "HTTP 200", ("x00005",)),
        ),
        result(
            "MA-0.1[json]",
            "MA-0.1",
            "json",
            "fhir.no-bsn",
            ("medmij.fhir.no-bsn",),
            Finding(Outcome.FAIL, f"Patient/p1 carries BSN {BSN_FHIR}", ("x00005",)),
        ),
        result(
            "MA-0.1[json]",
            "MA-0.1",
            "json",
            "fhir.profile",
            ("nictiz.mp9.profile",),
            Finding(Outcome.OMIT, "needs the validator"),
        ),
        result(
            "MA-0.1[xml]",
            "MA-0.1",
            "xml",
            "search.status",
            ("nictiz.mp9.status",),
            Finding(Outcome.PASS, "HTTP 200", ("x00006",)),
        ),
        result(
            "MA-0.1[xml]",
            "MA-0.1",
            "xml",
            "fhir.no-bsn",
            ("medmij.fhir.no-bsn",),
            Finding(Outcome.FAIL, f"BSN {BSN} in output; sent with Bearer {TOKEN}", ("x00006",)),
        ),
        result(
            "OAUTH-1",
            "OAUTH-1",
            None,
            "oauth.code-single-use",
            ("medmij.oauth.code-single-use",),
            Finding(Outcome.ERROR, f"no answer to the replay of code={CODE}", ("x00007", "x00004")),
        ),
        result(
            "OAUTH-1",
            "OAUTH-1",
            None,
            "oauth.scope",
            ("medmij.oauth.scope-grammar",),
            Finding(Outcome.SKIP, "not this kind"),
        ),
    ]
    meta = {"role": "dva", "target": f"https://dva.straat.test/?access_token={TOKEN}", "faults": ["dva.bsn_in_output"]}
    return RunOutcome("20261123T000000Z-abcdef", "2026-11-23T10:00:00+00:00", 1.25, results, meta)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports") / "20261123T000000Z-abcdef"
    assert write_reports(out, outcome(), exchanges(), set(GIVEN), scenarios=SCENARIOS) == out
    return out


def test_all_files_are_written_and_no_secret_is_left(report: Path) -> None:
    for rel in (
        "results.json",
        "junit.xml",
        "evidence/exchanges.jsonl",
        MANIFEST,
        "allure-results/environment.properties",
    ):
        assert (report / rel).is_file(), rel
    assert not [p for p in report.rglob("*") if ".tmp-" in p.name]
    assert scan(report, ALL) == []
    text = (report / "evidence/exchanges.jsonl").read_text()
    assert STATE in text  # state is evidence, not a secret
    for kind in ("token", "code", "samlart", "session", "csrf", "bsn"):
        assert f"[redacted:{kind}:" in text, kind


def test_results_json(report: Path) -> None:
    doc = json.loads((report / "results.json").read_text())
    assert doc["run_id"] == "20261123T000000Z-abcdef" and doc["started"].startswith("2026-11-23")
    assert doc["verdict"] == "not certified" and doc["exit_code"] == 3
    assert doc["summary"] == {"pass": 2, "fail": 2, "error": 1, "omit": 1, "skip": 1}
    assert doc["meta"]["role"] == "dva" and "[redacted:token:" in doc["meta"]["target"]
    by_id = {r["id"]: r for r in doc["results"]}
    assert by_id["MA-0.1[json]::fhir.no-bsn"]["outcome"] == "fail"
    assert by_id["MA-0.1[json]::fhir.no-bsn"]["exchanges"] == ["x00005"]
    assert by_id["MA-0.1[json]::fhir.no-bsn"]["messages"][0].startswith("fail: Patient/p1 carries BSN [redacted:bsn:")
    reqs = doc["requirements"]
    assert reqs["medmij.fhir.no-bsn"]["outcome"] == "fail"
    assert reqs["medmij.fhir.no-bsn"]["results"] == ["MA-0.1[json]::fhir.no-bsn", "MA-0.1[xml]::fhir.no-bsn"]
    assert reqs["nictiz.mp9.status"]["outcome"] == "pass"
    assert reqs["medmij.oauth.code-single-use"]["outcome"] == "error"
    assert all({"source", "text", "checks", "outcome", "known"} <= set(v) for v in reqs.values())


def test_results_json_cites_exchanges_the_evidence_holds(report: Path) -> None:
    doc = json.loads((report / "results.json").read_text())
    held = {x.id for x in read_exchanges(report)}
    assert held == {f"x0000{i}" for i in range(1, 9)}
    assert {x for r in doc["results"] for x in r["exchanges"]} <= held


def test_junit_is_valid_and_complete(report: Path) -> None:
    root = junit_valid(report / "junit.xml")
    assert root.get("tests") == "7" and root.get("failures") == "2" and root.get("errors") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"MA-0.1", "OAUTH-1"}
    ma = suites["MA-0.1"]
    assert ma.get("tests") == "5" and ma.get("failures") == "2" and ma.get("skipped") == "1"
    assert ma.get("timestamp") == "2026-11-23T10:00:00"
    props = {(p.get("name"), p.get("value")) for p in ma.iter("property")}
    assert ("requirement", "medmij.fhir.no-bsn") in props and ("scenario.kind", "mp9-search") in props
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 7
    fail = cases[("MA-0.1[xml]", "fhir.no-bsn")].find("failure")
    assert fail is not None and fail.get("message").startswith("fail: BSN [redacted:bsn:")
    assert cases[("OAUTH-1", "oauth.code-single-use")].find("error") is not None
    assert cases[("OAUTH-1", "oauth.scope")].find("skipped").get("message") == "skip: not this kind"
    assert cases[("MA-0.1[json]", "fhir.profile")].find("skipped").get("message") == "omit: needs the validator"
    assert cases[("MA-0.1[json]", "search.status")].find("failure") is None
    assert "requirements: nictiz.mp9.status" in cases[("MA-0.1[json]", "search.status")].findtext("system-out")


def allure_results(report: Path) -> dict[str, dict]:
    found = {}
    for path in (report / "allure-results").glob("*-result.json"):
        doc = json.loads(path.read_text())
        assert path.name == f"{doc['uuid']}-result.json"
        found[doc["fullName"]] = doc
    return found


def test_allure_results_have_the_allure2_shape(report: Path) -> None:
    results = allure_results(report)
    assert set(results) == {"dva.MA-0.1[json]", "dva.MA-0.1[xml]", "dva.OAUTH-1"}
    for doc in results.values():
        for key in ("uuid", "historyId", "name", "fullName", "status", "stage", "steps", "labels", "start", "stop"):
            assert key in doc, key
        assert doc["status"] in {"passed", "failed", "broken", "skipped"} and doc["stage"] == "finished"
        assert isinstance(doc["start"], int) and doc["stop"] >= doc["start"]
        for step in doc["steps"]:
            assert {"name", "status", "stage", "statusDetails", "start", "stop"} <= set(step)
        for attachment in doc["attachments"] + [a for s in doc["steps"] for a in s["attachments"]]:
            assert attachment["type"] == "application/json"
            assert (report / "allure-results" / attachment["source"]).is_file()
    json_case, oauth = results["dva.MA-0.1[json]"], results["dva.OAUTH-1"]
    assert json_case["status"] == "failed" and oauth["status"] == "broken"
    assert [s["status"] for s in json_case["steps"]] == ["passed", "failed", "skipped"]
    labels = {(label["name"], label["value"]) for label in json_case["labels"]}
    assert {("parentSuite", "dva"), ("suite", "mp9-search"), ("story", "MA-0.1"), ("tag", "MA")} <= labels
    assert ("feature", "MP9 MA") in labels
    assert json_case["parameters"] == [{"name": "variant", "value": "json"}]
    assert "fhir.no-bsn" in json_case["statusDetails"]["message"]
    # the OAuth case carries its own exchanges and the token exchange its result cites
    names = sorted(a["name"].split()[0] for a in oauth["attachments"])
    assert names == ["x00004", "x00007", "x00008"]
    assert (report / "allure-results" / "executor.json").is_file()
    assert "verdict=not certified" in (report / "allure-results" / "environment.properties").read_text()


def test_manifest_detects_tampering(report: Path, tmp_path: Path) -> None:
    assert verify(report) == []
    manifest = json.loads((report / MANIFEST).read_text())
    assert set(manifest["files"]) >= {"results.json", "junit.xml", "evidence/exchanges.jsonl"}
    assert MANIFEST not in manifest["files"]
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    (copy / "junit.xml").write_text((copy / "junit.xml").read_text().replace('failures="2"', 'failures="0"', 1))
    (copy / "extra.txt").write_text("added later")
    (copy / "evidence/exchanges.jsonl").unlink()
    problems = verify(copy)
    assert "junit.xml: changed (sha256 differs from the manifest)" in problems
    assert "extra.txt: not in the manifest" in problems
    assert "evidence/exchanges.jsonl: missing" in problems


def test_scan_finds_a_planted_secret_in_any_form(report: Path, tmp_path: Path) -> None:
    copy = tmp_path / "planted"
    shutil.copytree(report, copy)
    with (copy / "results.json").open("a") as fh:
        fh.write(f"\n{TOKEN}\n")
    (copy / "allure-results" / "leak-attachment.json").write_text(f'{{"u": "a?code={quote(CODE + "/")}"}}\n')
    hits = scan(copy, ALL)
    lines = len((copy / "results.json").read_text().splitlines())
    assert f"results.json:{lines}" in hits
    assert "allure-results/leak-attachment.json:1" in hits
    assert all(TOKEN not in h and CODE not in h for h in hits)  # a hit names the place, never the secret
    assert scan(copy, set()) == []


def test_a_run_without_results_is_incomplete(tmp_path: Path) -> None:
    run = RunOutcome("r1", "", 0.0, [], {"harness_error": "RuntimeError: the straat did not start"})
    out = write_reports(tmp_path / "r1", run, [], set(), scenarios={})
    doc = json.loads((out / "results.json").read_text())
    assert doc["verdict"] == "incomplete" and doc["exit_code"] == 4 and doc["results"] == []
    assert junit_valid(out / "junit.xml").get("tests") == "0"
    assert verify(out) == []


def test_a_failing_part_leaves_the_rest_of_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> bytes:
        raise RuntimeError(f"junit writer broke on {TOKEN}")

    monkeypatch.setattr(reports_pkg.junit, "build", broken)
    out = tmp_path / "partial"
    with pytest.raises(ReportError) as info:
        write_reports(out, outcome(), exchanges(), set(GIVEN), scenarios=SCENARIOS)
    assert info.value.problems[0].startswith("junit.xml: RuntimeError") and TOKEN not in str(info.value)
    assert not (out / "junit.xml").exists()
    assert json.loads((out / "results.json").read_text())["verdict"] == "not certified"
    assert len(read_exchanges(out)) == 8 and verify(out) == []
    assert scan(out, ALL) == []


# -- end to end: the engine on the reference straat ----------------------------------------------------------
T = date(2026, 11, 23)


@pytest.fixture(scope="module")
def engine_run() -> Iterator[tuple[RunOutcome, list[Exchange], set[str]]]:
    from mock_providers.his.dataset import load_builtin
    from mock_providers.straat import Straat
    from validatiestraat import engine, scenarios
    from validatiestraat.evidence.recorder import Recorder
    from validatiestraat.session import DvaSession

    store = load_builtin(T)
    recorder = Recorder()
    scenario = Scenario(
        id="MA-0.1",
        kind="mp9-search",
        title="All medication agreements of the filter patient",
        variants=("json", "xml"),
        block="MA",
        patient="vs-patient-verhoeven",
    )
    # the protocol probes too (code replay, bad redirect URIs, TLS): the OAuth flows put secrets everywhere
    probes = [s for s in scenarios.load() if s.kind == "probe"]
    with Straat(store, recorder=recorder) as straat:
        session = DvaSession(straat, recorder, store, t=T.isoformat())
        run = engine.run(session, [scenario, *probes])
    yield run, list(recorder.exchanges), set(session.secrets)


def seen_secrets(xs: list[Exchange]) -> set[str]:
    """Every token, code and session value the recorded exchanges carry, found independently of the redactor."""
    names = {"code", "access_token", "refresh_token", "SAMLart", "RelayState", "session", "csrf"}
    found: set[str] = set()

    def pairs(text: str) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(text).query if "://" in text or text.startswith("/") else text)

    for x in xs:
        texts = [x.url, *(v for k, v in x.response_headers if k.lower() == "location")]
        if "x-www-form-urlencoded" in (x.header("content-type", response=False) or ""):
            texts.append(x.request_body.decode())
        for text in texts:
            found |= {v for k, v in pairs(text) if k in names and v}
        auth = x.header("authorization", response=False) or ""
        if auth.lower().startswith("bearer "):
            found.add(auth[7:])
        body = x.json_body()
        if isinstance(body, dict):
            found |= {body[k] for k in ("access_token", "refresh_token") if isinstance(body.get(k), str)}
    return found


def test_end_to_end_reports_of_a_real_run_leak_nothing(
    engine_run: tuple[RunOutcome, list[Exchange], set[str]], tmp_path: Path
) -> None:
    run, xs, secrets = engine_run
    assert run.results and xs
    seen = seen_secrets(xs)
    assert any(x.header("authorization", response=False) for x in xs)
    assert len(seen) >= 4  # at least a code, a token, a SAMLart, a session
    out = write_reports(tmp_path / run.run_id, run, xs, set(secrets))
    assert scan(out, secrets | seen) == []
    assert verify(out) == []
    doc = json.loads((out / "results.json").read_text())
    assert doc["verdict"] == run.verdict.value and len(doc["results"]) == len(run.results)
    junit_valid(out / "junit.xml")
    assert len(allure_results(out)) == len({r.case for r in run.results})
    # the raw exchanges did carry them: the scan is not vacuous
    raw = "\n".join(json.dumps(x.to_json()) for x in xs)
    assert all(s in raw for s in seen)
