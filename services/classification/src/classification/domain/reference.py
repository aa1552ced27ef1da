"""A loaded ruleset with its lookups, and the set of versions in force over time."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from classification.domain.ruleset import Category, Good, Group, Item, Ruleset


@dataclass(frozen=True)
class ItemEntry:
    item: Item
    category: Category
    group: Group


@dataclass
class Reference:
    """One ruleset version, indexed for reading. Immutable once built."""

    ruleset: Ruleset
    sha256: str = ""
    items: dict[str, ItemEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    goods: dict[str, Good] = field(default_factory=dict)
    goods_by_item: dict[str, list[Good]] = field(default_factory=dict)

    @classmethod
    def build(cls, ruleset: Ruleset) -> Reference:
        canonical = json.dumps(ruleset.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        ref = cls(ruleset=ruleset, sha256=hashlib.sha256(canonical.encode()).hexdigest())
        for cat, group, item in ruleset.items():
            ref.items[item.code] = ItemEntry(item, cat, group)
            for alias in item.aliases:
                ref.aliases[alias.upper()] = item.code
        ref.categories = {c.code: c for c in ruleset.categories}
        ref.goods = {g.code: g for g in ruleset.goods}
        for g in ruleset.goods:
            ref.goods_by_item.setdefault(g.classification, []).append(g)
        return ref

    @property
    def version(self) -> str:
        return self.ruleset.version

    @property
    def effective_date(self) -> date:
        return self.ruleset.effective_date

    def resolve_item(self, code: str) -> ItemEntry | None:
        """The item for a current code or an alias of older numbering."""
        entry = self.items.get(code)
        if entry is None:
            current = self.aliases.get(code.upper())
            entry = self.items.get(current) if current else None
        return entry

    def item_count(self) -> int:
        return len(self.items)


class NoRulesetInForce(LookupError):
    pass


class Versions:
    """Every loaded version; the one in force on a day is the latest whose effective date has come."""

    def __init__(self, references: list[Reference] | None = None) -> None:
        self._by_version: dict[str, Reference] = {}
        self._ordered: list[Reference] = []
        for ref in references or []:
            self.add(ref)

    def add(self, ref: Reference) -> None:
        existing = self._by_version.get(ref.version)
        if existing is not None:
            if existing.sha256 != ref.sha256:
                raise ValueError(f"ruleset {ref.version} already loaded with other content")
            return
        self._by_version[ref.version] = ref
        keys = [(r.effective_date, r.version) for r in self._ordered]
        self._ordered.insert(bisect.bisect(keys, (ref.effective_date, ref.version)), ref)

    def all(self) -> list[Reference]:
        return list(self._ordered)

    def get(self, version: str) -> Reference | None:
        return self._by_version.get(version)

    def in_force(self, day: date) -> Reference:
        candidates = [r for r in self._ordered if r.effective_date <= day]
        if not candidates:
            raise NoRulesetInForce(day)
        return candidates[-1]
