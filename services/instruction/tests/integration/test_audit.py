"""The audit trail: every action with who, when, before and after; rows nobody can change,
not even the service through its own database connection."""

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from instruction.adapters.orm import audit_log
from sqlalchemy.exc import DBAPIError


async def test_every_action_on_a_case_is_in_its_audit_trail(journey: Any, officer_id: uuid.UUID,
                                                            supervisor_id: uuid.UUID) -> None:
    snap_case_id, auth = await journey.grant()
    r = await journey.client.get(f"/api/v1/instruction/cases/{snap_case_id}/audit", headers=journey.officer)
    assert r.status_code == 200
    trail = r.json()
    assert [a["action"] for a in trail] == [
        "case.opened", "case.taken", "case.admissible", "decision.proposed.granted", "authorisation.issued",
        "decision.signed.granted"]
    opened, taken, admissible, proposed, issued, signed = trail
    assert opened["actor_role"] == "applicant"
    assert taken["actor_id"] == str(officer_id) and taken["before"]["assigned_to"] is None
    assert taken["after"]["assigned_to"] == str(officer_id)
    assert admissible["before"]["status"] == "en_etude" and admissible["after"]["status"] == "en_instruction"
    assert proposed["after"]["status"] == "en_decision" and proposed["details"]["lines"]
    assert signed["actor_id"] == str(supervisor_id) and signed["actor_role"] == "supervisor"
    assert signed["after"]["status"] == "accordee" and signed["details"]["authorisation"] == auth["number"]
    assert all(a["occurred_at"] for a in trail)
    r = await journey.client.get(f"/api/v1/instruction/cases/{uuid.uuid4()}/audit", headers=journey.officer)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("statement", [
    sa.update(audit_log).values(actor_id="someone-else"),
    sa.delete(audit_log),
    sa.text("TRUNCATE audit_log"),
])
async def test_the_service_own_database_connection_cannot_change_the_audit_trail(app: Any, journey: Any,
                                                                                  statement: Any) -> None:
    await journey.submit()
    engine = app.state.runtime.engine  # the very engine (and database role) the service runs with
    async with engine.connect() as conn:
        before = (await conn.execute(sa.select(sa.func.count(), sa.func.max(audit_log.c.id))
                                     .select_from(audit_log))).one()
    with pytest.raises(DBAPIError) as err:
        async with engine.begin() as conn:
            await conn.execute(statement)
    assert "append-only" in str(err.value)
    async with engine.connect() as conn:
        after = (await conn.execute(sa.select(sa.func.count(), sa.func.max(audit_log.c.id))
                                    .select_from(audit_log))).one()
        changed = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                                      .where(audit_log.c.actor_id == "someone-else"))).scalar_one()
    assert after[0] >= before[0] and after[1] >= before[1] and changed == 0
