"""``validatiestraat validate`` (native FHIR profile validation) and ``validatiestraat packages``.

Exit codes of ``validate``: 0 no file has an error, 1 some file has one, 2 usage, 4 the packages cannot be loaded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

EXIT_INVALID = 1
EXIT_ENVIRONMENT = 4

packages_app = typer.Typer(no_args_is_help=True, help="FHIR packages: the caches the validator reads.")

PackageDirs = Annotated[
    list[Path] | None,
    typer.Option("--packages", help="A FHIR package cache folder to search first (repeatable)."),
]


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".xml"))
        else:
            yield path


def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (JSON and XML; folders recursively).")],
    profile: Annotated[
        list[str] | None, typer.Option("--profile", help="Also validate against this profile URL (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json (one JSON line per file).")] = "text",
    package_dirs: PackageDirs = None,
    hl7_offline: Annotated[
        bool,
        typer.Option(
            "--hl7-offline",
            help="Judge codes that cannot be checked without a terminology server as HL7 validator 6.0.21 does with "
            "-tx n/a (errors), instead of as warnings.",
        ),
    ] = False,
) -> None:
    """Validate FHIR resources against base R4 and their profiles (meta.profile and --profile), natively."""
    from validatiestraat.fhir.defaults import load_validator
    from validatiestraat.fhir.packages import PackageError
    from validatiestraat.fhir.validator import Issue, counts

    if fmt not in ("text", "json"):
        typer.echo(f"--format must be text or json, not {fmt!r}", err=True)
        raise typer.Exit(2)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        typer.echo(f"no such file or folder: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    try:
        validator = load_validator(package_dirs, hl7_offline=hl7_offline)
    except PackageError as exc:
        typer.echo(f"cannot load the FHIR packages: {exc}", err=True)
        raise typer.Exit(EXIT_ENVIRONMENT) from exc
    failed = total = 0
    out = sys.stdout
    for path in _files(paths):
        total += 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            issues = [Issue("error", "(file)", f"cannot read the file: {exc}", "input.read")]
        else:
            try:
                issues = validator.validate_bytes(data, str(path), profile or ())
            except Exception as exc:  # a validator bug must not hide the other files' verdicts
                issues = [Issue("error", "(file)", f"validator error: {type(exc).__name__}: {exc}", "validator.crash")]
        errors, warnings = counts(issues)
        failed += errors > 0
        if fmt == "json":
            line = {
                "file": str(path),
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "issues": [i.as_dict() for i in issues],
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            verdict = "FAIL" if errors else "PASS"
            out.write(f"{verdict} {path}: {errors} errors, {warnings} warnings\n")
            for i in issues:
                if i.severity in ("fatal", "error", "warning"):
                    out.write(f"  {i.severity:7} {i.location}: {i.message} [{i.rule}]\n")
    if fmt == "text":
        out.write(f"{total} files, {total - failed} valid, {failed} with errors\n")
    raise typer.Exit(EXIT_INVALID if failed else 0)


@packages_app.command("list")
def packages_list(package_dirs: PackageDirs = None) -> None:
    """The packages in the caches the validator searches, and which the default validation loads."""
    from validatiestraat.fhir.defaults import DEFAULT_ROOTS, load_packages
    from validatiestraat.fhir.packages import PackageError, available, search_dirs

    dirs = search_dirs(package_dirs or ())
    for d in dirs:
        typer.echo(f"cache {d}")
    for _, versions in sorted(available(dirs).items()):
        for p in versions:
            typer.echo(f"  {p.key}  ({p.folder.parent.parent})")
    try:
        loaded = load_packages(package_dirs, DEFAULT_ROOTS)
    except PackageError as exc:
        typer.echo(f"the default validation cannot load its packages: {exc}", err=True)
        raise typer.Exit(EXIT_ENVIRONMENT) from exc
    typer.echo("loaded by default: " + ", ".join(p.key for p in loaded.packages))
    for m in loaded.missing:
        typer.echo(f"missing dependency: {m}")


@packages_app.command("install")
def packages_install(
    source: Annotated[Path, typer.Argument(help="A package .tgz or a folder holding package/package.json.")],
    into: Annotated[Path | None, typer.Option(help="The cache to install into (default ~/.fhir/packages).")] = None,
) -> None:
    """Put a FHIR package into a cache as <id>#<version>."""
    from validatiestraat.fhir.packages import PackageError, install

    try:
        package = install(source, into)
    except PackageError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"installed {package.key} in {package.folder.parent}")
