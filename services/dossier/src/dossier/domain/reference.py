"""The dossier service's reference data (labels, profiles, motives, statuses), loaded from YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "reference" / "dossier.yaml"


@dataclass(frozen=True)
class ProfileField:
    code: str
    label: str
    pattern: re.Pattern[str]
    message: str
    required_for_flows: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusInfo:
    code: str
    label: str
    basket: str
    terminal: bool


@dataclass(frozen=True)
class Reference:
    version: str
    steps: list[dict[str, Any]]
    flows: dict[str, str]
    kinds: dict[str, dict[str, Any]]
    profile_fields: dict[str, ProfileField]
    motives: dict[str, dict[str, Any]]
    statuses: dict[str, StatusInfo]
    baskets: dict[str, str]
    justificatif_states: dict[str, str]
    authorisation_types: dict[str, str]
    authorisation_statuses: dict[str, str]
    actors: dict[str, str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def kind_label(self, kind: str | None) -> str | None:
        return self.kinds[kind]["label"] if kind in self.kinds else None

    def profile_label(self, kind: str | None, profile: str | None) -> str | None:
        if kind in self.kinds and profile in self.kinds[kind]["profiles"]:
            return str(self.kinds[kind]["profiles"][profile]["label"])
        return None

    def fields_for(self, kind: str, profile: str | None, flow: str | None) -> list[str]:
        """Profile fields asked of this kind and profile (in display order)."""
        spec = self.kinds.get(kind, {})
        names = list(spec.get("common_fields", []))
        if profile in spec.get("profiles", {}):
            names += [f for f in spec["profiles"][profile].get("fields", []) if f not in names]
        for code, pf in self.profile_fields.items():
            if kind in pf.kinds and code not in names:
                names.append(code)
        return names

    def field_required(self, code: str, kind: str | None, flow: str | None) -> bool:
        pf = self.profile_fields[code]
        if pf.required_for_flows:
            return flow in pf.required_for_flows
        return True

    def status(self, code: str) -> StatusInfo:
        return self.statuses[code]

    def statuses_in(self, basket: str) -> list[str]:
        return [s.code for s in self.statuses.values() if s.basket == basket]

    def authorisation_type_label(self, code: str | None) -> str | None:
        if code is None:
            return None
        return self.authorisation_types.get(code, code)

    def authorisation_status_label(self, code: str) -> str:
        return self.authorisation_statuses.get(code, code.replace("_", " ").capitalize())


def _load(path: Path) -> Reference:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = {
        code: ProfileField(code=code, label=spec["label"], pattern=re.compile(spec["pattern"]),
                           message=spec.get("message", f"Le format du champ « {spec['label']} » est invalide."),
                           required_for_flows=tuple(spec.get("required_for_flows", [])),
                           kinds=tuple(spec.get("kinds", [])))
        for code, spec in raw["profile_fields"].items()
    }
    statuses = {code: StatusInfo(code, spec["label"], spec["basket"], bool(spec.get("terminal", False)))
                for code, spec in raw["statuses"].items()}
    ref = Reference(
        version=str(raw["version"]), steps=raw["steps"], flows=raw["flows"], kinds=raw["applicant_kinds"],
        profile_fields=fields, motives=raw["motives"], statuses=statuses, baskets=raw["baskets"],
        justificatif_states=raw["justificatif_states"], authorisation_types=raw["authorisation_types"],
        authorisation_statuses=raw["authorisation_statuses"], actors=raw["actors"], raw=raw,
    )
    _check(ref)
    return ref


def _check(ref: Reference) -> None:
    """Refuse a reference file with dangling codes (caught at start, not on a user's request)."""
    for kind, spec in ref.kinds.items():
        for name in spec.get("common_fields", []):
            if name not in ref.profile_fields:
                raise ValueError(f"unknown profile field {name} in kind {kind}")
        for profile, pspec in spec["profiles"].items():
            for name in pspec.get("fields", []):
                if name not in ref.profile_fields:
                    raise ValueError(f"unknown profile field {name} in profile {profile}")
    for s in ref.statuses.values():
        if s.basket not in ref.baskets:
            raise ValueError(f"status {s.code} in unknown basket {s.basket}")


@lru_cache(maxsize=1)
def reference() -> Reference:
    return _load(REFERENCE_FILE)
