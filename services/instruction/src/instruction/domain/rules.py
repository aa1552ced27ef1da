"""The regulatory table the instruction service applies (validity, deadlines, consultations).

Loaded from YAML: regulatory facts are data, not code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from instruction.domain.errors import Invalid

ONE_DAY = timedelta(days=1)


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError("unreachable")


@dataclass(frozen=True)
class Deadline:
    working_days: int
    extended_working_days: int
    silence_means_rejection: bool


@dataclass(frozen=True)
class TypeRule:
    code: str
    name: str
    legal_basis: str
    quantity_limited: bool
    validity: dict[str, Any]
    deadline: Deadline | None
    ministries: tuple[str, ...]
    category_prefixes: dict[str, list[str]]

    def default_months(self, kind: str) -> int:
        return int(self.validity[kind]["default_months"])

    def max_months(self, kind: str) -> int:
        return int(self.validity[kind]["max_months"])

    @property
    def min_months(self) -> int:
        return int(self.validity["min_months"])

    def consulted_ministries(self, classification_codes: list[str]) -> list[str]:
        names = list(self.ministries)
        for ministry, prefixes in self.category_prefixes.items():
            if any(c.startswith(p) for c in classification_codes for p in prefixes) and ministry not in names:
                names.append(ministry)
        return names


@dataclass(frozen=True)
class Rules:
    version: str
    ministries: dict[str, str]
    consultation_due_working_days: int
    max_start_delay_months: int
    types: dict[str, TypeRule]

    def for_type(self, code: str) -> TypeRule:
        rule = self.types.get(code)
        if rule is None:
            raise Invalid(f"Le type d'autorisation « {code} » n'est pas instruit par ce service.")
        return rule

    def default_validity(self, type_code: str, applicant_kind: str, today: date) -> tuple[date, date]:
        rule = self.for_type(type_code)
        return today, add_months(today, rule.default_months(applicant_kind)) - ONE_DAY

    def check_validity(self, type_code: str, applicant_kind: str, today: date, valid_from: date,
                       valid_until: date) -> None:
        """Refuse dates outside the legal bounds of this type and applicant profile."""
        rule = self.for_type(type_code)
        errors: list[dict[str, Any]] = []
        if valid_from < today:
            errors.append({"field": "valid_from", "message": "La date de début ne peut pas être dans le passé."})
        if valid_from > add_months(today, self.max_start_delay_months):
            errors.append({"field": "valid_from", "message":
                           f"La date de début ne peut pas dépasser {self.max_start_delay_months} mois."})
        if valid_until < valid_from:
            errors.append({"field": "valid_until", "message": "La date de fin précède la date de début."})
        else:
            longest = add_months(valid_from, rule.max_months(applicant_kind)) - ONE_DAY
            shortest = add_months(valid_from, rule.min_months) - ONE_DAY
            if valid_until > longest:
                errors.append({"field": "valid_until", "message":
                               f"La durée de validité d'une {rule.code} ne peut pas dépasser "
                               f"{rule.max_months(applicant_kind)} mois pour ce profil (fin au plus tard le "
                               f"{longest.strftime('%d/%m/%Y')})."})
            if valid_until < shortest:
                errors.append({"field": "valid_until", "message":
                               f"La durée de validité d'une {rule.code} est d'au moins {rule.min_months} mois."})
        if errors:
            raise Invalid("Les dates de validité sortent des bornes légales.", errors=errors)


def load_rules(path: Path) -> Rules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    types: dict[str, TypeRule] = {}
    for code, t in raw["types"].items():
        dl = t.get("deadline")
        cons = t.get("consultations") or {}
        types[code] = TypeRule(
            code=code, name=t["name"], legal_basis=t["legal_basis"], quantity_limited=bool(t["quantity_limited"]),
            validity=t["validity"],
            deadline=Deadline(int(dl["working_days"]), int(dl["extended_working_days"]),
                              bool(dl["silence_means_rejection"])) if dl else None,
            ministries=tuple(cons.get("ministries") or ()),
            category_prefixes=dict(cons.get("category_prefixes") or {}),
        )
    return Rules(version=str(raw["version"]), ministries=dict(raw["ministries"]),
                 consultation_due_working_days=int(raw["consultation_due_working_days"]),
                 max_start_delay_months=int(raw["max_start_delay_months"]), types=types)
