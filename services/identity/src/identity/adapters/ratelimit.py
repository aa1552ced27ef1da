"""Brute-force limits in Redis, shared by every replica.

Failures are counted per identifier (the email typed, whether an account exists or not, so that
the limit reveals nothing) and per client IP across identifiers. After ``delay_after`` failures an
identifier must wait a growing delay before the next try; after ``lock_after`` it is locked for
``lock_seconds``. An IP with ``ip_max_failures`` failures in its window is refused for the window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass
class LoginPolicy:
    delay_after: int
    delay_base_seconds: float
    delay_max_seconds: float
    lock_after: int
    lock_seconds: int
    failure_window_seconds: int
    ip_max_failures: int
    ip_window_seconds: int


@dataclass
class Verdict:
    allowed: bool
    retry_after: int = 0
    locked: bool = False
    by_ip: bool = False


class LoginLimiter:
    def __init__(self, redis: Redis, prefix: str, policy: LoginPolicy) -> None:
        self.redis = redis
        self.prefix = prefix
        self.policy = policy

    def _id(self, scope: str, identifier: str) -> str:
        digest = hashlib.sha256(identifier.encode()).hexdigest()[:32]
        return f"{self.prefix}login:{scope}:{digest}"

    async def check(self, scope: str, identifier: str, ip: str) -> Verdict:
        key = self._id(scope, identifier)
        ip_key = f"{self.prefix}login:ip:{ip}"
        pipe = self.redis.pipeline()
        pipe.pttl(f"{key}:lock")
        pipe.pttl(f"{key}:wait")
        pipe.get(ip_key)
        pipe.pttl(ip_key)
        lock_ttl, wait_ttl, ip_count, ip_ttl = await pipe.execute()
        if ip_count is not None and int(ip_count) >= self.policy.ip_max_failures:
            return Verdict(False, retry_after=_seconds(ip_ttl), by_ip=True)
        if lock_ttl and lock_ttl > 0:
            return Verdict(False, retry_after=_seconds(lock_ttl), locked=True)
        if wait_ttl and wait_ttl > 0:
            return Verdict(False, retry_after=_seconds(wait_ttl))
        return Verdict(True)

    async def failure(self, scope: str, identifier: str, ip: str) -> None:
        p = self.policy
        key = self._id(scope, identifier)
        ip_key = f"{self.prefix}login:ip:{ip}"
        pipe = self.redis.pipeline()
        pipe.incr(f"{key}:fails")
        pipe.expire(f"{key}:fails", p.failure_window_seconds)
        pipe.incr(ip_key)
        pipe.expire(ip_key, p.ip_window_seconds, nx=True)
        fails = (await pipe.execute())[0]
        if fails >= p.lock_after:
            await self.redis.set(f"{key}:lock", "1", ex=p.lock_seconds)
            await self.redis.delete(f"{key}:fails")
        elif fails >= p.delay_after:
            delay = min(p.delay_base_seconds * 2 ** (fails - p.delay_after), p.delay_max_seconds)
            await self.redis.set(f"{key}:wait", "1", px=max(1, int(delay * 1000)))

    async def success(self, scope: str, identifier: str) -> None:
        key = self._id(scope, identifier)
        await self.redis.delete(f"{key}:fails", f"{key}:wait")

    async def clear(self, scope: str, identifier: str) -> None:
        key = self._id(scope, identifier)
        await self.redis.delete(f"{key}:fails", f"{key}:wait", f"{key}:lock")


def _seconds(pttl: int | None) -> int:
    if not pttl or pttl < 0:
        return 1
    return max(1, -(-int(pttl) // 1000))


async def within_quota(redis: Redis, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; False once ``limit`` hits happened in the window."""
    pipe = redis.pipeline()
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    count = (await pipe.execute())[0]
    return int(count) <= limit
