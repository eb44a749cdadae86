"""``validatiestraat run`` as a user types it: exit codes 0/3/4/2, complete reports, and classified results
(error vs fail) when the target refuses connections, never answers, or answers garbage — never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.redact import harvest
from validatiestraat.pki import TestPKI
from validatiestraat.reports.scan import scan
from validatiestraat.serve import Listener, ServerGroup, bind
from validatiestraat.tls import server_context

HOST = "dva.vendor.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


def run(tmp_path: Path, pki: TestPKI, *args: str, timeout: float = 240) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "validatiestraat",
            "run",
            "--report-dir",
            str(out),
            "--pki-dir",
            str(pki.directory),
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=timeout,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done, out


def report(out: Path) -> tuple[dict, Path]:
    (results,) = out.glob("*/results.json")
    data = json.loads(results.read_text("utf-8"))
    folder = results.parent
    for part in ("junit.xml", "allure-results", "evidence/exchanges.jsonl", "evidence/manifest.json"):
        assert (folder / part).exists(), f"the report lacks {part}"
    return data, folder


def outcomes(data: dict) -> set[str]:
    return {r["outcome"] for r in data["results"]}


def no_secret_leaks(folder: Path) -> None:
    """Every code, token, session id and BSN the run's raw exchanges reveal: none may be in the report."""
    exchanges = [Exchange.from_json(json.loads(line)) for line in (folder / "evidence/exchanges.jsonl").open()]
    assert exchanges
    from mock_providers.his.dataset import load_builtin

    bsns = {p.bsn for p in load_builtin(__import__("datetime").date.today()).patients}
    assert scan(folder, set(harvest(exchanges, bsns))) == []


def test_the_reference_dva_certifies_with_a_complete_clean_report(tmp_path: Path, pki: TestPKI) -> None:
    done, out = run(tmp_path, pki, "-s", "MA-0.1", "-s", "VV-1", "-s", "OAUTH-code-reuse", "-s", "TLS-whitelist")
    assert done.returncode == 0, done.stdout + done.stderr
    data, folder = report(out)
    assert data["verdict"] == "certified" and data["exit_code"] == 0
    assert "fail" not in outcomes(data) and "error" not in outcomes(data)
    cases = {r["case"] for r in data["results"]}
    assert {"MA-0.1[json]", "MA-0.1[xml]", "VV-1[json]", "VV-1[xml]", "OAUTH-code-reuse"} <= cases
    assert all(r["exchanges"] for r in data["results"] if r["outcome"] in ("pass", "fail"))
    no_secret_leaks(folder)
    assert "CERTIFIED" in done.stdout


def test_a_fault_does_not_certify_and_names_its_requirement(tmp_path: Path, pki: TestPKI) -> None:
    done, out = run(tmp_path, pki, "--fault", "dva.no_self_link", "-s", "MA-0.1")
    assert done.returncode == 3, done.stdout + done.stderr
    data, _ = report(out)
    assert data["verdict"] == "not certified"
    failed = {q for r in data["results"] if r["outcome"] == "fail" for q in r["requirements"]}
    assert "nictiz.mp9.self-link" in failed


@pytest.mark.parametrize(
    "args",
    [["--fault", "dva.no_such_fault"], ["--role", "pgo"], ["-s", "NO-SUCH-SCENARIO"], ["--way", "sideways"]],
)
def test_usage_errors_exit_2(tmp_path: Path, pki: TestPKI, args: list[str]) -> None:
    done, out = run(tmp_path, pki, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not out.exists()


def test_the_fault_catalogue_lists_at_least_25_faults_with_their_requirement() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "validatiestraat", "faults"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
    )
    assert done.returncode == 0
    rows = [line for line in done.stdout.splitlines() if "dva." in line]
    assert len(rows) >= 25
    assert all(("nictiz." in r or "medmij." in r or "validatiestraat." in r or "fhir." in r) for r in rows)


# -- targets that misbehave at the transport level or answer garbage ---------------------------------------------
def config_for(tmp_path: Path, pki: TestPKI, port: int, *, way: str = "auto", request_timeout: float = 2.0) -> Path:
    client = pki.leaf("pgo.straat.test")
    tokens = "\n".join(
        f'{pid} = "garbage-token-{i}"' for i, pid in enumerate(("vs-patient-verhoeven", "vs-patient-brouwer"))
    )
    path = tmp_path / "target.toml"
    path.write_text(
        f"""
way = "{way}"
[target]
authorize_url = "https://{HOST}:{port}/oauth/authorize"
token_url = "https://{HOST}:{port}/oauth/token"
fhir_base = "https://{HOST}:{port}/fhir"
provider = "vendorpraktijk@medmij"
resolve = {{ "{HOST}" = "127.0.0.1" }}
[client]
cert = "{client.cert}"
key = "{client.key}"
ca = "{pki.root_pem}"
[timeouts]
request = {request_timeout}
[tokens]
{tokens if way == "preshared" else ""}
""",
        "utf-8",
    )
    return path


def test_a_target_that_refuses_connections_gives_errors_not_failures(tmp_path: Path, pki: TestPKI) -> None:
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    done, out = run(tmp_path, pki, "--config", str(config_for(tmp_path, pki, port)), "-s", "MA-0.1", "-s", "OAUTH")
    assert done.returncode == 4, done.stdout + done.stderr
    data, _ = report(out)
    assert data["verdict"] == "incomplete"
    assert "error" in outcomes(data) and "fail" not in outcomes(data)


def test_a_target_that_never_answers_times_out_into_errors(tmp_path: Path, pki: TestPKI) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts TCP in the backlog, never speaks TLS
    try:
        port = silent.getsockname()[1]
        config = config_for(tmp_path, pki, port, way="preshared", request_timeout=1.0)
        done, out = run(tmp_path, pki, "--config", str(config), "-s", "MA-0.1", "-s", "MA-1")
    finally:
        silent.close()
    assert done.returncode == 4, done.stdout + done.stderr
    data, _ = report(out)
    assert "error" in outcomes(data) and "fail" not in outcomes(data)
    assert any("Timeout" in m for r in data["results"] for m in r["messages"])


@pytest.fixture
def garbage_dva(pki: TestPKI) -> Iterator[int]:
    """A TLS server that answers every request with 200 and a body that is no FHIR at all."""

    async def garbage(request: Request) -> Response:
        return Response(b"\x00\x01<<not fhir>>{", status_code=200, media_type="application/fhir+json")

    app = Starlette(routes=[Route("/{path:path}", garbage, methods=["GET", "POST"])])
    listener = Listener("garbage", HOST, app, server_context(pki.leaf(HOST), pki.root_pem, client_cert="optional"))
    group = ServerGroup([listener])
    group.start()
    try:
        yield listener.port
    finally:
        group.stop()


def test_a_target_that_answers_garbage_fails_with_classified_results(
    tmp_path: Path, pki: TestPKI, garbage_dva: int
) -> None:
    config = config_for(tmp_path, pki, garbage_dva, way="preshared")
    done, out = run(tmp_path, pki, "--config", str(config), "-s", "MA-0.1", "-s", "MA-1")
    assert done.returncode == 3, done.stdout + done.stderr
    data, _ = report(out)
    failed = {r["check"] for r in data["results"] if r["outcome"] == "fail"}
    assert {"search.searchset", "fhir.well-formed"} <= failed
    assert "error" not in outcomes(data)
