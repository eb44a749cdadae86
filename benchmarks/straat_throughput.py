"""Throughput of the built-in straat over real mutual TLS on loopback (run by hand, not in the tests).

    .venv/bin/python benchmarks/straat_throughput.py [--flows 100] [--searches 2000] [--concurrency 10]

Prints, from one run:
- full collect flows per second (authorize → DigiD stub → consent → token over mTLS → the 7 MP9 searches);
- MP9 searches per second over mTLS with keep-alive, JSON and XML (the filter patient's MA query, with all
  its includes);
- two baselines measured in the same run: the same search called in-process (no HTTP, no TLS) and a trivial
  request (``/fhir/metadata``) over the same mTLS connections, with the ratios against them.

Client and servers share one event loop and one core's worth of Python, so the numbers are the straat's
end-to-end capacity as a test harness uses it, not a server-only figure.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import PGO, PROVIDER, Straat
from validatiestraat import net
from validatiestraat.fhir.search import search
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, SERVICE_ID
from validatiestraat.pki import TestPKI
from validatiestraat.tls import client_context

MA = BLOCKS_BY_CODE["MA"]


async def timed(n: int, concurrency: int, one: Callable[[int], Awaitable[object]]) -> float:
    """Run ``one(i)`` for i in range(n) with at most ``concurrency`` in flight; operations per second."""
    gate = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> object:
        async with gate:
            return await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(n)))
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100)
    ap.add_argument("--searches", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=10)
    args = ap.parse_args()

    store = load_builtin(date.today())
    patients = [p for p in store.patients]
    filter_patient = patients[0]
    with tempfile.TemporaryDirectory() as tmp, Straat(store, pki=TestPKI(Path(tmp))) as straat:
        straat.run(straat.collect(filter_patient.bsn))  # warm-up: lists, connections, indexes

        flows = straat.run(
            timed(args.flows, args.concurrency, lambda i: straat.collect(patients[i % len(patients)].bsn)),
            timeout=3600,
        )
        token = straat.run(straat.pgo.authorize(PROVIDER, SERVICE_ID, straat.user_agent(filter_patient.bsn)))
        base = f"{straat.origins['dva-back']}/fhir"
        http = net.client(client_context(straat.pki.root_pem, straat.pki.leaf(PGO)), straat.hosts)
        headers = {"Authorization": f"Bearer {token.access_token}"}

        def over_tls(path: str, params: list[tuple[str, str]] | None, accept: str) -> Callable[[int], Awaitable]:
            async def one(_: int) -> None:
                r = await http.get(f"{base}/{path}", params=params, headers={**headers, "Accept": accept})
                assert r.status_code == 200, r.text[:200]

            return one

        n, c = args.searches, args.concurrency
        json_rate = straat.run(timed(n, c, over_tls(MA.resource_type, MA.query(), "application/fhir+json")), 3600)
        xml_rate = straat.run(timed(n, c, over_tls(MA.resource_type, MA.query(), "application/fhir+xml")), 3600)
        trivial_rate = straat.run(timed(n, c, over_tls("metadata", None, "application/fhir+json")), 3600)
        straat.run(http.aclose())

    start = time.perf_counter()
    for _ in range(n):
        search(store, MA.resource_type, MA.query(), filter_patient.id, "https://dva.straat.test/fhir")
    inproc_rate = n / (time.perf_counter() - start)

    print(f"collect flows/s (7 searches each, concurrency {args.concurrency}): {flows:8.1f}")
    print(f"MA searches/s over mTLS, JSON:                          {json_rate:8.1f}")
    print(f"MA searches/s over mTLS, XML:                           {xml_rate:8.1f}")
    print(f"baseline: GET /fhir/metadata/s over mTLS:               {trivial_rate:8.1f}")
    print(f"baseline: MA search/s in-process (no HTTP, no TLS):     {inproc_rate:8.1f}")
    print(f"ratio in-process / mTLS JSON search:                    {inproc_rate / json_rate:8.2f}x")
    print(f"ratio metadata / mTLS JSON search:                      {trivial_rate / json_rate:8.2f}x")


if __name__ == "__main__":
    main()
