"""State change and event are one transaction: a failed registration publishes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from identity.adapters.orm import accounts, outbox
from identity.service_layer import accounts as handlers


async def test_a_rolled_back_registration_leaves_no_account_and_no_event(ident, users, monkeypatch):
    body = users.registration()
    reg = handlers.Registration(**{**body, "phone": "+33612345678"})

    async def boom(*args, **kwargs):
        raise RuntimeError("SMS code store unavailable")

    monkeypatch.setattr(handlers, "_sms_code", boom)
    try:
        await handlers.register(ident, reg)
    except RuntimeError:
        pass
    async with ident.session_factory() as session:
        assert await session.scalar(sa.select(accounts.c.id).where(accounts.c.email == reg.email)) is None
        rows = (await session.execute(sa.select(outbox.c.body))).scalars().all()
    assert not [r for r in rows if r["data"].get("email") == reg.email]


async def test_events_carry_the_contract_envelope(users, events):
    app = await users.register()
    envelope = next(e for e in events.items
                    if e["type"] == "identity.account.registered" and e["data"]["email"] == app.email)
    assert envelope["producer"] == "identity" and envelope["version"] == 1 and envelope["event_id"]
