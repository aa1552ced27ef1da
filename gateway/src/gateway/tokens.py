"""Verified access tokens remembered for a short while, so that a client's next requests cost a dict
look-up instead of a signature check. Only successes are kept; an entry never outlives the token's
``exp`` nor ``max_age`` seconds (the bound on how long a key withdrawn from the JWKS still counts)."""

from __future__ import annotations

import base64
import json
import time
from collections import OrderedDict
from collections.abc import Callable

from eaps_kit.auth import Principal, TokenVerifier


def _expiry(token: str) -> float | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


class CachedVerifier:
    def __init__(self, verifier: TokenVerifier, audience: str, *, max_entries: int = 10_000,
                 max_age: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.verifier = verifier
        self.audience = audience
        self.max_entries = max_entries
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        now = self.clock()
        hit = self._entries.get(token)
        if hit is not None:
            if hit[0] > now:
                self._entries.move_to_end(token)
                return hit[1]
            del self._entries[token]
        principal = await self.verifier.verify(token, audience=self.audience)
        exp = _expiry(token)
        if self.max_entries > 0 and exp is not None:
            self._entries[token] = (min(exp, now + self.max_age), principal)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return principal
