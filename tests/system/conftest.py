"""Fixtures of the system tests: edge clients, the demo staff signed in once per session (their
TOTP codes cannot be used twice), a freshly registered hunter."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from system_testkit import (  # noqa: E402
    HUNTER,
    OFFICER,
    SUPERVISOR,
    Applicant,
    machine_token,
    seeded_totp_secrets,
    send_with_backoff,
    sign_in_applicant,
    sign_in_staff,
)


@pytest.fixture(scope="session")
async def public(stack) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=stack.public, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
async def internal(stack) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=stack.internal, timeout=30) as client:
        yield client


class StaffSession:
    """A signed-in officer; the short-lived access token is renewed with the refresh token."""

    def __init__(self, internal: httpx.AsyncClient, email: str, password: str, secret: str) -> None:
        self.internal, self.email, self.password, self.secret = internal, email, password, secret
        self._token = ""
        self._refresh = ""
        self._until = 0.0

    async def sign_in(self) -> StaffSession:
        r = await sign_in_staff(self.internal, self.email, self.password, self.secret)
        self._store(r)
        return self

    def _store(self, body: dict) -> None:  # type: ignore[type-arg]
        self._token, self._refresh = body["access_token"], body["refresh_token"]
        self._until = time.monotonic() + int(body["expires_in"]) - 90

    async def token(self) -> str:
        if time.monotonic() > self._until:
            r = await send_with_backoff(self.internal, "POST", "/api/v1/identity/officers/sessions/refresh",
                                        json={"refresh_token": self._refresh})
            assert r.status_code == 200, r.text
            self._store(r.json())
        return self._token


@pytest.fixture(scope="session")
def totp_secrets(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    secrets = seeded_totp_secrets()
    assert OFFICER[0] in secrets and SUPERVISOR[0] in secrets, secrets
    return secrets


@pytest.fixture(scope="session")
async def officer(internal, totp_secrets) -> StaffSession:  # type: ignore[no-untyped-def]
    return await StaffSession(internal, *OFFICER, totp_secrets[OFFICER[0]]).sign_in()


@pytest.fixture(scope="session")
async def supervisor(internal, totp_secrets) -> StaffSession:  # type: ignore[no-untyped-def]
    return await StaffSession(internal, *SUPERVISOR, totp_secrets[SUPERVISOR[0]]).sign_in()


@pytest.fixture(scope="session")
async def machine(internal) -> str:  # type: ignore[no-untyped-def]
    return await machine_token(internal)


@pytest.fixture(scope="session")
async def demo_hunter(public) -> Applicant:  # type: ignore[no-untyped-def]
    """The seeded demo hunter: another applicant, who must never see the first one's data."""
    a = Applicant(HUNTER[0], HUNTER[1], "", "Jean", "Dupont")
    a.token = await sign_in_applicant(public, a.email, a.password)
    me = await public.get("/api/v1/identity/me", headers={"Authorization": f"Bearer {a.token}"})
    a.account_id = me.json()["id"]
    return a
