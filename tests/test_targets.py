"""Sessions on the reference DVA and on an external DVA, with the three ways to a token (auto, manual,
preshared), over real TLS.

The "external" DVA is the reference DVA of a second, independent straat (its own DigiD stub, consent pages,
tokens and copy of the dataset), which the harness knows only by its URLs and the config: the harness straat
lists it on its ZAL and Whitelist, resolves its name through the config's ``resolve`` table, and reaches it with
the configured client certificate and trust anchor. Like a vendor's DVA under certification, it reads the
harness's Stelselnode for its OCL and Whitelist (:func:`vendor_reads_lists_of`).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import Straat
from validatiestraat import engine, scenarios
from validatiestraat.config import ConfigError, RunConfig, StraatConfig, Timeouts, load_config
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.medmij.lists import ListCache
from validatiestraat.pki import TestPKI
from validatiestraat.probes import probe
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario
from validatiestraat.session import FHIR_ONLY_TAG, DvaSession, ManualLogin, print_manual_login
from validatiestraat.targets import check_config, open_session, straat_instructions

T = date(2026, 3, 1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def vendor(pki: TestPKI) -> Iterator[tuple[Straat, dict[str, str]]]:
    """The vendor's DVA, with the tokens it issued per patient for a preshared run."""
    store = load_builtin(T)
    tokens = {}
    for p in store.patients:
        tokens[p.id] = secrets.token_urlsafe(24)
        store.add_patient(replace(p, token=tokens[p.id]))
    with Straat(store, pki=pki, list_max_age=3600) as s:
        yield s, tokens


def vendor_reads_lists_of(vendor: Straat, stelselnode_origin: str) -> None:
    """Configure the vendor's DVA as a vendor does for a certification run: its OCL and Whitelist come from the
    harness's Stelselnode, fetched afresh on every request (so the list probes see their changes at once)."""
    lists = vendor.dva_lists
    lists.base_url = stelselnode_origin
    lists.cache = ListCache()
    lists.max_age = 0
    lists.invalidate()


def probes() -> list[tuple[Scenario, str | None]]:
    return [(s, v) for s in scenarios.load() if s.kind == "probe" for v in s.variants]


def cases() -> list[tuple[Scenario, str | None]]:
    """The first MP9 scenario of each building block, in JSON and XML."""
    chosen: dict[str, Scenario] = {}
    for s in scenarios.load():
        if s.kind == "mp9-search" and s.block not in chosen:
            chosen[s.block or ""] = s
    return [(s, v) for s in chosen.values() for v in s.variants]


def external_config(tmp_path: Path, vendor: Straat, pki: TestPKI, way: str, extra: str = "") -> RunConfig:
    o = vendor.origins
    client = pki.leaf("pgo.straat.test")
    path = tmp_path / f"{way}.toml"
    path.write_text(
        f"""
way = "{way}"
t = {T.isoformat()}
[target]
authorize_url = "{o["dva-front"]}/oauth/authorize"
token_url = "{o["dva-back"]}/oauth/token"
fhir_base = "{o["dva-back"]}/fhir"
provider = "straathuisarts@medmij"
resolve = {{ "dva.straat.test" = "127.0.0.1" }}
[client]
cert = "{client.cert}"
key = "{client.key}"
ca = "{pki.root_pem}"
[straat]
pki_dir = "{pki.directory}"
{extra}
""",
        "utf-8",
    )
    return load_config(path, env={})


def run_cases(session: DvaSession, chosen: list[tuple[Scenario, str | None]]) -> list[Result]:
    return [r for s, v in chosen for r in engine.run_case(session, s, v)]


def assert_all_good(results: list[Result]) -> None:
    bad = [(r.id, r.outcome, r.messages[:1]) for r in results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    assert not bad, bad
    assert any(r.outcome == Outcome.PASS for r in results)


def reference_config(pki: TestPKI, **changes: object) -> RunConfig:
    return replace(RunConfig(t=T, straat=StraatConfig(pki_dir=pki.directory)), **changes)  # type: ignore[arg-type]


# -- the reference DVA ----------------------------------------------------------------------------------------------
def test_reference_session_runs_a_search_case(pki: TestPKI) -> None:
    recorder = Recorder()
    with open_session(reference_config(pki), recorder=recorder) as session:
        results = run_cases(session, cases()[:2])
        assert session.meta == {
            "target": "reference",
            "provider": "straathuisarts@medmij",
            "way": "auto",
            "scope": "full",
            "t": T.isoformat(),
        }
        assert session.straat.auth.tokens  # the reference DVA issued the token
    assert_all_good(results)
    assert any(x.case.startswith("setup:token:") for x in recorder.exchanges)


def test_no_config_is_the_reference_straat(pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIDATIESTRAAT_PKI_DIR", str(pki.directory))
    with open_session(None, recorder=Recorder()) as session:
        assert session.target == "reference" and session.way == "auto"
        assert_all_good(run_cases(session, cases()[:1]))


def test_reference_preshared_run_is_fhir_only_and_skips_authorization_probes(pki: TestPKI) -> None:
    recorder = Recorder()
    with open_session(reference_config(pki, way="preshared"), recorder=recorder) as session:
        results = run_cases(session, cases()[:2])
        assert session.scope == "fhir-only" and session.meta["scope"] == "fhir-only"
        probe_results = engine.run_case(
            session, Scenario("probe.needs-code", "probe", "x", probe="none", checks=("oauth.code-single-use",)), None
        )
    assert_all_good(results)
    assert not any(x.case.startswith("setup:token:") for x in recorder.exchanges)  # no front channel at all
    assert probe_results and all(r.outcome == Outcome.SKIP for r in probe_results)
    assert all("preshared tokens (scope fhir-only)" in r.messages[0] for r in probe_results)


_RAN: list[str] = []


@probe("test.fhir-only")
async def _fhir_only_probe(session: DvaSession, scenario: Scenario, variant: str | None) -> dict:
    _RAN.append(session.way)
    return {}


def test_a_probe_tagged_fhir_only_still_runs_with_preshared_tokens(pki: TestPKI) -> None:
    scenario = Scenario(
        "probe.fhir-only", "probe", "x", probe="test.fhir-only", checks=("oauth.token-response",), tags=(FHIR_ONLY_TAG,)
    )
    with open_session(reference_config(pki, way="preshared"), recorder=Recorder()) as session:
        engine.run_case(session, scenario, None)
    assert _RAN == ["preshared"]


# -- an external DVA ------------------------------------------------------------------------------------------------
def test_external_dva_auto_way(tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]) -> None:
    vendor_straat, _ = vendor
    issued_before = len(vendor_straat.auth.tokens)
    config = external_config(tmp_path, vendor_straat, pki, "auto")
    recorder = Recorder()
    with open_session(config, recorder=recorder) as session:
        vendor_reads_lists_of(vendor_straat, session.straat.origins["stelselnode"])
        zal = session.straat.stelselnode.zal
        service = zal.service("straathuisarts@medmij", "990003")
        assert service is not None and service.token_uri == f"{vendor_straat.origins['dva-back']}/oauth/token"
        assert session.straat.stelselnode.whitelist.contains("dva.straat.test")
        results = run_cases(session, cases() + probes())  # MP9 searches and the OAuth, TLS and list probes
        assert not session.straat.auth.tokens and not session.straat.auth.codes  # the harness's own DVA: unused
        rows = dict(straat_instructions(session, config))
        assert rows["harness PGO client_id (OCL hostname)"] == "pgo.straat.test"
        assert rows["list MedMij_OAuthclientlist.xml"].startswith(session.straat.origins["stelselnode"])
    assert_all_good(results)
    assert len(vendor_straat.auth.tokens) > issued_before  # the vendor's DVA issued the tokens
    browsed = {x.url.split("?")[0] for x in recorder.exchanges if x.sender == "browser"}
    assert f"{vendor_straat.origins['digid']}/login" in browsed  # the vendor's own DigiD (stub), not the harness's
    searches = [x for x in recorder.exchanges if x.step == "search" and x.sender == "pgo"]
    assert searches and all(x.url.startswith(f"{vendor_straat.origins['dva-back']}/fhir/") for x in searches)


def test_external_dva_preshared_way(tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]) -> None:
    vendor_straat, tokens = vendor
    table = "\n".join(f'{pid} = "{tok}"' for pid, tok in tokens.items())
    config = external_config(tmp_path, vendor_straat, pki, "preshared", extra=f"[tokens]\n{table}")
    recorder = Recorder()
    with open_session(config, recorder=recorder) as session:
        vendor_reads_lists_of(vendor_straat, session.straat.origins["stelselnode"])
        results = run_cases(session, cases())
        probe_results = {s.id: engine.run_case(session, s, v) for s, v in probes()}
        assert session.meta["scope"] == "fhir-only" and session.meta["target"].startswith("https://dva.straat.test")
        assert set(tokens.values()) <= session.secrets
    assert_all_good(results)
    for scenario_id, found in probe_results.items():  # only the probes that need no authorization ran
        tagged = FHIR_ONLY_TAG in scenarios.by_id()[scenario_id].tags
        assert all((r.outcome == Outcome.SKIP) != tagged for r in found), (scenario_id, found)
        assert not any(r.outcome in (Outcome.FAIL, Outcome.ERROR) for r in found)
    assert not any(x.case.startswith("setup:token:") for x in recorder.exchanges)
    sent = {
        x.header("authorization", response=False)
        for x in recorder.exchanges
        if x.step == "search" and x.sender == "pgo"
    }
    assert sent and sent <= {f"Bearer {t}" for t in tokens.values()}


def test_external_dva_manual_way(tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]) -> None:
    vendor_straat, _ = vendor
    config = external_config(tmp_path, vendor_straat, pki, "manual")
    logins: list[ManualLogin] = []
    browsing: list[asyncio.Future] = []
    holder: list[DvaSession] = []

    def person_at_the_keyboard(login: ManualLogin) -> None:
        """Opens the printed URL in 'a browser' (the automatic user agent) and logs in as the named person."""
        logins.append(login)
        browsing.append(asyncio.ensure_future(holder[0].straat.user_agent(login.bsn)(login.authorize_url)))

    with open_session(config, recorder=Recorder(), prompt=person_at_the_keyboard) as session:
        vendor_reads_lists_of(vendor_straat, session.straat.origins["stelselnode"])
        holder.append(session)
        scenario, variant = cases()[0]
        results = engine.run_case(session, scenario, variant)
        assert scenario.patient in session.tokens
    assert_all_good(results)
    patient = session.dataset.patient(scenario.patient or "")
    assert patient is not None and [(x.patient_id, x.name, x.bsn) for x in logins] == [
        (patient.id, patient.name, patient.bsn)
    ]
    assert logins[0].authorize_url.startswith(f"{vendor_straat.origins['dva-front']}/oauth/authorize?")
    assert all(f.done() and f.exception() is None for f in browsing)


def test_manual_way_without_a_redirect_is_an_error_not_a_hang(
    tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]
) -> None:
    vendor_straat, _ = vendor
    config = replace(external_config(tmp_path, vendor_straat, pki, "manual"), timeouts=Timeouts(manual=0.3))
    shown: list[ManualLogin] = []
    with open_session(config, recorder=Recorder(), prompt=shown.append) as session:
        t0 = time.perf_counter()
        results = [r for s, v in cases()[:2] for r in engine.run_case(session, s, v)]  # one patient, two cases
        elapsed = time.perf_counter() - t0
        assert not session.straat.pgo.pending  # the abandoned flow is forgotten
    assert elapsed < 10
    assert len(shown) == 1 and results  # asked once: the second case does not wait again
    assert all(r.outcome == Outcome.ERROR for r in results)
    assert all("no redirect within 0.3 s" in r.messages[0] for r in results)


def test_the_default_manual_prompt_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    print_manual_login(ManualLogin("vs-patient-x", "Test Persoon", "999990001", "https://dva.example.nl/a?x=1", 60))
    out, err = capsys.readouterr()
    assert out == ""
    assert "Test Persoon" in err and "999990001" in err and "https://dva.example.nl/a?x=1" in err


# -- refusals ---------------------------------------------------------------------------------------------------
def test_a_client_certificate_for_another_host_is_refused(
    tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]
) -> None:
    other = pki.leaf("elders.straat.test")
    config = external_config(tmp_path, vendor[0], pki, "auto")
    config = replace(config, client=replace(config.client, cert=other.cert, key=other.key))
    with pytest.raises(ConfigError, match=r"does not carry the DNS name pgo\.straat\.test"):
        check_config(config)  # before anything starts: the CLI makes it a usage error
    with pytest.raises(ConfigError, match=r"does not carry the DNS name pgo\.straat\.test"):
        open_session(config, recorder=Recorder()).__enter__()


def test_faults_do_not_apply_to_an_external_dva(
    tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]
) -> None:
    config = external_config(tmp_path, vendor[0], pki, "auto")
    with pytest.raises(ConfigError, match="not with an external target"):
        check_config(config, frozenset({"dva.no_self_link"}))
    with pytest.raises(ConfigError, match="not with an external target"):
        open_session(config, faults=frozenset({"dva.no_self_link"}), recorder=Recorder()).__enter__()


def test_preshared_tokens_for_unknown_patients_are_refused(
    tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]
) -> None:
    config = external_config(tmp_path, vendor[0], pki, "preshared", extra='[tokens]\nnobody = "x"')
    with pytest.raises(ConfigError, match="unknown patient id"):
        check_config(config)
    with pytest.raises(ConfigError, match="unknown patient id"):
        open_session(config, recorder=Recorder()).__enter__()


# -- the command line, as the vendor types it -----------------------------------------------------------------------
def test_cli_run_certifies_an_external_dva_from_a_config_file(
    tmp_path: Path, pki: TestPKI, vendor: tuple[Straat, dict[str, str]]
) -> None:
    """``validatiestraat run --config dva.toml``: the Stelselnode's port is pinned in the config, so that the
    vendor's DVA can be pointed at the harness's lists before the run starts."""
    from validatiestraat.serve import bind

    vendor_straat, _ = vendor
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()
    vendor_reads_lists_of(vendor_straat, f"https://stelselnode.straat.test:{port}")
    config = external_config(tmp_path, vendor_straat, pki, "auto", extra=f"ports = {{ stelselnode = {port} }}")
    del config  # written to tmp_path/auto.toml and checked by load_config
    args = ["run", "--config", str(tmp_path / "auto.toml"), "--report-dir", str(tmp_path / "r")]
    selection = ["-s", "MA-0.1", "-s", "OAUTH-code-reuse", "-s", "TLS-whitelist"]
    done = subprocess.run(
        [sys.executable, "-m", "validatiestraat", *args, *selection],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (results,) = (tmp_path / "r").glob("*/results.json")
    text = results.read_text("utf-8")
    assert vendor_straat.origins["dva-back"] in text and '"scope": "full"' in text
    assert all(p.bsn not in text for p in vendor_straat.store.patients)
    assert json.loads(text)
