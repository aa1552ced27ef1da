"""What the edge costs: token verification (µs per token) and a GET through the public edge vs the same
GET straight to the service, measured in the same run.

    .venv/bin/python -m bench.gateway.edge_overhead [--requests 2000] [--concurrency 16]

Starts a stub service and ``python -m gateway public`` as separate processes on free loopback ports
(Redis at 127.0.0.1:6379 for the rate limit, with a throw-away key prefix)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eaps_kit.auth import PUBLIC_AUDIENCE
from eaps_kit.testing import TestKeys, free_port
from gateway.ratelimit import RateLimiter
from gateway.rules import load_rules
from gateway.tokens import CachedVerifier
from redis.asyncio import Redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def _micro(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


async def _amicro(fn: Callable[[], Awaitable[object]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - start) / n * 1e6


async def in_process(n: int) -> dict[str, float]:
    keys = TestKeys()
    verifier = keys.verifier()
    token = keys.applicant(access_level="AS")
    await verifier.verify(token, audience=PUBLIC_AUDIENCE)
    out = {"verify_token_us": await _amicro(lambda: verifier.verify(token, audience=PUBLIC_AUDIENCE), n)}
    cached = CachedVerifier(verifier, PUBLIC_AUDIENCE)
    out["verify_token_cached_us"] = await _amicro(lambda: cached.verify(token), n)
    raw_key = Ed25519PrivateKey.generate()
    message = token.rsplit(".", 1)[0].encode()
    signature = raw_key.sign(message)
    public_key = raw_key.public_key()
    out["raw_ed25519_verify_us"] = _micro(lambda: public_key.verify(signature, message), n)
    rules = load_rules().for_edge("public")
    out["match_rule_us"] = _micro(lambda: rules.match("GET", "/api/v1/dossiers/0b7c/lines/3"), n * 4)
    redis = Redis.from_url(REDIS_URL)
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    limiter = RateLimiter(redis, prefix=prefix, window_seconds=60, limits={"default": 10**9})
    out["rate_limit_hit_us"] = await _amicro(lambda: limiter.hit("public", "default", "sub:bench"), n)
    await redis.delete(*[k async for k in redis.scan_iter(match=prefix + "*")])
    await redis.aclose()
    return out


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *args], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _wait_live(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url + "/health/live")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def measure(url: str, headers: dict[str, str], n: int, concurrency: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        for _ in range(50):  # warm up connections and caches
            (await client.get(url, headers=headers)).raise_for_status()
        latencies = []
        for _ in range(n):
            start = time.perf_counter()
            resp = await client.get(url, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200, resp.text
        latencies.sort()

        remaining = n

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                (await client.get(url, headers=headers)).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"p50_ms": statistics.median(latencies), "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
            "rps": n / elapsed}


async def through_http(n: int, concurrency: int) -> dict[str, dict[str, float]]:
    keys = TestKeys()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(keys.jwks(), fh)
        jwks_file = fh.name
    stub_port, edge_port = free_port(), free_port()
    stub = f"http://127.0.0.1:{stub_port}"
    edge = f"http://127.0.0.1:{edge_port}"
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    env = {f"GATEWAY_{s.upper()}_URL": stub for s in ("identity", "classification", "dossier", "documents",
                                                       "instruction", "notifications")}
    env.update(GATEWAY_PUBLIC_PORT=str(edge_port), GATEWAY_JWKS_URL=stub + "/.well-known/jwks.json",
               GATEWAY_TOKEN_ISSUER=keys.issuer, GATEWAY_RATE_LIMIT_PREFIX=prefix,
               GATEWAY_RATE_LIMIT_DEFAULT=str(10**9), GATEWAY_LOG_LEVEL="WARNING")
    token = {"Authorization": f"Bearer {keys.applicant(access_level='AS', ttl=3600)}"}
    results: dict[str, dict[str, float]] = {}
    try:
        with process(["-m", "bench.gateway.stub", str(stub_port), jwks_file], {}), \
                process(["-m", "gateway", "public"], env):
            await _wait_live(stub)
            await _wait_live(edge)
            results["direct service GET /health/live"] = await measure(stub + "/health/live", {}, n, concurrency)
            results["edge's own GET /health/live"] = await measure(edge + "/health/live", {}, n, concurrency)
            results["via edge, public route, no token"] = await measure(
                edge + "/api/v1/classification/ping", {}, n, concurrency)
            results["direct service, same route"] = await measure(
                stub + "/api/v1/classification/ping", {}, n, concurrency)
            results["via edge, applicant token (verify + rate limit)"] = await measure(
                edge + "/api/v1/dossiers/ping", token, n, concurrency)
    finally:
        os.unlink(jwks_file)
        redis = Redis.from_url(REDIS_URL)
        found = [k async for k in redis.scan_iter(match=prefix + "*")]
        if found:
            await redis.delete(*found)
        await redis.aclose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    micro = await in_process(args.requests)
    http = await through_http(args.requests, args.concurrency)
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"in process, {args.requests} iterations each:")
    for name, value in micro.items():
        print(f"  {name:<24} {value:8.1f} µs")
    print(f"over loopback HTTP, {args.requests} sequential requests (latency) then {args.requests} with "
          f"{args.concurrency} in flight (throughput):")
    print(f"  {'scenario':<50} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
    for name, r in http.items():
        print(f"  {name:<50} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['rps']:8.0f}")


if __name__ == "__main__":
    asyncio.run(main())
