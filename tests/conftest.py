"""Shared test helpers: where the ``../shared`` reference corpus is (``VALIDATIESTRAAT_SHARED`` overrides)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MP9_CERT = Path("R4/MP9-3-0-0-beta/MedMij/Cert")


def shared_dir() -> Path:
    return Path(os.environ.get("VALIDATIESTRAAT_SHARED") or REPO.parent / "shared")


def require_shared(*relative: str | Path) -> Path:
    """The shared folder; skips the test with a reason when it (or a needed part of it) is absent."""
    root = shared_dir()
    for rel in relative or (".",):
        if not (root / rel).exists():
            pytest.skip(f"reference corpus not found: {root / rel} (set VALIDATIESTRAAT_SHARED)")
    return root


def nictiz_paths() -> tuple[Path, Path, Path]:
    """(fixtures dir, QualificationTokens.json, Cert scripts dir) of the Nictiz MP9 MedMij corpus, or skip."""
    fixtures = Path("fixtures-nictiz/Nictiz-testscripts/output") / MP9_CERT / "_reference-medmij/fixtures"
    tokens = Path("nictiz-testscripts/QualificationTokens.json")
    scripts = Path("nictiz-testscripts/output") / MP9_CERT
    root = require_shared(fixtures, tokens, scripts)
    return root / fixtures, root / tokens, root / scripts
