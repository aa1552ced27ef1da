"""Verified tokens are remembered per edge, never past their expiry or the cache's age bound."""

from __future__ import annotations

import time

import pytest
from eaps_kit.auth import TokenVerifier
from eaps_kit.problems import ProblemError
from eaps_kit.testing import TestKeys
from gateway.tokens import CachedVerifier


class CountingVerifier(TokenVerifier):
    calls = 0

    async def verify(self, token, audience=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().verify(token, audience)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _verifier(keys: TestKeys) -> CountingVerifier:
    plain = keys.verifier()
    return CountingVerifier(issuer=plain.issuer, audiences=plain.audiences, keyset=plain._keyset)


async def test_a_verified_token_is_not_checked_again() -> None:
    keys = TestKeys()
    inner, clock = _verifier(keys), Clock()
    cache = CachedVerifier(inner, "eaps-public", clock=clock)
    token = keys.applicant()
    first, second = await cache.verify(token), await cache.verify(token)
    assert first == second and first.roles == ["applicant"]
    assert inner.calls == 1


async def test_entries_end_at_the_age_bound_and_at_expiry() -> None:
    keys = TestKeys()
    inner, clock = _verifier(keys), Clock()
    cache = CachedVerifier(inner, "eaps-public", max_age=60, clock=clock)
    long_lived, short_lived = keys.applicant(ttl=600), keys.applicant(ttl=10)
    await cache.verify(long_lived)
    await cache.verify(short_lived)
    clock.now += 11  # past the short token's exp, inside the age bound
    await cache.verify(long_lived)
    assert inner.calls == 2
    await cache.verify(short_lived)
    assert inner.calls == 3
    clock.now += 50  # past the age bound
    await cache.verify(long_lived)
    assert inner.calls == 4


async def test_refusals_are_not_remembered() -> None:
    keys = TestKeys()
    inner = _verifier(keys)
    cache = CachedVerifier(inner, "eaps-public")
    forged = TestKeys(kid=keys.kid).applicant()
    for _ in range(2):
        with pytest.raises(ProblemError) as exc:
            await cache.verify(forged)
        assert exc.value.status == 401
    assert inner.calls == 2


async def test_wrong_audience_is_refused_even_after_a_success_elsewhere() -> None:
    keys = TestKeys()
    inner = _verifier(keys)
    public, internal = CachedVerifier(inner, "eaps-public"), CachedVerifier(inner, "eaps-internal")
    token = keys.applicant()
    await public.verify(token)
    with pytest.raises(ProblemError):
        await internal.verify(token)


async def test_size_bound_evicts_the_least_recently_used() -> None:
    keys = TestKeys()
    inner = _verifier(keys)
    cache = CachedVerifier(inner, "eaps-public", max_entries=2)
    a, b, c = keys.applicant(), keys.applicant(), keys.applicant()
    for token in (a, b, a, c):  # c pushes out b (a was used again)
        await cache.verify(token)
    assert inner.calls == 3
    await cache.verify(a)
    assert inner.calls == 3
    await cache.verify(b)
    assert inner.calls == 4


async def test_size_zero_turns_the_cache_off() -> None:
    keys = TestKeys()
    inner = _verifier(keys)
    cache = CachedVerifier(inner, "eaps-public", max_entries=0)
    token = keys.applicant()
    await cache.verify(token)
    await cache.verify(token)
    assert inner.calls == 2
