"""Domain rules on plain Python: working days, the legal clock, statuses, diffs, validity bounds."""

from datetime import date

import pytest
from instruction.config import Settings
from instruction.domain.errors import Invalid
from instruction.domain.model import (
    AuthorisationState,
    AuthorisationStatus,
    LegalClock,
    authorisation_number,
    diff_snapshots,
)
from instruction.domain.rules import add_months, load_rules
from instruction.domain.workdays import add_working_days, is_working_day, working_days_between

RULES = load_rules(Settings().rules_file)


def test_french_public_holidays_are_not_working_days() -> None:
    assert not is_working_day(date(2026, 5, 1))   # fête du travail (a Friday)
    assert not is_working_day(date(2026, 5, 14))  # Ascension
    assert not is_working_day(date(2026, 7, 14))
    assert not is_working_day(date(2026, 3, 7))   # a Saturday
    assert is_working_day(date(2026, 3, 9))


def test_working_days_skip_weekends_and_holidays() -> None:
    # Thursday 30 April 2026 + 1 working day: Friday 1 May is a holiday -> Monday 4 May.
    assert add_working_days(date(2026, 4, 30), 1) == date(2026, 5, 4)
    assert working_days_between(date(2026, 4, 30), date(2026, 5, 4)) == 1
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5


def test_the_legal_clock_stops_while_the_applicant_completes() -> None:
    clock = LegalClock(limit=60, started_on=date(2026, 3, 2))
    assert clock.deadline() == add_working_days(date(2026, 3, 2), 60)
    clock.pause(date(2026, 3, 9))  # 5 working days used
    assert clock.deadline() is None and clock.elapsed(date(2026, 4, 9)) == 5
    clock.resume(date(2026, 4, 9))
    assert clock.elapsed(date(2026, 4, 10)) == 6
    assert clock.deadline() == add_working_days(date(2026, 4, 9), 55)
    assert not clock.overdue(clock.deadline())  # type: ignore[arg-type]
    assert clock.overdue(add_working_days(clock.deadline(), 1))  # type: ignore[arg-type]


def test_a_type_without_legal_deadline_is_never_overdue() -> None:
    clock = LegalClock(limit=None, started_on=date(2020, 1, 1))
    assert clock.deadline() is None and not clock.overdue(date(2030, 1, 1)) and clock.remaining(date.today()) is None


@pytest.mark.parametrize(("state", "day", "expected"), [
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31)), date(2026, 2, 1), AuthorisationStatus.NON_ENCORE_VALIDE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31)), date(2026, 3, 1), AuthorisationStatus.VALIDE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31)), date(2027, 1, 1), AuthorisationStatus.EXPIREE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31), suspended_from=date(2026, 4, 1),
                        suspended_until=date(2026, 4, 30)), date(2026, 4, 15), AuthorisationStatus.SUSPENDUE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31), suspended_from=date(2026, 4, 1),
                        suspended_until=date(2026, 4, 30)), date(2026, 5, 1), AuthorisationStatus.VALIDE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31), exhausted=True), date(2026, 5, 1),
     AuthorisationStatus.SOLDEE),
    (AuthorisationState(date(2026, 3, 1), date(2026, 12, 31), revoked=True, exhausted=True), date(2026, 5, 1),
     AuthorisationStatus.ABROGEE),
])
def test_authorisation_status_on_a_date(state: AuthorisationState, day: date, expected: AuthorisationStatus) -> None:
    assert state.status_on(day) == expected
    assert state.usable_on(day) == (expected == AuthorisationStatus.VALIDE)


def test_diff_shows_what_changed_between_versions() -> None:
    before = {"motive": "achat", "submission_no": 1,
              "lines": [{"line_no": 1, "quantity": 10, "designation": "Pistolet"},
                        {"line_no": 2, "quantity": 5, "designation": "Fusil"}],
              "attachments": [{"document_code": "AFCI", "filename": "a.pdf"}]}
    after = {"motive": "achat", "submission_no": 2,
             "lines": [{"line_no": 1, "quantity": 8, "designation": "Pistolet"}],
             "attachments": [{"document_code": "AFCI", "filename": "a.pdf"},
                             {"document_code": "COM", "filename": "facture.pdf"}]}
    changes = {c["field"]: (c["before"], c["after"]) for c in diff_snapshots(before, after)}
    assert changes == {
        "lines[line_no=1].quantity": (10, 8),
        "lines[line_no=2]": ({"line_no": 2, "quantity": 5, "designation": "Fusil"}, None),
        "attachments[document_code=COM]": (None, {"document_code": "COM", "filename": "facture.pdf"}),
    }


def test_validity_bounds_come_from_the_rules() -> None:
    today = date(2026, 3, 2)
    assert RULES.default_validity("AIMG", "individual", today) == (today, date(2027, 3, 1))
    assert RULES.default_validity("AIMG", "professional", today) == (today, date(2029, 3, 1))
    assert RULES.default_validity("PT", "individual", today) == (today, date(2026, 9, 1))
    RULES.check_validity("AIMG", "professional", today, today, date(2029, 3, 1))
    with pytest.raises(Invalid) as err:
        RULES.check_validity("AIMG", "individual", today, today, date(2027, 3, 2))
    assert "12 mois" in err.value.errors[0]["message"]  # type: ignore[index]
    with pytest.raises(Invalid):
        RULES.check_validity("PT", "individual", today, today, date(2026, 5, 1))  # under 3 months
    with pytest.raises(Invalid):
        RULES.check_validity("AIMG", "individual", today, date(2026, 3, 1), date(2026, 12, 1))  # in the past
    with pytest.raises(Invalid):
        RULES.check_validity("UNKNOWN", "individual", today, today, today)


def test_deadlines_and_consultations_per_type() -> None:
    leaf = RULES.for_type("LEAF")
    assert leaf.deadline is not None and (leaf.deadline.working_days, leaf.deadline.extended_working_days) == (60, 90)
    assert leaf.deadline.silence_means_rejection
    assert RULES.for_type("AIMG").deadline is None
    assert RULES.for_type("AIMG").consulted_ministries(["B-1"]) == ["interieur", "affaires_etrangeres"]
    assert "defense" in RULES.for_type("AIMG").consulted_ministries(["A2-1"])
    assert not RULES.for_type("AGIMG").quantity_limited


def test_dates_and_numbers() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert authorisation_number("LEAF", 2026, 42) == "LEAF-2026-000042"
