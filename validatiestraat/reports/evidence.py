"""The evidence folder of a report and its tamper check.

``evidence/exchanges.jsonl`` holds one redacted exchange per line (:meth:`Exchange.to_json`), in recording
order; the results cite them by id. ``evidence/manifest.json`` holds the SHA-256 of every other file under
``reports/<run-id>/``; it is written last, so a report with a manifest is complete, and :func:`verify` tells
whether any file changed, went missing or was added since.

Every file is written to a temporary name beside it and renamed into place, so an interrupted run leaves
each file either whole or absent, never half written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from validatiestraat.evidence.exchange import Exchange

EVIDENCE = "evidence"
EXCHANGES = f"{EVIDENCE}/exchanges.jsonl"
MANIFEST = f"{EVIDENCE}/manifest.json"
_TMP_MARK = ".tmp-"


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)
    return path


def write_json(path: Path, data: Any, indent: int | None = 2) -> Path:
    return write_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def write_exchanges(out_dir: Path, exchanges: Iterable[Exchange]) -> Path:
    """``evidence/exchanges.jsonl``: the (already redacted) exchanges, one JSON object a line."""
    lines = [json.dumps(x.to_json(), ensure_ascii=False, separators=(",", ":")) for x in exchanges]
    return write_atomic(out_dir / EXCHANGES, "".join(line + "\n" for line in lines))


def read_exchanges(out_dir: Path) -> list[Exchange]:
    path = out_dir / EXCHANGES
    if not path.exists():
        return []
    return [Exchange.from_json(json.loads(line)) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _files(out_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(out_dir).as_posix()
        for p in out_dir.rglob("*")
        if p.is_file() and _TMP_MARK not in p.name and p.relative_to(out_dir).as_posix() != MANIFEST
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(out_dir: Path, run_id: str) -> Path:
    """``evidence/manifest.json``: the SHA-256 of every file of the report but itself. Write it last."""
    files = {rel: sha256(out_dir / rel) for rel in _files(out_dir)}
    return write_json(out_dir / MANIFEST, {"run_id": run_id, "algorithm": "sha256", "files": files})


def verify(out_dir: Path) -> list[str]:
    """What does not match the manifest: changed, missing and unlisted files (empty when the report is intact)."""
    path = out_dir / MANIFEST
    if not path.exists():
        return [f"{MANIFEST}: missing (the report is incomplete)"]
    try:
        listed: dict[str, str] = json.loads(path.read_text("utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST}: unreadable ({type(exc).__name__})"]
    problems = []
    for rel, digest in sorted(listed.items()):
        target = out_dir / rel
        if not target.is_file():
            problems.append(f"{rel}: missing")
        elif sha256(target) != digest:
            problems.append(f"{rel}: changed (sha256 differs from the manifest)")
    problems += [f"{rel}: not in the manifest" for rel in _files(out_dir) if rel not in listed]
    return problems
