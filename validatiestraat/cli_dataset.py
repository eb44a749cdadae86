"""``validatiestraat dataset export`` and ``validatiestraat dataset load``: the project's MP9 dataset for a
vendor's DVA (see docs/certify-external-dva.md).

Exit codes: 0 done; 1 the target refused one or more resources; 2 usage error; 4 the target could not be
reached (connection, TLS, timeout).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err = Console(stderr=True)
dataset_app = typer.Typer(
    no_args_is_help=True, help="The project's own MP9 dataset: export it as files, load it into a DVA under test."
)

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 4

DateT = Annotated[
    str | None, typer.Option("--t", help="Date T the dataset's relative dates are expanded at (YYYY-MM-DD).")
]
Fmt = Annotated[str, typer.Option("--format", help="json or xml.")]


def _day(t: str | None, fallback: date | None = None) -> date:
    if t is None:
        return fallback or date.today()
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise typer.BadParameter(f"{t!r} is not a date YYYY-MM-DD", param_hint="--t") from None


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise typer.BadParameter(f"{fmt!r}: use json or xml", param_hint="--format")
    return fmt


@dataset_app.command("export", short_help="Write the dataset at T: resources, transaction Bundle, test persons.")
def export(
    t: DateT = None,
    fmt: Fmt = "json",
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for resources/, the transaction Bundle and patients.json (default ./mp9-dataset-T)."),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="Write only the transaction Bundle to this file (patients file beside it).")
    ] = None,
) -> None:
    """Export the dataset expanded at T: one file per resource, a transaction Bundle (PUT Type/id, ids kept)
    and the test persons (name, fake BSN, Patient id) to map DigiD test logins."""
    from mock_providers.his.dataset import load_builtin
    from validatiestraat.dataset_io import export_dataset

    day = _day(t)
    if out is not None and bundle is not None:
        raise typer.BadParameter("give --out or --bundle, not both")
    if out is None and bundle is None:
        out = Path(f"mp9-dataset-{day.isoformat()}")
    store = load_builtin(day)
    done = export_dataset(store, day, _fmt(fmt), out_dir=out, bundle_file=bundle)  # type: ignore[arg-type]
    if done.resources:
        console.print(f"{len(done.resources)} resources in {done.resources[0].parent}")
    console.print(f"transaction Bundle ({len(store)} PUT entries): {done.bundle}")
    console.print(f"test persons (fake BSNs, for the DigiD test logins): {done.patients}")
    console.print(f"date T = {day.isoformat()}: certify with the same T (--t {day.isoformat()} or t = in the config)")


@dataset_app.command("load", short_help="Load the dataset at T into a DVA's FHIR server; per-resource status.")
def load(
    target: Annotated[
        str | None, typer.Option(help="FHIR base URL of the DVA to load (default: target.fhir_base of --config).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="The run's config (target, client certificate, T).")] = None,
    t: DateT = None,
    fmt: Fmt = "json",
    cert: Annotated[Path | None, typer.Option(help="Client certificate chain (PEM) for mutual TLS.")] = None,
    key: Annotated[Path | None, typer.Option(help="Its private key (PEM).")] = None,
    ca: Annotated[Path | None, typer.Option(help="CA bundle to verify the server (default: the system's).")] = None,
    per_resource: Annotated[bool, typer.Option(help="PUT each resource instead of one transaction.")] = False,
    header: Annotated[
        list[str] | None, typer.Option(help="Extra request header 'Name: value' (repeatable), e.g. authorization.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 120.0,
) -> None:
    """Load the dataset (expanded at T) into a FHIR server: one transaction Bundle POSTed to the base, or a PUT
    per resource. Prints each resource's status; exits 1 when any was not stored."""
    import asyncio
    import ssl

    import httpx

    from mock_providers.his.dataset import load_builtin
    from validatiestraat import net
    from validatiestraat.config import ConfigError, load_config
    from validatiestraat.dataset_io import load_dataset

    run_config = None
    if config is not None:
        try:
            run_config = load_config(config, target=target)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--config") from exc
    base = target or (run_config.target.fhir_base if run_config and run_config.target else None)
    if not base:
        raise typer.BadParameter("give --target FHIR_BASE (or a --config with target.fhir_base)")
    if not base.startswith("https://"):
        raise typer.BadParameter(f"{base!r} is not an https:// URL", param_hint="--target")
    if (cert is None) != (key is None):
        raise typer.BadParameter("--cert and --key go together")
    client_cfg = run_config.client if run_config else None
    cert = cert or (client_cfg.cert if client_cfg else None)
    key = key or (client_cfg.key if client_cfg else None)
    ca = ca or (client_cfg.ca if client_cfg else None)
    if run_config is not None and run_config.client.ca is None and ca is None:  # a config's default: the straat PKI
        from validatiestraat.pki import TestPKI

        ca = TestPKI(run_config.straat.pki_dir).root_pem
    headers = {}
    for h in header or ():
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"a header is 'Name: value', got {name!r}…", param_hint="--header")
        headers[name.strip()] = value.strip()
    day = _day(t, run_config.t if run_config else None)

    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert is not None and key is not None:
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise typer.BadParameter(f"cannot use the TLS files: {exc}") from exc
    resolve = dict(run_config.target.resolve) if run_config and run_config.target else {}
    store = load_builtin(day)

    async def go() -> list:
        async with net.client(context, resolve, timeout=httpx.Timeout(timeout, connect=10.0)) as client:
            return await load_dataset(
                client,
                base,
                store,
                _fmt(fmt),
                per_resource=per_resource,
                headers=headers,  # type: ignore[arg-type]
            )

    try:
        rows = asyncio.run(go())
    except httpx.TransportError as exc:
        err.print(f"[magenta]cannot reach {escape(base)}: {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(EXIT_UNREACHABLE) from None
    failed = [r for r in rows if not r.ok]
    table = Table(title=f"Loading the MP9 dataset (T = {day.isoformat()}) into {base}")
    for column in ("resource", "status", "result"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            escape(r.resource), str(r.status or "-"), "[green]stored" if r.ok else f"[red]{escape(r.message)}"
        )
    console.print(table)
    console.print(
        f"{len(rows) - len(failed)}/{len(rows)} resources stored ({'PUT each' if per_resource else 'one transaction'})"
    )
    if failed:
        raise typer.Exit(EXIT_REFUSED)
