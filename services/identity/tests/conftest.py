"""Identity test fixtures: one real app per session on its own database, Redis prefix and bus prefix,
a queue that records every event identity publishes, and helpers that act as users do."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx
import pyotp
import pytest
from eaps_kit.db import drop_database
from eaps_kit.testing import app_client, bearer, eventually, test_database_url, unique_suffix
from identity.adapters.passwords import Passwords
from identity.bootstrap import Identity
from identity.config import Settings
from identity.main import create_app
from identity.service_layer import staff
from redis.asyncio import Redis

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "Chasse-Gibier-2024!"
# Cheap Argon2id parameters: the tests exercise the logic, the benchmark measures the real cost.
TEST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8192, "argon2_parallelism": 1}


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = dict(
        environment="test", database_url=test_database_url("identity"), bus_prefix=f"t{unique_suffix()}.",
        redis_prefix=f"test:identity:{unique_suffix()}:", outbox_poll_seconds=0.2, key_cache_seconds=0.0,
        login_delay_after=3, login_delay_base_seconds=0.2, login_delay_max_seconds=1.0, login_lock_after=6,
        login_lock_seconds=600, ip_max_failures=8, ip_window_seconds=600, **TEST_ARGON2)
    base.update(overrides)
    return Settings(**base)


class EventLog:
    """Every envelope identity published, as another service would receive it."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def of(self, type_: str, **match: Any) -> list[dict[str, Any]]:
        return [e["data"] for e in self.items if e["type"] == type_
                and all(e["data"].get(k) == v for k, v in match.items())]

    async def wait(self, type_: str, **match: Any) -> dict[str, Any]:
        found = await eventually(lambda: self.of(type_, **match))
        return found[-1]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
async def events(settings: Settings) -> AsyncIterator[EventLog]:
    log = EventLog()
    conn = await aio_pika.connect_robust(AMQP_URL)
    ch = await conn.channel()
    ex = await ch.declare_exchange(f"{settings.bus_prefix}identity.events", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await ch.declare_queue(f"{settings.bus_prefix}identity-test.all", exclusive=True)
    await queue.bind(ex, "identity.#")

    async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        import orjson

        async with msg.process():
            log.items.append(orjson.loads(msg.body))

    tag = await queue.consume(on_message)
    yield log
    await queue.cancel(tag)
    await queue.delete(if_unused=False, if_empty=False)
    await ex.delete()
    await conn.close()


@pytest.fixture(scope="session")
async def app_and_client(settings: Settings, events: EventLog) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app_client(app) as client:
        yield app, client
        runtime = app.state.runtime
        await runtime.broker.delete_declared()
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(f"{settings.redis_prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    await drop_database(settings.database_url)


@pytest.fixture(scope="session")
def client(app_and_client: tuple[Any, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


@pytest.fixture(scope="session")
def ident(app_and_client: tuple[Any, httpx.AsyncClient]) -> Identity:
    return app_and_client[0].state.runtime.extras["identity"]  # type: ignore[no-any-return]


def new_ip() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def fresh_email(tag: str = "user") -> str:
    return f"{tag}.{unique_suffix()}@exemple.fr"


@dataclass
class Applicant:
    email: str
    password: str
    account_id: str = ""
    access_token: str = ""
    refresh_token: str = ""
    verification_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


@dataclass
class Officer:
    email: str
    password: str
    totp_secret: str
    account_id: str
    access_token: str = ""
    refresh_token: str = ""
    used_steps: set[int] = field(default_factory=set)

    def next_otp(self) -> str:
        """A code for a time step not used yet (each code is accepted once)."""
        totp = pyotp.TOTP(self.totp_secret)
        step = int(time.time()) // 30
        for candidate in (step, step + 1):
            if candidate not in self.used_steps and all(candidate > s for s in self.used_steps):
                self.used_steps.add(candidate)
                return totp.generate_otp(candidate)
        raise AssertionError("no unused TOTP step left in the accepted window")

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


class Users:
    """Acts as the people who use identity: registers, verifies through the messages sent, signs in."""

    PASSWORD = PASSWORD

    def __init__(self, client: httpx.AsyncClient, events: EventLog, ident: Identity) -> None:
        self.client = client
        self.events = events
        self.ident = ident

    def registration(self, **over: Any) -> dict[str, Any]:
        body = {"kind": "individual", "profile": "hunter", "email": fresh_email(), "password": PASSWORD,
                "phone": "06 12 34 56 78", "first_name": "Jeanne", "last_name": "Martin"}
        body.update(over)
        return body

    def professional(self, **over: Any) -> dict[str, Any]:
        fields = {"kind": "professional", "profile": "gunsmith", "company_name": "Armurerie du Centre",
                  "siret": "73282932000074", **over}
        return self.registration(**fields)

    async def register(self, **over: Any) -> Applicant:
        body = self.registration(**over) if over.get("kind") != "professional" else self.professional(
            **{k: v for k, v in over.items() if k != "kind"})
        resp = await self.client.post("/api/v1/identity/registrations", json=body)
        assert resp.status_code == 202, resp.text
        app = Applicant(body["email"], body["password"], verification_id=resp.json()["verification_id"])
        registered = await self.events.wait("identity.account.registered", email=body["email"])
        app.account_id = registered["account_id"]
        return app

    async def email_link_token(self, app: Applicant) -> str:
        event = await self.events.wait("identity.email_verification.requested", email=app.email)
        return str(event["link"].split("token=", 1)[1])

    async def sms_code(self, app: Applicant) -> str:
        event = await self.events.wait("identity.phone_verification.requested", account_id=app.account_id)
        return str(event["code"])

    async def verify(self, app: Applicant) -> None:
        token = await self.email_link_token(app)
        r1 = await self.client.post("/api/v1/identity/registrations/email-verification", json={"token": token})
        assert r1.status_code == 200, r1.text
        code = await self.sms_code(app)
        r2 = await self.client.post("/api/v1/identity/registrations/phone-verification",
                                    json={"verification_id": app.verification_id, "code": code})
        assert r2.status_code == 200, r2.text
        assert r2.json()["status"] == "active"

    async def sign_in(self, app: Applicant, ip: str | None = None) -> httpx.Response:
        resp = await self.client.post("/api/v1/identity/sessions", json={"email": app.email, "password": app.password},
                                      headers={"X-Forwarded-For": ip or new_ip()})
        if resp.status_code == 200:
            app.access_token = resp.json()["access_token"]
            app.refresh_token = resp.json()["refresh_token"]
        return resp

    async def applicant(self, **over: Any) -> Applicant:
        app = await self.register(**over)
        await self.verify(app)
        resp = await self.sign_in(app)
        assert resp.status_code == 200, resp.text
        return app

    async def refresh(self, app: Applicant) -> httpx.Response:
        resp = await self.client.post("/api/v1/identity/tokens/refresh", json={"refresh_token": app.refresh_token})
        if resp.status_code == 200:
            app.access_token = resp.json()["access_token"]
            app.refresh_token = resp.json()["refresh_token"]
        return resp

    async def staff(self, roles: list[str], pae_code: str | None = None, sign_in: bool = True) -> Officer:
        email = fresh_email("agent")
        creds = await staff.create_staff(self.ident, email=email, first_name="Paul", last_name="Agent",
                                         roles=roles, password=PASSWORD, pae_code=pae_code)
        officer = Officer(email, PASSWORD, creds.totp_secret, str(creds.account_id))
        if sign_in:
            resp = await self.officer_sign_in(officer)
            assert resp.status_code == 200, resp.text
        return officer

    async def officer_sign_in(self, officer: Officer, otp: str | None = None) -> httpx.Response:
        resp = await self.client.post("/api/v1/identity/officers/sessions", json={
            "email": officer.email, "password": officer.password, "otp": otp or officer.next_otp()},
            headers={"X-Forwarded-For": new_ip()})
        if resp.status_code == 200:
            officer.access_token = resp.json()["access_token"]
            officer.refresh_token = resp.json()["refresh_token"]
        return resp

    async def oppd_operator(self, pae_code: str = "PAE-ARA-LYON",
                            teleservices: list[str] | None = None) -> tuple[Applicant, Officer]:
        """A professional whose habilitation request a PAE agent granted; signed in again (OPPD token)."""
        pro = await self.applicant(kind="professional")
        siret = valid_siret()
        resp = await self.client.post("/api/v1/identity/habilitation-requests", headers=pro.headers, json={
            "pae_code": pae_code, "company_name": "Armes & Traditions SARL", "siret": siret,
            "teleservices": teleservices or ["SOPRANO-RP"],
            "justification": "Importations régulières d'armes de chasse."})
        assert resp.status_code == 201, resp.text
        agent = await self.staff(["pae_agent"], pae_code=pae_code)
        grant = await self.client.post(f"/api/v1/identity/pae/habilitation-requests/{resp.json()['id']}/grant",
                                       headers=agent.headers, json={"reason": "Dossier complet."})
        assert grant.status_code == 200, grant.text
        assert (await self.refresh(pro)).status_code == 200
        return pro, agent


def valid_siret() -> str:
    """A random SIRET with a correct Luhn key."""
    from identity.domain.validation import luhn_ok

    base = f"{uuid.uuid4().int % 10**13:013d}"
    for last in range(10):
        candidate = base + str(last)
        if luhn_ok(candidate) and not candidate.startswith("356000000"):
            return candidate
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def users(client: httpx.AsyncClient, events: EventLog, ident: Identity) -> Users:
    return Users(client, events, ident)


@pytest.fixture
def problem() -> Callable[[httpx.Response, int], dict[str, Any]]:
    def check(resp: httpx.Response, status: int) -> dict[str, Any]:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers["content-type"]
        body: dict[str, Any] = resp.json()
        assert body["status"] == status and body["detail"]
        return body

    return check


Users.new_ip = staticmethod(new_ip)  # type: ignore[attr-defined]
Users.valid_siret = staticmethod(valid_siret)  # type: ignore[attr-defined]
Users.fresh_email = staticmethod(fresh_email)  # type: ignore[attr-defined]

__all__ = ["Applicant", "EventLog", "Officer", "PASSWORD", "Passwords", "Users", "asyncio", "make_settings",
           "new_ip", "valid_siret"]
