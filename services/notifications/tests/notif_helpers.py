"""Helpers of the notifications tests: event builders, bus publisher, database reads."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from eaps_contracts.base import Event, exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.events import dossier_v1, identity_v1


class Bus:
    """Publishes events as their producers would (envelope, message id, producer's exchange)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def publish(self, event: Event, *, envelope: Envelope | None = None) -> Envelope:
        env = envelope or Envelope.wrap(event)
        await self.runtime.broker.publish(
            exchange_of(env.producer),
            env.routing_key,
            env.model_dump_json().encode(),
            message_id=str(env.event_id),
            message_type=env.type,
        )
        return env


async def scalar(runtime: Any, query: Any) -> Any:
    async with runtime.session_factory() as s:
        return (await s.execute(query)).scalar()


async def rows(runtime: Any, query: Any) -> list[Any]:
    async with runtime.session_factory() as s:
        return list((await s.execute(query)).all())


# --- event builders ----------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def new_account(**kw: Any) -> identity_v1.AccountRegisteredV1:
    suffix = uuid.uuid4().hex[:8]
    data: dict[str, Any] = {
        "account_id": uuid.uuid4(),
        "email": f"demandeur-{suffix}@example.fr",
        "phone": f"+3361{int(suffix, 16) % 10_000_000:07d}",
        "kind": "individual",
        "profile": "chasseur",
        "first_name": "Camille",
        "last_name": "Durand",
    }
    data.update(kw)
    return identity_v1.AccountRegisteredV1(**data)


def submitted(account: identity_v1.AccountRegisteredV1, **kw: Any) -> dossier_v1.DossierSubmittedV1:
    reg = kw.pop("registration_number", f"EAPS-2026-{uuid.uuid4().hex[:6].upper()}")
    snapshot = dossier_v1.DossierSnapshot(
        dossier_id=kw.pop("dossier_id", uuid.uuid4()),
        registration_number=reg,
        submission_no=1,
        submitted_at=now(),
        applicant=dossier_v1.ApplicantSnapshot(
            account_id=account.account_id,
            kind="individual",
            profile="chasseur",
            first_name=account.first_name,
            last_name=account.last_name,
            email=account.email,
            phone=account.phone,
        ),
        flow="IMP",
        origin_country="US",
        destination_country="FR",
        authorisation_type="AIMG",
        ruleset_version="2026.1",
        motive="chasse",
        lines=[{"line_no": 1, "classification_code": "C-1", "designation": "Carabine de chasse", "quantity": 2}],
    )
    return dossier_v1.DossierSubmittedV1(dossier=snapshot)


def authorisation_snapshot(account_id: uuid.UUID, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "authorisation_id": uuid.uuid4(),
        "number": f"AIMG-2026-{uuid.uuid4().hex[:5].upper()}",
        "type": "AIMG",
        "holder_account_id": account_id,
        "holder_name": "Camille Durand",
        "flow": "IMP",
        "origin_country": "US",
        "destination_country": "FR",
        "valid_from": date(2026, 3, 1),
        "valid_until": date(2027, 2, 28),
        "lines": [{"line_no": 1, "classification_code": "C-1", "designation": "Carabine de chasse", "quantity": 2}],
        "status": "valid",
    }
    data.update(kw)
    return data


# --- a webhook receiver on loopback --------------------------------------------------

import contextlib  # noqa: E402

from eaps_kit.testing import free_port, serve_app  # noqa: E402
from fastapi import FastAPI, Request, Response  # noqa: E402


class WebhookReceiver:
    """An administration's HTTP endpoint: records each POST (headers, raw body) and answers
    ``status``. It can be taken down and brought back on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._stack: contextlib.AsyncExitStack | None = None
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        self.app = app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(serve_app(self.app, port=self.port))

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
