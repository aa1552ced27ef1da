"""Identity benchmark: sign-in throughput over HTTP, token verification cost as the gateway does it,
and the raw Argon2id hash/verify time with the same parameters, measured in the same run.

    .venv/bin/python -m bench.identity.signin [--requests 60] [--concurrency 4] [--verifications 3000]

Runs the real service (uvicorn on a free loopback port) on a throw-away database and Redis prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx
from argon2 import PasswordHasher, Type
from eaps_kit.auth import TokenVerifier
from eaps_kit.db import drop_database
from eaps_kit.testing import serve_app, test_database_url, unique_suffix
from identity.bootstrap import standalone
from identity.config import Settings
from identity.main import create_app
from identity.seed import HUNTER, seed
from joserfc import jwt
from joserfc.jwk import KeySet, OKPKey, RSAKey
from redis.asyncio import Redis

ISSUER = "https://identity.eaps.local"
CREDENTIALS = {"email": HUNTER.email, "password": HUNTER.password}


def argon2_times(settings: Settings, n: int) -> dict[str, float]:
    ph = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost,
                        parallelism=settings.argon2_parallelism, type=Type.ID)
    t0 = time.perf_counter()
    hashes = [ph.hash(HUNTER.password) for _ in range(n)]
    t1 = time.perf_counter()
    for h in hashes:
        ph.verify(h, HUNTER.password)
    t2 = time.perf_counter()
    return {"hash_ms": (t1 - t0) / n * 1000, "verify_ms": (t2 - t1) / n * 1000}


async def sign_in_load(base: str, total: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            t = time.perf_counter()
            r = await client.post("/api/v1/identity/sessions", json=CREDENTIALS)
            latencies.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.post("/api/v1/identity/sessions", json=CREDENTIALS)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"rps": total / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000, "ok": statuses.get(200, 0), "n": total}


async def verification_cost(base: str, n: int) -> dict[str, float]:
    """The gateway's work per request: TokenVerifier.verify (header, kid lookup, signature, claims)."""
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/v1/identity/sessions", json=CREDENTIALS)
        token = r.json()["access_token"]
    verifier = TokenVerifier(issuer=ISSUER, audiences=["eaps-public", "eaps-internal"],
                             jwks_url=f"{base}/.well-known/jwks.json", refresh_interval=3600)
    await verifier.verify(token)  # first call fetches the JWKS
    t0 = time.perf_counter()
    for _ in range(n):
        await verifier.verify(token)
    per = (time.perf_counter() - t0) / n * 1e6
    return {"verify_us": per}


def alg_costs(n: int) -> dict[str, float]:
    """Sign and verify cost of the two accepted algorithms, on the same claims."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": str(uuid.uuid4()), "aud": "eaps-public", "iat": now, "exp": now + 600,
              "roles": ["applicant"], "access_level": "AS", "teleservices": ["e-APS"]}
    out: dict[str, float] = {}
    for alg, key in (("Ed25519", OKPKey.generate_key("Ed25519", parameters={"kid": "a"}, private=True)),
                     ("RS256", RSAKey.generate_key(2048, parameters={"kid": "b"}, private=True))):
        t0 = time.perf_counter()
        for _ in range(n):
            tok = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
        t1 = time.perf_counter()
        pub = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
        for _ in range(n):
            jwt.decode(tok, pub, algorithms=[alg])
        t2 = time.perf_counter()
        out[f"{alg}_sign_us"] = (t1 - t0) / n * 1e6
        out[f"{alg}_verify_us"] = (t2 - t1) / n * 1e6
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(environment="test", database_url=test_database_url("identity_bench"),
                        bus_prefix=f"bench{unique_suffix()}.", redis_prefix=f"bench:identity:{unique_suffix()}:",
                        ip_max_failures=10**6, log_level="WARNING")
    results: dict[str, Any] = {"params": f"t={settings.argon2_time_cost}, m={settings.argon2_memory_cost} KiB, "
                                         f"p={settings.argon2_parallelism}"}
    try:
        async with standalone(settings) as ident:
            await seed(ident)
        app = create_app(settings.model_copy(update={"run_workers": False}))
        async with serve_app(app) as base:
            results["argon2"] = argon2_times(settings, args.hashes)
            results["sign_in"] = await sign_in_load(base, args.requests, 1)
            results["sign_in_concurrent"] = await sign_in_load(base, args.requests, args.concurrency)
            results["gateway_verify"] = await verification_cost(base, args.verifications)
            results["algs"] = alg_costs(args.verifications // 3)
            runtime = app.state.runtime
            await runtime.broker.delete_declared()
    finally:
        redis = Redis.from_url(settings.redis_url)
        keys = [k async for k in redis.scan_iter(f"{settings.redis_prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await drop_database(settings.database_url)
    return results


def report(r: dict[str, Any]) -> str:
    a, s1, sc, g, al = r["argon2"], r["sign_in"], r["sign_in_concurrent"], r["gateway_verify"], r["algs"]
    return "\n".join([
        f"Argon2id parameters: {r['params']}",
        f"raw Argon2id hash            : {a['hash_ms']:.1f} ms   verify: {a['verify_ms']:.1f} ms",
        f"sign-in, 1 client            : {s1['rps']:.1f} req/s  p50 {s1['p50_ms']:.1f} ms  p95 {s1['p95_ms']:.1f} ms "
        f"({s1['ok']}/{s1['n']} ok)",
        f"sign-in, {r['concurrency']} concurrent clients : {sc['rps']:.1f} req/s  p50 {sc['p50_ms']:.1f} ms  "
        f"p95 {sc['p95_ms']:.1f} ms ({sc['ok']}/{sc['n']} ok)",
        f"gateway token verification   : {g['verify_us']:.0f} µs per request (kit TokenVerifier, JWKS cached)",
        f"Ed25519 sign/verify          : {al['Ed25519_sign_us']:.0f} / {al['Ed25519_verify_us']:.0f} µs",
        f"RS256 (2048) sign/verify     : {al['RS256_sign_us']:.0f} / {al['RS256_verify_us']:.0f} µs",
    ])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=60)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--verifications", type=int, default=3000)
    p.add_argument("--hashes", type=int, default=10)
    ns = p.parse_args()
    out = asyncio.run(main(ns))
    out["concurrency"] = ns.concurrency
    print(report(out))
