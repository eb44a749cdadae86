"""The wheel carries everything `validatiestraat run` needs: the engine, the simulated parties, the suites, the
features and the data. Built here, unpacked into a temporary folder and run from another directory, with the
wheel's copy first on the path (the dependencies come from this environment)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the tree: pip builds in-tree (build/), and two builds in one tree at once would collide
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "reports", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{built.stdout[-2000:]}\n{built.stderr[-2000:]}")
    wheel = next(out.glob("validatiestraat-*.whl"))
    site = out / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def test_wheel_holds_the_data_and_front_ends(unpacked: Path) -> None:
    for rel in (
        "fixtures/mp9/patients.json",
        "fixtures/scenarios/dva/10-mp9.json",
        "fixtures/scenarios/dva/20-protocol.json",
        "fixtures/requirements/mp9.json",
        "validatiestraat/medmij/xsd",
        "validatiestraat/fhir/bundled/packages.bin",
        "mock_providers/faults.py",
        "suites/dva",
        "features/dva",
    ):
        assert (unpacked / rel).exists(), f"the wheel lacks {rel}"
    assert list((unpacked / "features/dva").glob("*.feature")), "the wheel lacks the .feature files"


def test_run_from_the_wheel_certifies_the_reference_dva(unpacked: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    code = (
        "import sys, validatiestraat; "
        f"assert validatiestraat.__file__.startswith({str(unpacked)!r}), validatiestraat.__file__; "
        "from validatiestraat.cli import main; sys.argv = ['validatiestraat', 'run', '--report-dir', 'out']; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "CERTIFIED" in done.stdout
    assert list((tmp_path / "out").glob("*/results.json"))
