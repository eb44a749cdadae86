"""What a certification costs (run by hand, not in the tests).

    .venv/bin/python benchmarks/run_certification.py [--repeat 3]

Prints, from one run:
1. the wall time of a full ``validatiestraat run`` as a user types it (a fresh process: Python start-up,
   straat start, every scenario in JSON and XML, every probe, reports written), median of ``--repeat``;
2. the harness overhead: the engine's time (drive + record + check) on a running straat, against a raw replay
   of the same HTTP requests (same method, URL, headers and body, same TLS clients, sequential, nothing
   recorded or checked) on the same straat. Goal: under 1.5x. Measured twice: over the 190 MP9 search cases with
   the patients' tokens already obtained (stateless requests: the replay is the same exchanges), and over all
   cases, where the replay is only an approximation: a replayed authorization flow or probe meets used codes and
   closed sessions and stops early (no DigiD resolution, no list fetch by the DVA), and a TLS probe's fresh
   handshake with its own certificate is replayed over the kept-alive PGO connection.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import PGO, Straat
from validatiestraat import engine, net, scenarios
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.pki import TestPKI
from validatiestraat.results import tally
from validatiestraat.session import DvaSession
from validatiestraat.tls import client_context

HARNESS_SENDERS = {"pgo", "browser", "harness"}


def wall_time(repeat: int) -> list[float]:
    exe = Path(sys.executable).with_name("validatiestraat")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            t0 = time.perf_counter()
            done = subprocess.run(
                [str(exe), "run", "--report-dir", tmp], capture_output=True, text=True, env=os.environ.copy()
            )
            times.append(time.perf_counter() - t0)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                raise SystemExit(f"validatiestraat run exited {done.returncode}")
    return times


async def replay(straat: Straat, exchanges: list[Exchange]) -> float:
    root = straat.pki.root_pem
    clients = {
        "pgo": net.client(client_context(root, straat.pki.leaf(PGO)), straat.hosts),
        "browser": net.client(client_context(root), straat.hosts),
    }
    clients["harness"] = clients["pgo"]
    try:
        t0 = time.perf_counter()
        for x in exchanges:
            headers = [(k, v) for k, v in x.request_headers if k.lower() not in ("content-length", "host")]
            # a probe that expects a refused handshake is refused again: same cost
            with contextlib.suppress(httpx.HTTPError):
                await clients[x.sender].request(x.method, x.url, headers=headers, content=x.request_body or None)
        return time.perf_counter() - t0
    finally:
        for c in clients.values():
            await c.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    times = wall_time(args.repeat)
    print(
        f"validatiestraat run (fresh process, all scenarios, reports): median {statistics.median(times):.2f} s "
        f"over {args.repeat} runs {[round(t, 2) for t in times]}"
    )

    store = load_builtin(date.today())
    everything = list(scenarios.load("dva"))
    searches = [s for s in everything if s.kind == "mp9-search"]
    for label, chosen in (("all cases", everything), ("MP9 search cases only", searches)):
        recorder = Recorder()
        ratios, engine_times, replay_times = [], [], []
        with tempfile.TemporaryDirectory() as tmp, Straat(store, pki=TestPKI(Path(tmp)), recorder=recorder) as straat:
            session = DvaSession(straat, recorder, store, t=date.today().isoformat())
            judges = 1 if (os.cpu_count() or 1) >= 2 else 0  # as the CLI does: checks in a worker beside the driving
            engine.run(session, chosen[:3], judges=judges)  # warm up connections, imports and the worker
            for _ in range(args.repeat):
                if chosen is everything:
                    session.tokens.clear()  # the run obtains its tokens itself (the replay repeats those requests)
                else:  # the searches alone: stateless, so their replay is the same exchanges
                    for patient in {s.patient for s in chosen if s.patient}:
                        session.run(session.token(patient))
                recorder.clear()
                t0 = time.perf_counter()
                outcome = engine.run(session, chosen, judges=judges)
                harness = time.perf_counter() - t0
                sent = [x for x in recorder.exchanges if x.sender in HARNESS_SENDERS]
                raw = straat.run(replay(straat, sent))
                ratios.append(harness / raw)
                engine_times.append(harness)
                replay_times.append(raw)
        cases = sum(len(s.variants) for s in chosen)
        print(
            f"[{label}] {cases} cases, {len(outcome.results)} results {tally(outcome.results)}, "
            f"{len(sent)} HTTP requests sent by the harness"
        )
        print(
            f"[{label}] engine {[round(t, 2) for t in engine_times]} s, "
            f"raw replay {[round(t, 2) for t in replay_times]} s"
        )
        print(
            f"[{label}] harness overhead: median {statistics.median(ratios):.2f}x of {[round(r, 2) for r in ratios]} "
            "(goal < 1.5x)"
        )


if __name__ == "__main__":
    main()
