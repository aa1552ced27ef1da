"""The classification aid: the known-classification path and the « Descriptif » (unknown) path.

Both answer one step at a time, in a shape a form can render directly: what was chosen so far
(with French labels), the next field with its ordered options, or the classification reached
with the goods to pick.
"""

from __future__ import annotations

from typing import Any

from classification.domain.engine import DeterminationError
from classification.domain.reference import ItemEntry, Reference
from classification.domain.ruleset import Category


def category_view(cat: Category) -> dict[str, Any]:
    return {"code": cat.code, "label": cat.label, "description": cat.description,
            "legal_reference": cat.legal_reference, "legal_text_url": cat.legal_text_url}


def item_view(ref: Reference, entry: ItemEntry, *, with_goods: bool = True) -> dict[str, Any]:
    item = entry.item
    view: dict[str, Any] = {
        "code": item.code, "label": item.label, "official_ref": item.official_ref,
        "description": item.description, "category": entry.category.code,
        "category_label": entry.category.label, "group": entry.group.code, "group_label": entry.group.label,
        "firearm": item.firearm, "nature": item.nature, "aliases": item.aliases,
        "assumption": item.assumption, "note": item.note,
        "legal_text_url": entry.category.legal_text_url,
    }
    if with_goods:
        view["goods"] = [{"code": g.code, "label": g.label, "tags": g.tags}
                         for g in ref.goods_by_item.get(item.code, [])]
    return view


def tree(ref: Reference) -> list[dict[str, Any]]:
    return [{
        **category_view(cat),
        "groups": [{"code": g.code, "label": g.label,
                    "items": [{"code": i.code, "label": i.label, "official_ref": i.official_ref,
                               "firearm": i.firearm, "nature": i.nature, "assumption": i.assumption}
                              for i in g.items]}
                   for g in cat.groups],
    } for cat in ref.ruleset.categories]


def _category(ref: Reference, code: str) -> Category:
    cat = ref.categories.get(code)
    if cat is None:
        raise DeterminationError(
            422, f"Catégorie « {code} » inconnue ; catégories possibles : {', '.join(ref.categories)}.",
            errors=[{"field": "category", "message": "Catégorie inconnue."}])
    return cat


def known_path(ref: Reference, category: str, field1: str | None, field2: str | None) -> dict[str, Any]:
    cat = _category(ref, category)
    selections: list[dict[str, Any]] = [
        {"field": "category", "label": "Catégorie (article R311-2 du CSI)", "value": cat.code,
         "value_label": cat.label}]
    result: dict[str, Any] = {"ruleset_version": ref.version, "category": category_view(cat),
                              "selections": selections, "next_field": None, "complete": False,
                              "classifications": []}
    group_options = [{"value": g.code, "label": g.label} for g in cat.groups]
    if field1 is None:
        if field2 is not None:
            raise DeterminationError(422, "Le second champ ne peut être renseigné sans le premier.",
                                     errors=[{"field": "field2", "message": "Renseignez d'abord le premier champ."}])
        result["next_field"] = {"name": "field1", "label": "Rubrique", "options": group_options}
        return result
    group = next((g for g in cat.groups if g.code == field1), None)
    if group is None:
        raise DeterminationError(
            422, f"Rubrique « {field1} » inconnue pour la catégorie {cat.code}.",
            errors=[{"field": "field1", "message": "Choix invalide.", "options": group_options}])
    selections.append({"field": "field1", "label": "Rubrique", "value": group.code, "value_label": group.label})
    if len(group.items) == 1:
        if field2 is not None and field2 != group.items[0].code:
            raise DeterminationError(422, f"La rubrique « {group.label} » ne comporte pas de second champ.",
                                     errors=[{"field": "field2", "message": "Champ non attendu."}])
        chosen = group.items
    elif field2 is None:
        result["next_field"] = {"name": "field2", "label": group.field_label,
                                "options": [{"value": i.code, "label": f"{i.code} — {i.label}"} for i in group.items]}
        return result
    else:
        chosen = [i for i in group.items if i.code == field2]
        if not chosen:
            raise DeterminationError(
                422, f"Choix « {field2} » invalide pour la rubrique « {group.label} ».",
                errors=[{"field": "field2", "message": "Choix invalide.",
                         "options": [{"value": i.code, "label": i.label} for i in group.items]}])
        selections.append({"field": "field2", "label": group.field_label, "value": chosen[0].code,
                           "value_label": chosen[0].label})
    result["complete"] = True
    result["classifications"] = [item_view(ref, ref.items[i.code]) for i in chosen]
    return result


def descriptor_path(ref: Reference, category: str, answers: list[str]) -> dict[str, Any]:
    cat = _category(ref, category)
    tree = next(t for t in ref.ruleset.descriptors if t.category == cat.code)
    route: list[dict[str, Any]] = []
    qid: str | None = tree.start
    reached: str | None = None
    for step, answer in enumerate(answers, start=1):
        if qid is None:
            raise DeterminationError(
                422, f"Trop de réponses : le classement est déterminé après {step - 1} descriptif(s).",
                errors=[{"field": f"answers.{step - 1}", "message": "Réponse non attendue."}])
        question = tree.questions[qid]
        option = next((o for o in question.options if o.value == answer), None)
        if option is None:
            raise DeterminationError(
                422, f"Réponse « {answer} » invalide pour le descriptif n° {step} (« {question.text} »).",
                errors=[{"field": f"answers.{step - 1}", "message": "Choix invalide.",
                         "options": [{"value": o.value, "label": o.label} for o in question.options]}])
        route.append({"step": step, "question_id": qid, "question": question.text,
                      "answer": option.value, "answer_label": option.label})
        qid, reached = option.next, option.item
    result: dict[str, Any] = {"ruleset_version": ref.version, "category": category_view(cat), "route": route,
                              "next_question": None, "complete": reached is not None, "classification": None}
    if reached is not None:
        result["classification"] = item_view(ref, ref.items[reached])
    else:
        assert qid is not None
        question = tree.questions[qid]
        result["next_question"] = {
            "step": len(route) + 1, "label": f"Descriptif {len(route) + 1}", "question_id": qid,
            "text": question.text, "options": [{"value": o.value, "label": o.label} for o in question.options]}
    return result
