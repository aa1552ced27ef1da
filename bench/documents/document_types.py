"""Cost of checking an upload's document type against the classification's codes: the
in-memory cache (what an upload pays within the TTL) next to a GET of the list from the real
classification service (the baseline: what each upload would pay without the cache).

    .venv/bin/python -m bench.documents.document_types [--cached 20000] [--uncached 300]

Serves the classification service in-process (uvicorn on a free loopback port, a throwaway
database and bus prefix) and drops the database at the end."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from classification.config import Settings as ClassificationSettings
from classification.main import create_app
from documents.adapters.classification import DocumentTypes
from eaps_kit.db import drop_database
from eaps_kit.testing import TestKeys, serve_app, test_database_url, unique_suffix


async def timed(types: DocumentTypes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert await types.is_known("PC")
        out.append(time.perf_counter() - t0)
    return out


def summary(name: str, samples: list[float]) -> str:
    us = sorted(s * 1e6 for s in samples)
    p95 = us[int(len(us) * 0.95) - 1]
    return (f"| {name} | {len(us)} | {statistics.median(us):.1f} | {p95:.1f} | "
            f"{len(us) / (sum(us) / 1e6):,.0f} |")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cached", type=int, default=20000)
    parser.add_argument("--uncached", type=int, default=300)
    args = parser.parse_args()
    settings = ClassificationSettings(environment="test", database_url=test_database_url("classification"),
                                      bus_prefix=f"b{unique_suffix()}.", log_json=False, log_level="WARNING")
    app = create_app(settings, token_verifier=TestKeys().verifier())
    try:
        async with serve_app(app) as url:
            uncached = DocumentTypes(url, ttl=0)  # every check fetches the list
            cached = DocumentTypes(url, ttl=300)
            await timed(uncached, 10)  # warm-up (connection, ruleset)
            await cached.codes()
            rows = [summary("GET document-types each time (baseline, no cache)", await timed(uncached, args.uncached)),
                    summary("in-memory cache within the TTL", await timed(cached, args.cached))]
            await uncached.aclose()
            await cached.aclose()
            await app.state.runtime.broker.delete_declared()
    finally:
        await drop_database(settings.database_url)
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print("| check | calls | median (µs) | p95 (µs) | checks/s |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
