"""``validatiestraat dataset export`` and ``dataset load``: the dataset as files, and loaded over real HTTPS
(mutual TLS, test PKI) into a small FHIR sink served by the straat's own server group."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from mock_providers.his.dataset import load_builtin
from validatiestraat.cli import app
from validatiestraat.dataset_io import export_dataset, ordered_resources, transaction_bundle
from validatiestraat.fhir.formats import dumps, from_json, from_xml, media_type
from validatiestraat.fhir.store import Store, _references, reference_key
from validatiestraat.pki import TestPKI
from validatiestraat.serve import Listener, ServerGroup
from validatiestraat.tls import server_context, tls_of

T = date(2026, 3, 1)
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns when not on a terminal; the assertions read whole table cells."""
    from rich.console import Console

    from validatiestraat import cli_dataset

    monkeypatch.setattr(cli_dataset, "console", Console(width=250))
    monkeypatch.setattr(cli_dataset, "err", Console(width=250, stderr=True))


@pytest.fixture(scope="module")
def store() -> Store:
    return load_builtin(T)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


# -- a FHIR sink: stores what it is given, refuses what it is told to refuse -------------------------------------
@dataclass
class Sink:
    stored: dict[str, dict] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)  # Type/id keys answered 422
    clients: list[str] = field(default_factory=list)  # DNS names of the TLS client certificates seen
    calls: list[str] = field(default_factory=list)  # "POST /fhir", "PUT /fhir/Patient/x", ...


def _outcome(text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": text}],
    }


def sink_app(sink: Sink) -> Starlette:
    def parse(request_body: bytes, content_type: str) -> dict:
        return from_xml(request_body) if "xml" in content_type else from_json(request_body)

    def answer(resource: dict, status: int, content_type: str) -> Response:
        fmt = "xml" if "xml" in content_type else "json"
        return Response(dumps(resource, fmt), status_code=status, media_type=media_type(fmt))

    def seen(request: Request) -> None:
        sink.clients.extend((tls_of(request.scope) or {}).get("client_cert_dns_names", []))
        sink.calls.append(f"{request.method} {request.url.path}")

    async def transaction(request: Request) -> Response:
        seen(request)
        ctype = request.headers.get("content-type", "")
        bundle = parse(await request.body(), ctype)
        if bundle.get("type") != "transaction":
            return answer(_outcome("not a transaction"), 400, ctype)
        keys = [e["request"]["url"] for e in bundle["entry"]]
        refused = [k for k in keys if k in sink.refuse]
        if refused:  # a transaction is atomic: all or nothing
            return answer(_outcome(f"{refused[0]}: patient 999950010 is not allowed here"), 422, ctype)
        entries = []
        for e in bundle["entry"]:
            assert e["request"]["method"] == "PUT"
            sink.stored[e["request"]["url"]] = e["resource"]
            entries.append({"response": {"status": "201 Created", "location": e["request"]["url"] + "/_history/1"}})
        return answer({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}, 200, ctype)

    async def put(request: Request) -> Response:
        seen(request)
        ctype = request.headers.get("content-type", "")
        key = f"{request.path_params['rtype']}/{request.path_params['rid']}"
        if key in sink.refuse:
            return answer(_outcome(f"{key} refused for BSN 999950101"), 422, ctype)
        resource = parse(await request.body(), ctype)
        assert f"{resource['resourceType']}/{resource['id']}" == key
        sink.stored[key] = resource
        return answer(resource, 201, ctype)

    return Starlette(
        routes=[
            Route("/fhir", transaction, methods=["POST"]),
            Route("/fhir/{rtype}/{rid}", put, methods=["PUT"]),
        ]
    )


@pytest.fixture
def sink(pki: TestPKI) -> Iterator[tuple[Sink, str]]:
    state = Sink()
    listener = Listener(
        "sink",
        "localhost",
        sink_app(state),
        server_context(pki.leaf("localhost"), pki.root_pem, client_cert="required"),
    )
    group = ServerGroup([listener])
    group.start()
    try:
        yield state, f"https://localhost:{listener.port}/fhir"
    finally:
        group.stop()


def tls_args(pki: TestPKI) -> list[str]:
    client = pki.leaf("pgo.straat.test")
    return ["--cert", str(client.cert), "--key", str(client.key), "--ca", str(pki.root_pem)]


# -- building ---------------------------------------------------------------------------------------------------
def test_every_resource_comes_after_what_it_references(store: Store) -> None:
    ordered = ordered_resources(store)
    assert len(ordered) == len(store)
    position = {(r["resourceType"], r["id"]): i for i, r in enumerate(ordered)}
    for i, r in enumerate(ordered):
        for ref in _references(r):
            key = reference_key(ref)
            if key in position and key != (r["resourceType"], r["id"]):
                assert position[key] < i, f"{r['resourceType']}/{r['id']} comes before {key}"


def test_transaction_bundle_puts_every_resource_at_its_own_id(store: Store) -> None:
    bundle = transaction_bundle(ordered_resources(store))
    assert bundle["type"] == "transaction"
    urls = [e["request"]["url"] for e in bundle["entry"]]
    assert {e["request"]["method"] for e in bundle["entry"]} == {"PUT"}
    assert sorted(urls) == sorted(f"{r['resourceType']}/{r['id']}" for r in store.all())
    assert all(e["resource"] is store.get(*e["request"]["url"].split("/")) for e in bundle["entry"])


# -- export -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_export_writes_resources_bundle_and_patients(tmp_path: Path, fmt: str) -> None:
    result = runner.invoke(app, ["dataset", "export", "--t", T.isoformat(), "--format", fmt, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    store = load_builtin(T)
    files = sorted((tmp_path / "resources").glob(f"*.{fmt}"))
    assert len(files) == len(store)
    parse = from_xml if fmt == "xml" else from_json
    for path in files:
        resource = parse(path.read_bytes())
        assert resource == store.get(resource["resourceType"], resource["id"]), path.name
    bundle = parse((tmp_path / f"transaction-bundle.{fmt}").read_bytes())
    assert bundle == transaction_bundle(ordered_resources(store))
    patients = json.loads((tmp_path / "patients.json").read_text("utf-8"))
    assert patients["t"] == T.isoformat()
    assert [(p["id"], p["name"], p["bsn"]) for p in patients["patients"]] == [
        (p.id, p.name, p.bsn) for p in store.patients
    ]
    assert "fake" in patients["note"]


def test_export_of_the_bundle_alone_puts_the_patients_beside_it(tmp_path: Path, store: Store) -> None:
    done = export_dataset(store, T, "json", bundle_file=tmp_path / "out" / "mp9.json")
    assert done.bundle == tmp_path / "out" / "mp9.json" and done.bundle.exists()
    assert done.patients == tmp_path / "out" / "mp9.patients.json" and done.patients.exists()
    assert not done.resources


def test_export_refuses_both_out_and_bundle(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dataset", "export", "--out", str(tmp_path), "--bundle", str(tmp_path / "b.json")])
    assert result.exit_code == 2


# -- load -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_load_posts_one_transaction_over_mutual_tls(sink: tuple[Sink, str], pki: TestPKI, fmt: str) -> None:
    state, base = sink
    result = runner.invoke(
        app, ["dataset", "load", "--target", base, "--t", T.isoformat(), "--format", fmt, *tls_args(pki)]
    )
    assert result.exit_code == 0, result.output
    store = load_builtin(T)
    assert state.calls == ["POST /fhir"]
    assert state.clients == ["pgo.straat.test"]
    assert state.stored == {f"{r['resourceType']}/{r['id']}": r for r in store.all()}
    assert f"{len(store)}/{len(store)} resources stored" in result.output


def test_load_per_resource_puts_each_and_reports_refusals_without_bsns(sink: tuple[Sink, str], pki: TestPKI) -> None:
    state, base = sink
    state.refuse = {"Patient/vs-patient-brouwer"}
    result = runner.invoke(
        app, ["dataset", "load", "--target", base, "--t", T.isoformat(), "--per-resource", *tls_args(pki)]
    )
    assert result.exit_code == 1, result.output
    store = load_builtin(T)
    assert len(state.calls) == len(store) and all(c.startswith("PUT /fhir/") for c in state.calls)
    assert len(state.stored) == len(store) - 1
    assert f"{len(store) - 1}/{len(store)} resources stored" in result.output
    assert "Patient/vs-patient-brouwer refused for BSN [bsn]" in result.output
    assert all(p.bsn not in result.output for p in store.patients)


def test_a_refused_transaction_fails_every_resource(sink: tuple[Sink, str], pki: TestPKI) -> None:
    state, base = sink
    state.refuse = {_keys()[-1]}
    result = runner.invoke(app, ["dataset", "load", "--target", base, "--t", T.isoformat(), *tls_args(pki)])
    assert result.exit_code == 1, result.output
    assert state.stored == {}
    assert "0/" in result.output
    assert "999950010" not in result.output


def _keys() -> list[str]:
    return [f"{r['resourceType']}/{r['id']}" for r in ordered_resources(load_builtin(T))]


def test_load_reads_target_tls_and_t_from_the_config(sink: tuple[Sink, str], pki: TestPKI, tmp_path: Path) -> None:
    state, base = sink
    port = base.split(":")[2].split("/")[0]
    client = pki.leaf("pgo.straat.test")
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
way = "preshared"
t = {T.isoformat()}
[target]
fhir_base = "https://fhir.sink.test:{port}/fhir"
resolve = {{ "fhir.sink.test" = "127.0.0.1" }}
[client]
cert = "{client.cert}"
key = "{client.key}"
[tokens]
vs-patient-verhoeven = "t1"
[straat]
pki_dir = "{pki.directory}"
""",
        "utf-8",
    )
    # the sink's certificate names localhost, not fhir.sink.test: a name mismatch is a TLS failure (exit 4) ...
    result = runner.invoke(app, ["dataset", "load", "--config", str(config)])
    assert result.exit_code == 4, result.output
    assert state.stored == {}
    # ... and with the right name (resolved by the config, not by DNS) it loads
    config.write_text(config.read_text("utf-8").replace("fhir.sink.test", "localhost"), "utf-8")
    result = runner.invoke(app, ["dataset", "load", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(state.stored) == len(load_builtin(T))


def test_load_of_an_unreachable_target_is_an_environment_error(pki: TestPKI) -> None:
    from validatiestraat.serve import bind

    sock = bind()  # a port that is bound but never accepts TLS: closed at once
    port = sock.getsockname()[1]
    sock.close()
    result = runner.invoke(app, ["dataset", "load", "--target", f"https://localhost:{port}/fhir", *tls_args(pki)])
    assert result.exit_code == 4, result.output
    assert "cannot reach" in result.output


def test_load_needs_a_target() -> None:
    result = runner.invoke(app, ["dataset", "load"])
    assert result.exit_code == 2
