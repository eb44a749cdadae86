"""The ``validatiestraat`` command: thin, it parses, calls the straat and prints with rich."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from validatiestraat.cli_dataset import dataset_app
from validatiestraat.cli_run import faults_command, run_command
from validatiestraat.cli_validate import packages_app, validate_command

if TYPE_CHECKING:
    from validatiestraat.fhir.store import Store

console = Console()
app = typer.Typer(no_args_is_help=True, add_completion=False, help="MedMij conformance and certification harness.")
straat_app = typer.Typer(no_args_is_help=True, help="The built-in straat: every MedMij party, locally, over TLS.")
app.add_typer(straat_app, name="straat")
app.add_typer(dataset_app, name="dataset")
app.command("run")(run_command)
app.command("faults")(faults_command)
app.command("validate")(validate_command)
app.add_typer(packages_app, name="packages")

DateT = Annotated[str | None, typer.Option("--t", help="Date T of the dataset (YYYY-MM-DD); default today.")]
Dataset = Annotated[str, typer.Option(help="'builtin' (the project's own MP9 dataset) or 'nictiz'.")]
NictizDir = Annotated[
    Path | None, typer.Option(help="Folder of the Nictiz MP9 MedMij Cert fixtures (with --dataset nictiz).")
]
NictizTokens = Annotated[Path | None, typer.Option(help="QualificationTokens.json (with --dataset nictiz).")]
PkiDir = Annotated[Path | None, typer.Option(help="Where the test PKI lives (default: the user cache).")]


def _load_store(dataset: str, t: str | None, nictiz_dir: Path | None, nictiz_tokens: Path | None) -> Store:
    day = date.fromisoformat(t) if t else date.today()
    if dataset == "builtin":
        from mock_providers.his.dataset import load_builtin

        return load_builtin(day)
    if dataset == "nictiz":
        if nictiz_dir is None or nictiz_tokens is None:
            raise typer.BadParameter("--dataset nictiz needs --nictiz-dir and --nictiz-tokens")
        from mock_providers.his.nictiz import load_nictiz

        return load_nictiz(nictiz_dir, nictiz_tokens, day)
    raise typer.BadParameter(f"unknown dataset {dataset!r}: use 'builtin' or 'nictiz'")


@straat_app.command("up")
def straat_up(
    t: DateT = None,
    dataset: Dataset = "builtin",
    nictiz_dir: NictizDir = None,
    nictiz_tokens: NictizTokens = None,
    pki_dir: PkiDir = None,
) -> None:
    """Start every party, print one line per endpoint, run until Ctrl-C."""
    from mock_providers.straat import Straat
    from validatiestraat.pki import TestPKI

    store = _load_store(dataset, t, nictiz_dir, nictiz_tokens)
    straat = Straat(store, pki=TestPKI(pki_dir)).start()
    try:
        table = Table(title="validatiestraat — the straat is up (Ctrl-C stops it)")
        for column in ("party", "URL", "what"):
            table.add_column(column)
        for e in straat.endpoints():
            table.add_row(e.party, e.url, e.what)
        console.print(table)
        ports = " ".join(f"--resolve {lst.hostname}:{lst.port}:{lst.address}" for lst in straat.listeners.values())
        console.print(f"Trust anchor: {straat.pki.root_pem}")
        console.print(f"Every *.straat.test name is loopback; with curl: {ports} --cacert {straat.pki.root_pem}")
        console.print(f"Backchannel client certificate for the PGO: {straat.pki.leaf('pgo.straat.test').cert}")
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopping the straat …")
    finally:
        straat.stop()
    console.print("stopped.")


@straat_app.command("collect")
def straat_collect(
    t: DateT = None,
    dataset: Dataset = "builtin",
    nictiz_dir: NictizDir = None,
    nictiz_tokens: NictizTokens = None,
    pki_dir: PkiDir = None,
) -> None:
    """Start the straat and run the reference PGO's collect flow for every test patient, in JSON and XML."""
    from mock_providers.pgo.client import PGOError
    from mock_providers.straat import Straat
    from validatiestraat.medmij.mp9 import BLOCKS
    from validatiestraat.pki import TestPKI

    store = _load_store(dataset, t, nictiz_dir, nictiz_tokens)
    table = Table(title="Collect flow per test patient (resources per block: JSON / XML)")
    table.add_column("patient")
    for block in BLOCKS:
        table.add_column(block.code, justify="right")
    table.add_column("result")
    failures = 0
    with Straat(store, pki=TestPKI(pki_dir)) as straat:
        for patient in store.patients:
            try:
                collection = straat.run(straat.collect(patient.bsn, formats=("json", "xml")))
            except PGOError as exc:
                failures += 1
                table.add_row(patient.name, *[""] * len(BLOCKS), f"[red]{exc}")
                continue
            cells, same = [], True
            for block in BLOCKS:
                by_fmt = {r.fmt: r for r in collection.results if r.block is block}
                counts = [_count(by_fmt[f].bundle) for f in ("json", "xml")]
                same &= by_fmt["json"].bundle == by_fmt["xml"].bundle and all(r.status == 200 for r in by_fmt.values())
                cells.append(f"{counts[0]}/{counts[1]}")
            failures += not same
            table.add_row(patient.name, *cells, "[green]ok" if same else "[red]JSON and XML differ")
    console.print(table)
    raise typer.Exit(1 if failures else 0)


def _count(bundle: dict | None) -> str:
    if bundle is None:
        return "-"
    return str(sum(1 for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"))


def main() -> None:
    app()
