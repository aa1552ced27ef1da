"""The regulatory reference as a validated, immutable value: one ruleset version.

Everything regulatory (categories, items, descriptor questions, goods, the flow x classification
matrix, exemptions, supporting documents, validity and processing times, countries) is data read
from YAML files and checked here on load. Nothing in this module knows a category or a flow by
name: the rules live in the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Flow = Literal["IMP", "INT", "EXP", "EXD"]
FLOWS: tuple[Flow, ...] = ("IMP", "INT", "EXP", "EXD")
Kind = Literal["individual", "professional"]
Nature = Literal["arme", "munition", "element", "autre"]

ITEM_CODE = re.compile(r"^(A1|A2|B|C|D)-(\d+(bis|ter|qua)?(-[a-z]+(bis)?)?|[a-z]+(bis)?)$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flagged(Strict):
    """A fact whose source is missing (🔶 in domain.md) is flagged, with a note saying why."""

    assumption: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _assumption_has_note(self) -> Flagged:
        if self.assumption and not self.note:
            raise ValueError(f"{type(self).__name__}: an assumption needs a note")
        return self


# --- classification ---------------------------------------------------------------------------

class Item(Flagged):
    code: str
    official_ref: str
    label: str
    description: str | None = None
    firearm: bool
    nature: Nature
    aliases: list[str] = []

    @model_validator(mode="after")
    def _code_form(self) -> Item:
        if not ITEM_CODE.match(self.code):
            raise ValueError(f"item code {self.code!r} does not follow <CAT>-<n>[suffix]-[letter]")
        return self


class Group(Flagged):
    """A rubrique of a category: the first field of the known-classification path."""

    code: str
    label: str
    field_label: str = "Précisez la nature du matériel"
    items: list[Item] = Field(min_length=1)


class Category(Flagged):
    code: Literal["A1", "A2", "B", "C", "D"]
    label: str
    description: str
    legal_reference: str
    legal_text_url: str
    groups: list[Group] = Field(min_length=1)


class Good(Flagged):
    code: str
    label: str
    classification: str
    tags: list[str] = []


class DescriptorOption(Strict):
    value: str
    label: str
    next: str | None = None
    item: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DescriptorOption:
        if (self.next is None) == (self.item is None):
            raise ValueError(f"option {self.value!r} must lead either to a question (next) or to an item")
        return self


class DescriptorQuestion(Strict):
    text: str
    options: list[DescriptorOption] = Field(min_length=2)


class DescriptorTree(Strict):
    category: str
    start: str
    questions: dict[str, DescriptorQuestion]


# --- authorisations ---------------------------------------------------------------------------

class Validity(Flagged):
    text: str
    max_months: int | None = None
    max_months_individual: int | None = None
    max_months_professional: int | None = None
    min_months: int | None = None
    tacit_renewal: bool = False


class ProcessingTime(Flagged):
    text: str
    working_days: int | None = None
    exceptional_working_days: int | None = None
    silence_means_rejection: bool = False


class AuthorisationType(Flagged):
    code: str
    name: str
    legal_basis: str
    in_eaps: bool
    determinable: bool
    quantity_limited: bool | None = None
    validity: Validity
    processing_time: ProcessingTime


class Outcome(Strict):
    kind: Literal["authorisation", "none", "outside_scope"]
    authorisation: str | None = None
    procedure: str | None = None
    explanation: str

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        if (self.kind == "authorisation") != (self.authorisation is not None):
            raise ValueError("an outcome names an authorisation exactly when its kind is 'authorisation'")
        if (self.kind == "outside_scope") != (self.procedure is not None):
            raise ValueError("an outside-scope outcome names the procedure to follow, and only it")
        return self


class ItemFilter(Strict):
    """Which items a rule concerns: by category, by code, by nature or firearm status."""

    categories: list[str] = []
    codes: list[str] = []
    natures: list[Nature] = []
    firearm: bool | None = None

    def matches(self, item: Item, category: str) -> bool:
        if self.categories and category not in self.categories:
            return False
        if self.codes and item.code not in self.codes:
            return False
        if self.natures and item.nature not in self.natures:
            return False
        return self.firearm is None or item.firearm == self.firearm


class MatrixRule(Flagged):
    id: str
    flows: list[Flow] = Field(min_length=1)
    items: ItemFilter
    # The rule concerns only goods carrying one of these tags (e.g. rimfire, empty unprimed case).
    goods_tags_any: list[str] = []
    # When the request names no goods: "ask" for them (the outcome depends on it) or "skip" the rule.
    unknown_goods: Literal["ask", "skip"] = "ask"
    legal_basis: str
    outcome: Outcome


class Variant(Flagged):
    """An authorisation replaced by another for some applicants and motives (AIMG -> AGIMG)."""

    id: str
    replaces: str
    by: str
    kinds: list[Kind] = []
    motives: list[str] = Field(min_length=1)
    explanation: str


class Exemption(Flagged):
    id: str
    label: str
    legal_basis: str
    flows: list[Flow] = Field(min_length=1)
    kinds: list[Kind] = []
    profiles: list[str] = []
    motives: list[str] = []
    items: ItemFilter = ItemFilter()
    max_firearms: int | None = None
    max_ammunition_per_firearm: int | None = None
    ammunition_allowed: bool = True
    waives: list[str] = Field(min_length=1)
    documents: list[str] = []
    conditions: str


class Suspension(Flagged):
    """An import suspension measure (R316-35-1 CSI), checked at request time."""

    id: str
    reference: str
    flows: list[Flow]
    items: ItemFilter
    start: date
    end: date


# --- documents, applicants, countries -------------------------------------------------------------

class DocumentType(Flagged):
    code: str
    label: str
    description: str


class DocumentRule(Flagged):
    id: str
    documents: list[str] = Field(min_length=1)
    authorisations: list[str] = []
    kinds: list[Kind] = []
    profiles: list[str] = []
    motives: list[str] = []
    flows: list[Flow] = []
    # The rule applies when at least one item of the request matches.
    items: ItemFilter = ItemFilter()
    required: bool = True
    legal_basis: str


class Profile(Flagged):
    code: str
    kind: Kind
    label: str


class Motive(Flagged):
    code: str
    label: str
    flows: list[Flow] = Field(min_length=1)


class FlowDefinition(Strict):
    code: Flow
    label: str
    origin: Literal["france", "eu", "third"]
    destination: Literal["france", "eu", "third"]


class Territory(Flagged):
    code: str
    name: str
    treated_as: Literal["france", "eu", "third"]


class Countries(Strict):
    france: str
    eu_members: list[str]
    territories: list[Territory]
    names: dict[str, str]


class RulesetHeader(Strict):
    version: str
    effective_date: date
    title: str
    description: str
    extends: str | None = None


# --- the whole --------------------------------------------------------------------------------

class Ruleset(Strict):
    version: str
    effective_date: date
    title: str
    description: str
    categories: list[Category]
    descriptors: list[DescriptorTree]
    goods: list[Good]
    authorisation_types: list[AuthorisationType]
    flows: list[FlowDefinition]
    matrix: list[MatrixRule]
    variants: list[Variant] = []
    exemptions: list[Exemption] = []
    suspensions: list[Suspension] = []
    document_types: list[DocumentType]
    document_rules: list[DocumentRule]
    profiles: list[Profile]
    motives: list[Motive]
    countries: Countries

    # -- lookups (built once; the model is frozen) --
    def items(self) -> Iterable[tuple[Category, Group, Item]]:
        for cat in self.categories:
            for group in cat.groups:
                for item in group.items:
                    yield cat, group, item

    @model_validator(mode="after")
    def _referential_integrity(self) -> Ruleset:
        problems: list[str] = []
        item_codes: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for cat, _group, item in self.items():
            if item.code in item_codes:
                problems.append(f"duplicate item code {item.code}")
            if not item.code.startswith(cat.code + "-"):
                problems.append(f"item {item.code} filed under category {cat.code}")
            item_codes[item.code] = cat.code
            for alias in item.aliases:
                if alias in aliases:
                    problems.append(f"alias {alias} used twice")
                aliases[alias] = item.code
        for alias in aliases:
            if alias in item_codes:
                problems.append(f"alias {alias} is also a current item code")
        cat_codes = [c.code for c in self.categories]
        if len(set(cat_codes)) != len(cat_codes):
            problems.append("duplicate category")
        group_codes = [g.code for c in self.categories for g in c.groups]
        if len(set(group_codes)) != len(group_codes):
            problems.append("duplicate group code")

        auth_codes = {a.code for a in self.authorisation_types}
        doc_codes = {d.code for d in self.document_types}
        profile_codes = {p.code for p in self.profiles}
        motive_codes = {m.code for m in self.motives}
        good_codes = [g.code for g in self.goods]
        if len(set(good_codes)) != len(good_codes):
            problems.append("duplicate goods code")
        tags = {t for g in self.goods for t in g.tags}

        def check_filter(where: str, f: ItemFilter) -> None:
            for c in f.categories:
                if c not in cat_codes:
                    problems.append(f"{where}: unknown category {c}")
            for c in f.codes:
                if c not in item_codes:
                    problems.append(f"{where}: unknown item {c}")

        for g in self.goods:
            if g.classification not in item_codes:
                problems.append(f"goods {g.code}: unknown classification {g.classification}")
        for rule in self.matrix:
            check_filter(f"matrix {rule.id}", rule.items)
            if rule.outcome.authorisation and rule.outcome.authorisation not in auth_codes:
                problems.append(f"matrix {rule.id}: unknown authorisation {rule.outcome.authorisation}")
            for t in rule.goods_tags_any:
                if t not in tags:
                    problems.append(f"matrix {rule.id}: no goods carries tag {t}")
        for v in self.variants:
            for a in (v.replaces, v.by):
                if a not in auth_codes:
                    problems.append(f"variant {v.id}: unknown authorisation {a}")
            problems += [f"variant {v.id}: unknown motive {m}" for m in v.motives if m not in motive_codes]
        for e in self.exemptions:
            check_filter(f"exemption {e.id}", e.items)
            problems += [f"exemption {e.id}: unknown authorisation {a}" for a in e.waives if a not in auth_codes]
            problems += [f"exemption {e.id}: unknown document {d}" for d in e.documents if d not in doc_codes]
            problems += [f"exemption {e.id}: unknown profile {p}" for p in e.profiles if p not in profile_codes]
            problems += [f"exemption {e.id}: unknown motive {m}" for m in e.motives if m not in motive_codes]
        for s in self.suspensions:
            check_filter(f"suspension {s.id}", s.items)
        for r in self.document_rules:
            check_filter(f"document rule {r.id}", r.items)
            problems += [f"document rule {r.id}: unknown document {d}" for d in r.documents if d not in doc_codes]
            problems += [f"document rule {r.id}: unknown authorisation {a}" for a in r.authorisations
                         if a not in auth_codes]
            problems += [f"document rule {r.id}: unknown profile {p}" for p in r.profiles if p not in profile_codes]
            problems += [f"document rule {r.id}: unknown motive {m}" for m in r.motives if m not in motive_codes]
        for what, codes in (("profile", [p.code for p in self.profiles]), ("motive", [m.code for m in self.motives]),
                            ("document type", [d.code for d in self.document_types]),
                            ("authorisation type", [a.code for a in self.authorisation_types]),
                            ("matrix rule", [r.id for r in self.matrix]),
                            ("exemption", [e.id for e in self.exemptions]),
                            ("document rule", [r.id for r in self.document_rules]),
                            ("variant", [v.id for v in self.variants])):
            problems += [f"duplicate {what} {c}" for c in sorted({c for c in codes if codes.count(c) > 1})]
        for p in self.profiles:
            if not SNAKE.match(p.code):
                problems.append(f"profile code {p.code} is not snake_case")
        for m in self.motives:
            if not SNAKE.match(m.code):
                problems.append(f"motive code {m.code} is not snake_case")

        # Every authorisation the engine can answer is fully described and has its documents.
        determinable = {a.code for a in self.authorisation_types if a.determinable}
        produced = {r.outcome.authorisation for r in self.matrix if r.outcome.authorisation} | {
            v.by for v in self.variants}
        for code in produced - determinable:
            problems.append(f"authorisation {code} is produced by the rules but not marked determinable")
        documented = {a for r in self.document_rules for a in r.authorisations}
        for code in determinable - documented:
            problems.append(f"authorisation {code} has no document rule")

        # The matrix answers every flow for every item (a request never falls through).
        for flow in FLOWS:
            for cat, _g, item in self.items():
                if not any(flow in r.flows and r.items.matches(item, cat.code) and not r.goods_tags_any
                           for r in self.matrix):
                    problems.append(f"matrix: no rule without goods condition for {flow} x {item.code}")
        if {f.code for f in self.flows} != set(FLOWS):
            problems.append("flows: every flow needs a definition")

        # Countries.
        names = self.countries.names
        for code in [self.countries.france, *self.countries.eu_members, *(t.code for t in self.countries.territories)]:
            if code not in names:
                problems.append(f"countries: unknown country code {code}")
        if self.countries.france not in self.countries.eu_members:
            problems.append("countries: France must be an EU member")

        # Descriptor trees: valid links, no cycle, every item of the category reachable.
        trees = {t.category: t for t in self.descriptors}
        for cat in self.categories:
            tree = trees.get(cat.code)
            if tree is None:
                problems.append(f"descriptors: no tree for category {cat.code}")
                continue
            problems += _check_tree(tree, {i.code for g in cat.groups for i in g.items})
        for dtree in self.descriptors:
            if dtree.category not in cat_codes:
                problems.append(f"descriptors: tree for unknown category {dtree.category}")

        if problems:
            raise ValueError("ruleset " + self.version + " is inconsistent:\n- " + "\n- ".join(problems))
        return self


def _check_tree(tree: DescriptorTree, category_items: set[str]) -> list[str]:
    problems: list[str] = []
    if tree.start not in tree.questions:
        return [f"descriptors {tree.category}: start question {tree.start} missing"]
    reached_items: set[str] = set()
    reached_questions: set[str] = set()

    def walk(qid: str, path: tuple[str, ...]) -> None:
        if qid in path:
            problems.append(f"descriptors {tree.category}: cycle through {qid}")
            return
        reached_questions.add(qid)
        question = tree.questions[qid]
        values = [o.value for o in question.options]
        if len(set(values)) != len(values):
            problems.append(f"descriptors {tree.category}: duplicate option in {qid}")
        for opt in question.options:
            if opt.item is not None:
                if opt.item not in category_items:
                    problems.append(f"descriptors {tree.category}: {qid}/{opt.value} leads to unknown item {opt.item}")
                reached_items.add(opt.item)
            elif opt.next not in tree.questions:
                problems.append(f"descriptors {tree.category}: {qid}/{opt.value} leads to missing question {opt.next}")
            else:
                walk(opt.next, (*path, qid))

    walk(tree.start, ())
    for missing in sorted(category_items - reached_items):
        problems.append(f"descriptors {tree.category}: item {missing} not reachable")
    for orphan in sorted(set(tree.questions) - reached_questions):
        problems.append(f"descriptors {tree.category}: question {orphan} not reachable")
    return problems
