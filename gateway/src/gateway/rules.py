"""The edges' routing and access table (``routes.yaml``), loaded once and matched per request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from eaps_kit.auth import Principal
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config import SERVICES, Edge

RULES_FILE = Path(__file__).with_name("routes.yaml")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_SEGMENT = re.compile(r"^(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z0-9._~!$&'()+,;=:@%-]+)$")


class Grant(BaseModel):
    """One way through: any of the roles, any of the access levels, all of the scopes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: tuple[str, ...] = ()
    access_levels: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def allows(self, principal: Principal) -> bool:
        if self.roles and not principal.has_role(*self.roles):
            return False
        if self.access_levels and principal.access_level not in self.access_levels:
            return False
        return all(s in principal.scopes for s in self.scopes)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    edge: Literal["public", "internal", "both"]
    methods: tuple[str, ...] | Literal["*"]
    path: str
    access: Literal["public", "hidden"] | tuple[Grant, ...]
    limit: Literal["default", "sign_in"] = "default"

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        if value == "*":
            return value
        methods = tuple(str(m).upper() for m in value)
        unknown = [m for m in methods if m not in HTTP_METHODS]
        if unknown or not methods:
            raise ValueError(f"unknown HTTP methods {unknown}")
        return methods

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path {value!r} must start with /")
        parts = value.strip("/").split("/")
        for i, part in enumerate(parts):
            if part == "**" and i == len(parts) - 1:
                continue
            if not _SEGMENT.match(part):
                raise ValueError(f"bad segment {part!r} in {value!r}")
        if value.startswith("/internal/") or value == "/internal":
            raise ValueError("/internal/ paths are never routed")
        return value

    @model_validator(mode="after")
    def _access(self) -> Rule:
        if isinstance(self.access, tuple) and not self.access:
            raise ValueError(f"{self.path}: access needs at least one grant")
        return self

    @cached_property
    def regex(self) -> re.Pattern[str]:
        parts = self.path.strip("/").split("/")
        out = []
        tail = ""
        if parts[-1] == "**":
            parts = parts[:-1]
            tail = "(?:/[^/]+)*/?"
        for part in parts:
            out.append("[^/]+" if part.startswith("{") else re.escape(part))
        return re.compile("^/" + "/".join(out) + tail + "$")

    def on(self, edge: Edge) -> bool:
        return self.edge in (edge, "both")

    def allows_method(self, method: str) -> bool:
        return self.methods == "*" or method in self.methods or (method == "HEAD" and "GET" in self.methods)

    @property
    def is_public(self) -> bool:
        return self.access == "public"

    @property
    def is_hidden(self) -> bool:
        return self.access == "hidden"

    def permits(self, principal: Principal) -> bool:
        return isinstance(self.access, tuple) and any(g.allows(principal) for g in self.access)


class RuleTable(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    prefixes: dict[str, str]
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> RuleTable:
        for prefix, service in self.prefixes.items():
            if service not in SERVICES:
                raise ValueError(f"prefix {prefix}: unknown service {service!r}")
        for rule in self.rules:
            if self.service_for(rule.path.removesuffix("/**") + "/") is None and \
                    self.service_for(rule.path) is None:
                raise ValueError(f"rule {rule.path}: no service owns this path")
        return self

    def service_for(self, path: str) -> str | None:
        best: tuple[int, str] | None = None
        for prefix, service in self.prefixes.items():
            if (path.startswith(prefix) or path == prefix.rstrip("/")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), service)
        return best[1] if best else None

    def for_edge(self, edge: Edge) -> EdgeRules:
        return EdgeRules(edge, tuple(r for r in self.rules if r.on(edge)), self)


@dataclass(frozen=True)
class Match:
    rule: Rule
    service: str


@dataclass(frozen=True)
class EdgeRules:
    edge: Edge
    rules: tuple[Rule, ...]
    table: RuleTable

    def match(self, method: str, path: str) -> Match | None | list[str]:
        """The deciding rule; None when no rule knows the path; the allowed methods when only
        the method differs (405)."""
        allowed: list[str] = []
        for rule in self.rules:
            if not rule.regex.match(path):
                continue
            if rule.allows_method(method):
                if rule.is_hidden:
                    return None
                service = self.table.service_for(path)
                return Match(rule, service) if service else None
            if not rule.is_hidden:
                allowed.extend(HTTP_METHODS if rule.methods == "*" else rule.methods)
        return sorted(set(allowed)) if allowed else None

    def services(self) -> list[str]:
        seen: dict[str, None] = {}
        for rule in self.rules:
            if not rule.is_hidden:
                service = self.table.service_for(rule.path.removesuffix("/**") + "/") or \
                    self.table.service_for(rule.path)
                if service:
                    seen[service] = None
        return list(seen)


def load_rules(path: Path = RULES_FILE) -> RuleTable:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return RuleTable.model_validate(data)
