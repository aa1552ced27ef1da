"""Per-client rate limit in Redis: a fixed window that starts with the client's first request.

One round trip per request (``SET NX EX`` + ``INCR`` + ``PTTL`` in a MULTI). The count is exact
within a window, so a limit of N lets exactly N requests through. When Redis does not answer the
edge lets traffic through (and says so in the log and in /health/ready): the services and identity's
own lockout still stand behind it."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("eaps.gateway.ratelimit")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str, window_seconds: int, limits: dict[str, int]) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window = window_seconds
        self.limits = limits

    async def hit(self, edge: str, bucket: str, client: str) -> Verdict | None:
        """Count one request; None when Redis could not be asked."""
        limit = self.limits[bucket]
        key = f"{self.prefix}{edge}:{bucket}:{client}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self.window, nx=True)
                pipe.incr(key)
                pipe.pttl(key)
                _, count, pttl = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limit not applied, Redis unavailable: %s", exc)
            return None
        retry_after = max(1, math.ceil((pttl if pttl and pttl > 0 else self.window * 1000) / 1000))
        return Verdict(count <= limit, limit, max(0, limit - int(count)), retry_after)
