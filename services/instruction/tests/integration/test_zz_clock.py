"""Scheduled jobs under a controllable clock: implicit rejection at the LEAF deadline (the clock
stops during a completion request), and authorisations moving on their dates.

The clock only moves forward and other tests work relative to it, so this module runs last."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

from eaps_kit.testing import eventually
from instruction.domain.clock import PARIS
from instruction.domain.workdays import add_working_days
from instruction.service_layer import jobs

LEAF = {"authorisation_type": "LEAF", "flow": "EXP", "origin": "FR", "destination": "CH"}


def set_day(clock: Any, day: Any) -> None:
    clock.set(datetime.combine(day, time(9, 0), tzinfo=PARIS).astimezone(UTC))


async def status(journey: Any, case_id: str) -> str:
    return (await journey.case(case_id))["status"]  # type: ignore[no-any-return]


async def test_silence_at_the_leaf_deadline_is_an_implicit_rejection(journey: Any, app: Any, clock: Any,
                                                                     as_supervisor: dict) -> None:
    runtime = app.state.runtime
    _, leaf = await journey.to_instruction(**LEAF)
    _, paused = await journey.to_instruction(**LEAF)
    _, extended = await journey.to_instruction(**LEAF)
    _, aimg = await journey.to_instruction()
    start = clock.today()
    deadline = add_working_days(start, 60)
    assert (await journey.case(leaf))["deadline"] == deadline.isoformat()
    await journey.post(f"/cases/{extended}/deadline-extension", {"reason": "Consultation complexe"}, expect=403)
    await journey.post(f"/cases/{extended}/deadline-extension", {"reason": "Consultation complexe"},
                       who=as_supervisor, expect=204)
    await journey.post(f"/cases/{extended}/deadline-extension", {"reason": "encore"}, who=as_supervisor, expect=409)
    await journey.post(f"/cases/{aimg}/deadline-extension", {"reason": "x"}, who=as_supervisor, expect=409)
    assert (await journey.case(extended))["deadline"] == add_working_days(start, 90).isoformat()

    # Ten working days later the applicant is asked to complete: the clock stops for that case.
    set_day(clock, add_working_days(start, 10))
    await journey.post(f"/cases/{paused}/completion-requests", {
        "missing": [{"kind": "document", "code": "AI-PT", "label": "Autorisation d'importation"}],
        "message": "Pièce manquante"}, expect=201)
    case = await journey.case(leaf)
    assert case["ageing_working_days"] == 10 and case["remaining_working_days"] == 50

    # On the deadline itself nothing happens.
    set_day(clock, deadline)
    await jobs.run_once(runtime.session_factory, runtime.extras["ctx"])
    assert await status(journey, leaf) == "en_instruction"

    # The next day the silence is recorded as an implicit rejection, by the scheduled job.
    set_day(clock, deadline + timedelta(days=1))

    async def rejected() -> bool:
        return await status(journey, leaf) == "rejet_implicite"

    await eventually(rejected)
    issued = await journey.probe.wait_for("instruction.decision.issued", case_id=leaf)
    assert issued["outcome"] == "implicit_rejection" and issued["signed_by"] is None
    assert "60 jours ouvrés" in issued["reasons"]
    case = await journey.case(leaf)
    assert case["decision"]["outcome"] == "implicit_rejection"
    audit = (await journey.client.get(f"/api/v1/instruction/cases/{leaf}/audit", headers=journey.officer)).json()
    assert audit[-1]["action"] == "case.implicit_rejection" and audit[-1]["actor_role"] == "job"
    await jobs.run_once(runtime.session_factory, runtime.extras["ctx"])
    assert await status(journey, paused) == "incomplet"
    assert await status(journey, extended) == "en_instruction"
    assert await status(journey, aimg) == "en_instruction"
    assert len(journey.probe.of_type("instruction.decision.issued", case_id=leaf)) == 1


async def test_authorisations_move_on_their_dates(journey: Any, client: Any, clock: Any, as_supervisor: dict) -> None:
    today = clock.today()
    _, auth = await journey.grant({"valid_from": (today + timedelta(days=3)).isoformat(),
                                   "valid_until": (today + timedelta(days=300)).isoformat()})
    _, suspended = await journey.grant()
    assert auth["status"] == "non_encore_valide"
    r = await client.post(f"/api/v1/instruction/authorisations/{suspended['authorisation_id']}/suspension",
                          json={"reason": "Contrôle", "until": (today + timedelta(days=5)).isoformat()},
                          headers=as_supervisor)
    assert r.json()["status"] == "suspendue"

    set_day(clock, today + timedelta(days=3))
    event = await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                         new_status="valide")
    assert event["old_status"] == "non_encore_valide"
    set_day(clock, today + timedelta(days=6))
    await journey.probe.wait_for("instruction.authorisation.status_changed", number=suspended["number"],
                                 old_status="suspendue", new_status="valide")
    set_day(clock, today + timedelta(days=301))
    await journey.probe.wait_for("instruction.authorisation.status_changed", number=auth["number"],
                                 old_status="valide", new_status="expiree")
    detail = (await client.get(f"/api/v1/instruction/authorisations/{auth['authorisation_id']}",
                               headers=journey.officer)).json()
    assert detail["status"] == "expiree" and detail["status_label"] == "Expirée"
