"""The command line as a user types it: ``straat up`` (runs until Ctrl-C) and ``straat collect``."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from validatiestraat import net
from validatiestraat.medmij.lists import parse_zal
from validatiestraat.tls import client_context

ENV = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "validatiestraat", *args]


def test_straat_up_prints_working_endpoints_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        cli("straat", "up", "--pki-dir", str(tmp_path / "pki"), "--t", "2026-03-01"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:  # blocks until the straat has printed its endpoints
            lines.append(line)
            if line.startswith("Backchannel client certificate"):
                break
        text = "".join(lines)
        urls = dict(re.findall(r"│\s*(\w+)\s*│\s*(https://\S+)", text))
        assert set(urls) == {"stelselnode", "digid", "his", "dva", "pgo"}, text
        resolve = dict(re.findall(r"--resolve ([\w.]+):(\d+):127\.0\.0\.1", text))
        assert "stelselnode.straat.test" in resolve

        async def fetch_zal() -> bytes:
            root = tmp_path / "pki" / "root.pem"
            async with net.client(client_context(root), {"stelselnode.straat.test": "127.0.0.1"}) as c:
                response = await c.get(urls["stelselnode"] + "MedMij_Zorgaanbiederslijst.xml")
                response.raise_for_status()
                return response.content

        zal = parse_zal(asyncio.run(fetch_zal()))
        assert zal.providers[0].name == "straathuisarts@medmij"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest
        assert "stopped." in rest
    finally:
        if proc.poll() is None:
            proc.kill()


def test_straat_collect_runs_every_patient_and_exits_zero(tmp_path: Path) -> None:
    done = subprocess.run(
        cli("straat", "collect", "--pki-dir", str(tmp_path / "pki"), "--t", "2026-03-01"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(r"│\s*ok\s*│", done.stdout)
    assert len(rows) >= 8, done.stdout


def test_unknown_dataset_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        cli("straat", "collect", "--dataset", "bogus", "--pki-dir", str(tmp_path / "pki")),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown dataset" in done.stdout + done.stderr
