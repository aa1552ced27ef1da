"""Reference data of the identity service, loaded from YAML: teleservices, PAE, profiles, scopes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

AS = "AS"
OPPD = "OPPD"


@dataclass(frozen=True)
class Teleservice:
    code: str
    name: str
    description: str
    access: str  # AS | OPPD
    url: str


@dataclass(frozen=True)
class Pae:
    code: str
    name: str
    region: str
    email: str


@dataclass(frozen=True)
class Catalogue:
    teleservices: dict[str, Teleservice]
    pae: dict[str, Pae]
    profiles: dict[str, dict[str, str]]  # kind -> code -> label
    scopes: dict[str, str]

    @classmethod
    def load(cls, data_dir: Path) -> Catalogue:
        def read(name: str) -> Any:
            return yaml.safe_load((data_dir / name).read_text(encoding="utf-8"))

        tele = read("teleservices.yaml")["teleservices"]
        pae = read("pae.yaml")["pae"]
        profiles = read("profiles.yaml")
        scopes = read("scopes.yaml")["scopes"]
        return cls(
            teleservices={t["code"]: Teleservice(**t) for t in tele},
            pae={p["code"]: Pae(**p) for p in pae},
            profiles={k: dict(v) for k, v in profiles.items() if k in ("individual", "professional")},
            scopes=dict(scopes),
        )

    def open_teleservices(self) -> list[str]:
        """Teleservices every verified account reaches (simplified access)."""
        return [t.code for t in self.teleservices.values() if t.access == AS]

    def teleservices_for(self, access_level: str, habilitations: list[str]) -> list[str]:
        codes = self.open_teleservices()
        if access_level == OPPD:
            codes += [c for c in habilitations if c in self.teleservices and c not in codes]
        return codes

    def may_open(self, code: str, access_level: str, habilitations: list[str]) -> bool:
        return code in self.teleservices_for(access_level, habilitations)
