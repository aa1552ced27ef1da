"""Case and authorisation rules in plain Python: stages, the deadline clock, statuses, diffs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from instruction.domain.errors import Conflict
from instruction.domain.workdays import add_working_days, working_days_between


class CaseStatus(StrEnum):
    EN_ETUDE = "en_etude"
    INCOMPLET = "incomplet"
    EN_INSTRUCTION = "en_instruction"
    EN_DECISION = "en_decision"
    IRRECEVABLE = "irrecevable"
    ACCORDEE = "accordee"
    REFUSEE = "refusee"
    REJET_IMPLICITE = "rejet_implicite"
    RETIREE = "retiree"


CASE_STATUS_LABELS = {
    CaseStatus.EN_ETUDE: "En étude",
    CaseStatus.INCOMPLET: "Incomplet (complément demandé)",
    CaseStatus.EN_INSTRUCTION: "En instruction",
    CaseStatus.EN_DECISION: "En décision",
    CaseStatus.IRRECEVABLE: "Irrecevable",
    CaseStatus.ACCORDEE: "Accordée",
    CaseStatus.REFUSEE: "Refusée",
    CaseStatus.REJET_IMPLICITE: "Rejet implicite",
    CaseStatus.RETIREE: "Retirée par le demandeur",
}

OPEN_STATUSES = (CaseStatus.EN_ETUDE, CaseStatus.INCOMPLET, CaseStatus.EN_INSTRUCTION, CaseStatus.EN_DECISION)
# Stages during which the legal clock runs (it stops while the applicant completes).
CLOCK_RUNNING = (CaseStatus.EN_ETUDE, CaseStatus.EN_INSTRUCTION, CaseStatus.EN_DECISION)


def require_status(current: str, allowed: tuple[CaseStatus, ...], action: str) -> None:
    if current not in allowed:
        label = CASE_STATUS_LABELS.get(CaseStatus(current), current)
        raise Conflict(f"Impossible de {action} : le dossier est au stade « {label} ».")


@dataclass
class LegalClock:
    """The processing deadline in working days, stopped while a completion is awaited.

    ``elapsed_before`` counts the working days used before the current run that started
    on ``started_on``; ``paused_since`` is set while the clock is stopped."""

    limit: int | None
    started_on: date
    elapsed_before: int = 0
    paused_since: date | None = None

    def elapsed(self, today: date) -> int:
        if self.paused_since is not None:
            return self.elapsed_before
        return self.elapsed_before + working_days_between(self.started_on, today)

    def deadline(self) -> date | None:
        if self.limit is None or self.paused_since is not None:
            return None
        return add_working_days(self.started_on, self.limit - self.elapsed_before)

    def remaining(self, today: date) -> int | None:
        if self.limit is None:
            return None
        return self.limit - self.elapsed(today)

    def pause(self, today: date) -> None:
        if self.paused_since is None:
            self.elapsed_before = self.elapsed(today)
            self.paused_since = today

    def resume(self, today: date) -> None:
        if self.paused_since is not None:
            self.paused_since = None
            self.started_on = today

    def overdue(self, today: date) -> bool:
        deadline = self.deadline()
        return deadline is not None and today > deadline


class AuthorisationStatus(StrEnum):
    VALIDE = "valide"
    NON_ENCORE_VALIDE = "non_encore_valide"
    SUSPENDUE = "suspendue"
    EXPIREE = "expiree"
    SOLDEE = "soldee"
    ABROGEE = "abrogee"


AUTHORISATION_STATUS_LABELS = {
    AuthorisationStatus.VALIDE: "Valide",
    AuthorisationStatus.NON_ENCORE_VALIDE: "Non encore valide",
    AuthorisationStatus.SUSPENDUE: "Suspendue",
    AuthorisationStatus.EXPIREE: "Expirée",
    AuthorisationStatus.SOLDEE: "Soldée",
    AuthorisationStatus.ABROGEE: "Abrogée",
}


@dataclass
class AuthorisationState:
    valid_from: date
    valid_until: date
    revoked: bool = False
    exhausted: bool = False
    suspended_from: date | None = None
    suspended_until: date | None = None

    def suspended_on(self, day: date) -> bool:
        return (self.suspended_from is not None and self.suspended_from <= day
                and (self.suspended_until is None or day <= self.suspended_until))

    def status_on(self, day: date) -> AuthorisationStatus:
        """Administrative acts first, then quantities, then dates (domain.md §4.2)."""
        if self.revoked:
            return AuthorisationStatus.ABROGEE
        if self.exhausted:
            return AuthorisationStatus.SOLDEE
        if day > self.valid_until:
            return AuthorisationStatus.EXPIREE
        if self.suspended_on(day):
            return AuthorisationStatus.SUSPENDUE
        if day < self.valid_from:
            return AuthorisationStatus.NON_ENCORE_VALIDE
        return AuthorisationStatus.VALIDE

    def usable_on(self, day: date) -> bool:
        return (not self.revoked and not self.exhausted and self.valid_from <= day <= self.valid_until
                and not self.suspended_on(day))


# Lists inside a dossier snapshot are compared element by element on these keys.
_LIST_KEYS = ("line_no", "document_code", "document_id")


def diff_snapshots(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """What changed between two versions of a dossier snapshot: [{field, before, after}]."""
    changes: list[dict[str, Any]] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key in ("submission_no", "submitted_at"):
                continue
            changes += diff_snapshots(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        key = next((k for k in _LIST_KEYS if all(isinstance(x, dict) and k in x for x in before + after)), None)
        if key is not None and (before or after):
            b = {x[key]: x for x in before}
            a = {x[key]: x for x in after}
            for k in sorted(set(b) | set(a), key=str):
                changes += diff_snapshots(b.get(k), a.get(k), f"{path}[{key}={k}]")
            return changes
    if before != after:
        changes.append({"field": path, "before": before, "after": after})
    return changes


def authorisation_number(type_code: str, year: int, seq: int) -> str:
    return f"{type_code}-{year}-{seq:06d}"
