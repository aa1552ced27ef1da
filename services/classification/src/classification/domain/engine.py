"""The authorisation engine: goods + flow + applicant -> authorisation, documents, exemptions.

Plain Python over a :class:`Reference`; every regulatory fact comes from the ruleset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from classification.domain.reference import ItemEntry, Reference
from classification.domain.ruleset import Exemption, MatrixRule, Outcome


class DeterminationError(Exception):
    """A request the engine cannot answer; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.extra = extra


@dataclass(frozen=True)
class RequestedItem:
    classification_code: str
    quantity: int
    goods_code: str | None = None


@dataclass(frozen=True)
class DeterminationRequest:
    flow: str
    origin_country: str
    destination_country: str
    kind: str
    profile: str
    items: list[RequestedItem]
    motive: str | None = None


@dataclass
class ItemDecision:
    line: int
    requested_code: str
    classification_code: str
    goods_code: str | None
    quantity: int
    category: str
    label: str
    authorisation: str | None
    outside_scope: bool
    procedure: str | None
    rule_id: str
    legal_basis: str
    explanation: str
    waived_by: str | None = None

    def key(self) -> tuple[str | None, bool, str | None]:
        return self.authorisation, self.outside_scope, self.procedure

    def summary(self) -> str:
        if self.outside_scope:
            return f"hors e-APS : {self.procedure}"
        if self.authorisation:
            return self.authorisation
        return "aucune autorisation requise"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line, "requested_code": self.requested_code,
            "classification_code": self.classification_code, "goods_code": self.goods_code,
            "quantity": self.quantity, "category": self.category, "label": self.label,
            "authorisation": self.authorisation, "outside_scope": self.outside_scope,
            "outside_scope_procedure": self.procedure, "rule": self.rule_id, "legal_basis": self.legal_basis,
            "explanation": self.explanation, "waived_by": self.waived_by, "needs": self.summary(),
        }


@dataclass
class Determination:
    authorisation: str | None
    authorisation_name: str | None
    outside_scope: bool
    outside_scope_procedure: str | None
    required_documents: list[str]
    optional_documents: list[str]
    exemptions: list[dict[str, Any]]
    ruleset_version: str
    explanation: str
    items: list[ItemDecision]
    assumptions: list[dict[str, str]] = field(default_factory=list)


def territory_of(ref: Reference, country: str) -> str:
    """'france', 'eu' or 'third' for the flows."""
    countries = ref.ruleset.countries
    for t in countries.territories:
        if t.code == country:
            return t.treated_as
    if country == countries.france:
        return "france"
    return "eu" if country in countries.eu_members else "third"


_EXPECTED_FR = {"france": "la France", "eu": "un État membre de l'Union européenne",
                "third": "un pays tiers ou un territoire hors du territoire douanier de l'Union"}
_ACTUAL_FR = {"france": "est la France (ou assimilé)", "eu": "est un État membre de l'Union européenne",
              "third": "est un pays tiers ou un territoire hors du territoire douanier de l'Union"}


def determine(ref: Reference, req: DeterminationRequest, *, today: date) -> Determination:
    rs = ref.ruleset
    _check_vocabulary(ref, req)
    _check_flow_and_countries(ref, req)
    # _check_vocabulary refused unknown codes: every requested item resolves.
    entries = [e for e in (ref.resolve_item(i.classification_code) for i in req.items) if e is not None]
    _check_suspensions(ref, req, entries, today)

    assumptions: list[dict[str, str]] = []
    decisions: list[ItemDecision] = []
    undetermined: list[dict[str, Any]] = []
    for line, (requested, entry) in enumerate(zip(req.items, entries, strict=True), start=1):
        tags = ref.goods[requested.goods_code].tags if requested.goods_code else None
        rule = _match(rs.matrix, req.flow, entry, tags)
        if rule is None:
            candidates = ref.goods_by_item.get(entry.item.code, [])
            undetermined.append({
                "line": line, "classification_code": entry.item.code,
                "message": f"Précisez la marchandise de la ligne {line} ({entry.item.code}) : "
                           "l'autorisation dépend de ses caractéristiques.",
                "goods": [{"code": g.code, "label": g.label} for g in candidates],
            })
            continue
        if rule.assumption and rule.note:
            assumptions.append({"source": f"matrice {rule.id}", "note": rule.note})
        decisions.append(_decision(line, requested, entry, rule))
    if undetermined:
        raise DeterminationError(
            422, "La marchandise doit être précisée (goods_code) pour déterminer l'autorisation : "
                 + ", ".join(u["classification_code"] for u in undetermined) + ".",
            errors=[{"field": f"items.{u['line'] - 1}.goods_code", "message": u["message"]} for u in undetermined],
            undetermined_items=undetermined)

    variant_notes = _apply_variants(ref, req, decisions, assumptions)
    applied = _apply_exemptions(ref, req, entries, decisions, assumptions)

    groups: dict[tuple[str | None, bool, str | None], list[ItemDecision]] = {}
    for d in decisions:
        groups.setdefault(d.key(), []).append(d)
    if len(groups) > 1:
        lines = "; ".join(f"ligne {d.line} ({d.classification_code}) : {d.summary()}" for d in decisions)
        raise DeterminationError(
            409, "Les marchandises de cette demande ne relèvent pas de la même autorisation (" + lines
                 + "). Il vous faudra alors faire plusieurs demandes différentes, une par autorisation.",
            items=[d.as_dict() for d in decisions], ruleset_version=ref.version)

    authorisation, outside, procedure = next(iter(groups))
    auth_type = next((a for a in rs.authorisation_types if a.code == authorisation), None)
    required, optional = _documents(ref, req, entries, authorisation, applied, assumptions)
    explanation = _explain(ref, req, decisions, variant_notes, applied, authorisation)
    return Determination(
        authorisation=authorisation,
        authorisation_name=auth_type.name if auth_type else None,
        outside_scope=outside,
        outside_scope_procedure=procedure,
        required_documents=required,
        optional_documents=optional,
        exemptions=[_exemption_view(e) for e in applied],
        ruleset_version=ref.version,
        explanation=explanation,
        items=decisions,
        assumptions=assumptions,
    )


# --- checks -------------------------------------------------------------------------------------

def _check_vocabulary(ref: Reference, req: DeterminationRequest) -> None:
    rs = ref.ruleset
    errors: list[dict[str, Any]] = []
    names = rs.countries.names
    for fld in ("origin_country", "destination_country"):
        code = getattr(req, fld)
        if code not in names:
            errors.append({"field": fld, "message": f"Code pays « {code} » inconnu (ISO 3166-1 alpha-2 attendu)."})
    profile = next((p for p in rs.profiles if p.code == req.profile), None)
    if profile is None:
        errors.append({"field": "applicant.profile", "message": f"Profil « {req.profile} » inconnu."})
    elif profile.kind != req.kind:
        kind_fr = "professionnel" if profile.kind == "professional" else "particulier"
        errors.append({"field": "applicant.profile",
                       "message": f"Le profil « {profile.label} » est un profil de {kind_fr}."})
    if req.motive is not None:
        motive = next((m for m in rs.motives if m.code == req.motive), None)
        if motive is None:
            errors.append({"field": "motive", "message": f"Motif « {req.motive} » inconnu."})
        elif req.flow not in motive.flows:
            errors.append({"field": "motive",
                           "message": f"Le motif « {motive.label} » ne s'applique pas au flux {req.flow}."})
    unknown: list[str] = []
    for idx, item in enumerate(req.items):
        entry = ref.resolve_item(item.classification_code)
        if entry is None:
            unknown.append(item.classification_code)
            errors.append({"field": f"items.{idx}.classification_code",
                           "message": f"Classement « {item.classification_code} » inconnu."})
        elif item.goods_code is not None:
            good = ref.goods.get(item.goods_code)
            if good is None:
                errors.append({"field": f"items.{idx}.goods_code",
                               "message": f"Marchandise « {item.goods_code} » inconnue."})
            elif good.classification != entry.item.code:
                errors.append({"field": f"items.{idx}.goods_code",
                               "message": f"La marchandise « {good.label} » relève du classement "
                                          f"{good.classification}, et non de {entry.item.code}."})
    if errors:
        detail = ("Classement(s) inconnu(s) : " + ", ".join(unknown) + "." if unknown and len(unknown) == len(errors)
                  else "Certaines données de la demande sont invalides : "
                  + " ".join(e["message"] for e in errors))
        raise DeterminationError(422, detail, errors=errors, unknown_codes=unknown or None)


def _check_flow_and_countries(ref: Reference, req: DeterminationRequest) -> None:
    flow = next(f for f in ref.ruleset.flows if f.code == req.flow)
    names = ref.ruleset.countries.names
    errors = []
    for fld, code, expected in (("origin_country", req.origin_country, flow.origin),
                                ("destination_country", req.destination_country, flow.destination)):
        actual = territory_of(ref, code)
        if actual != expected:
            role = "d'origine" if fld == "origin_country" else "de destination"
            errors.append({"field": fld, "message": (
                f"Le flux {flow.code} ({flow.label}) suppose comme pays {role} {_EXPECTED_FR[expected]} ; "
                f"« {code} » ({names[code]}) {_ACTUAL_FR[actual]}.")})
    if errors:
        raise DeterminationError(422, "Le flux ne correspond pas aux pays indiqués. "
                                 + " ".join(e["message"] for e in errors), errors=errors)


def _check_suspensions(ref: Reference, req: DeterminationRequest, entries: list[ItemEntry], today: date) -> None:
    active = [s for s in ref.ruleset.suspensions if req.flow in s.flows and s.start <= today <= s.end]
    hits = []
    for s in active:
        for e in entries:
            if s.items.matches(e.item, e.category.code):
                hits.append({"classification_code": e.item.code, "suspension": s.id, "reference": s.reference,
                             "until": s.end.isoformat()})
    if hits:
        raise DeterminationError(
            409, "Une mesure de suspension est en vigueur pour ce flux : "
                 + "; ".join(f"{h['classification_code']} jusqu'au {h['until']} ({h['reference']})" for h in hits)
                 + ". Aucune demande ne peut être déposée pendant la suspension (R316-35-1 CSI).",
            suspensions=hits, ruleset_version=ref.version)


# --- matrix, variants, exemptions --------------------------------------------------------------

def _match(rules: list[MatrixRule], flow: str, entry: ItemEntry, tags: list[str] | None) -> MatrixRule | None:
    """First rule that applies; ``None`` when the outcome depends on goods the request did not name."""
    for rule in rules:
        if flow not in rule.flows or not rule.items.matches(entry.item, entry.category.code):
            continue
        if rule.goods_tags_any:
            if tags is None:  # the request names no goods
                if rule.unknown_goods == "ask":
                    return None
                continue
            if not set(rule.goods_tags_any) & set(tags):
                continue
        return rule
    raise AssertionError("the ruleset validator guarantees a rule for every flow and item")


def _decision(line: int, requested: RequestedItem, entry: ItemEntry, rule: MatrixRule) -> ItemDecision:
    out: Outcome = rule.outcome
    return ItemDecision(
        line=line, requested_code=requested.classification_code, classification_code=entry.item.code,
        goods_code=requested.goods_code, quantity=requested.quantity, category=entry.category.code,
        label=entry.item.label, authorisation=out.authorisation, outside_scope=out.kind == "outside_scope",
        procedure=out.procedure, rule_id=rule.id, legal_basis=rule.legal_basis, explanation=out.explanation)


def _apply_variants(ref: Reference, req: DeterminationRequest, decisions: list[ItemDecision],
                    assumptions: list[dict[str, str]]) -> list[str]:
    notes: list[str] = []
    for v in ref.ruleset.variants:
        if (v.kinds and req.kind not in v.kinds) or req.motive not in v.motives:
            continue
        changed = [d for d in decisions if d.authorisation == v.replaces]
        for d in changed:
            d.authorisation = v.by
        if changed:
            notes.append(v.explanation)
            if v.assumption and v.note:
                assumptions.append({"source": f"variante {v.id}", "note": v.note})
    return notes


def _exemption_holds(ex: Exemption, req: DeterminationRequest, entries: list[ItemEntry]) -> bool:
    if req.flow not in ex.flows:
        return False
    if ex.kinds and req.kind not in ex.kinds:
        return False
    if ex.profiles and req.profile not in ex.profiles:
        return False
    if ex.motives and req.motive not in ex.motives:
        return False
    if not all(ex.items.matches(e.item, e.category.code) for e in entries):
        return False
    firearms = sum(i.quantity for i, e in zip(req.items, entries, strict=True) if e.item.nature == "arme")
    ammunition = sum(i.quantity for i, e in zip(req.items, entries, strict=True) if e.item.nature == "munition")
    if ex.max_firearms is not None and firearms > ex.max_firearms:
        return False
    if ammunition and not ex.ammunition_allowed:
        return False
    return not (ex.max_ammunition_per_firearm is not None and ammunition > ex.max_ammunition_per_firearm * firearms)


def _apply_exemptions(ref: Reference, req: DeterminationRequest, entries: list[ItemEntry],
                      decisions: list[ItemDecision], assumptions: list[dict[str, str]]) -> list[Exemption]:
    applied: list[Exemption] = []
    for ex in ref.ruleset.exemptions:
        if not _exemption_holds(ex, req, entries):
            continue
        applied.append(ex)
        for d in decisions:
            if d.authorisation in ex.waives:
                d.authorisation = None
                d.waived_by = ex.id
        if ex.assumption and ex.note:
            assumptions.append({"source": f"dispense {ex.id}", "note": ex.note})
    return applied


def _exemption_view(ex: Exemption) -> dict[str, Any]:
    return {"code": ex.id, "label": ex.label, "legal_basis": ex.legal_basis, "waives": ex.waives,
            "conditions": ex.conditions, "documents": ex.documents, "assumption": ex.assumption, "note": ex.note}


# --- documents and explanation -----------------------------------------------------------------

def _documents(ref: Reference, req: DeterminationRequest, entries: list[ItemEntry], authorisation: str | None,
               applied: list[Exemption], assumptions: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    required: set[str] = set()
    optional: set[str] = set()
    if authorisation is not None:
        for rule in ref.ruleset.document_rules:
            if rule.authorisations and authorisation not in rule.authorisations:
                continue
            if rule.kinds and req.kind not in rule.kinds:
                continue
            if rule.profiles and req.profile not in rule.profiles:
                continue
            if rule.motives and req.motive not in rule.motives:
                continue
            if rule.flows and req.flow not in rule.flows:
                continue
            if not any(rule.items.matches(e.item, e.category.code) for e in entries):
                continue
            (required if rule.required else optional).update(rule.documents)
            if rule.assumption and rule.note:
                assumptions.append({"source": f"justificatif {rule.id}", "note": rule.note})
    for ex in applied:
        required.update(ex.documents)
    order = [d.code for d in ref.ruleset.document_types]
    optional -= required
    return sorted(required, key=order.index), sorted(optional, key=order.index)


def _explain(ref: Reference, req: DeterminationRequest, decisions: list[ItemDecision], variant_notes: list[str],
             applied: list[Exemption], authorisation: str | None) -> str:
    flow = next(f for f in ref.ruleset.flows if f.code == req.flow)
    codes = ", ".join(dict.fromkeys(d.classification_code for d in decisions))
    parts = [f"{flow.label} ({req.origin_country} → {req.destination_country}) de marchandises classées {codes}."]
    parts += list(dict.fromkeys(d.explanation for d in decisions))
    parts += variant_notes
    for ex in applied:
        parts.append(f"Dispense applicable : {ex.label} ({ex.legal_basis}). Conditions : {ex.conditions}")
    if authorisation is None and any(d.waived_by for d in decisions):
        parts.append("Aucune autorisation n'est donc à demander pour cette opération.")
    elif authorisation is not None:
        name = next(a.name for a in ref.ruleset.authorisation_types if a.code == authorisation)
        parts.append(f"Autorisation à demander : {name} ({authorisation}).")
    parts.append(f"Référentiel réglementaire appliqué : version {ref.version}.")
    return " ".join(parts)
