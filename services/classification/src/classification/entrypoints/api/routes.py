"""Public classification API (no sign-in) and the internal reload route. Thin: parse, call the
domain on the version asked for (or the one in force), render."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from eaps_kit.internal import require_internal
from eaps_kit.problems import ProblemError
from fastapi import APIRouter, Depends, Query, Request, Response

from classification.domain import aid
from classification.domain.engine import (
    DeterminationError,
    DeterminationRequest,
    RequestedItem,
    determine,
    territory_of,
)
from classification.domain.reference import NoRulesetInForce, Reference
from classification.entrypoints.api.schemas import JSON, DeterminationIn, DeterminationRead, RulesetRead
from classification.service_layer.catalogue import Catalogue, RulesetConflict, UnknownVersion

router = APIRouter(prefix="/api/v1/classification", tags=["classification"])
internal = APIRouter(prefix="/internal/classification", tags=["interne"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Version du référentiel ou code inconnu", "content": {"application/problem+json": {}}},
    422: {"description": "Données invalides", "content": {"application/problem+json": {}}},
}


def catalogue(request: Request) -> Catalogue:
    cat: Catalogue = request.app.state.runtime.extras["catalogue"]
    return cat


def reference(
    response: Response,
    cat: Annotated[Catalogue, Depends(catalogue)],
    ruleset_version: Annotated[str | None, Query(max_length=64, description=(
        "Version du référentiel à appliquer (par défaut celle en vigueur) : permet de rejouer une réponse "
        "déjà donnée."))] = None,
) -> Reference:
    try:
        ref = cat.pick(ruleset_version)
    except UnknownVersion:
        raise ProblemError(404, f"La version « {ruleset_version} » du référentiel est inconnue.") from None
    except NoRulesetInForce:
        raise ProblemError(503, "Aucune version du référentiel n'est en vigueur à cette date.") from None
    response.headers["X-Ruleset-Version"] = ref.version
    return ref


Ref = Annotated[Reference, Depends(reference)]


def _problem(exc: DeterminationError) -> ProblemError:
    return ProblemError(exc.status, exc.detail, errors=exc.errors, **exc.extra)


@router.get("/categories", summary="Arborescence des catégories et des classements (R311-2 CSI)")
async def list_categories(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version, "categories": aid.tree(ref)}


@router.get("/categories/{code}", summary="Une catégorie, ses rubriques, ses classements et le lien vers R311-2",
            responses=PROBLEMS)
async def get_category(code: str, ref: Ref) -> JSON:
    for cat in aid.tree(ref):
        if cat["code"] == code:
            return {"ruleset_version": ref.version, **cat}
    raise ProblemError(404, f"La catégorie « {code} » n'existe pas (catégories : {', '.join(ref.categories)}).")


@router.get("/items/{code}", summary="Un classement (code actuel ou ancienne numérotation) et ses marchandises",
            responses=PROBLEMS)
async def get_item(code: str, ref: Ref) -> JSON:
    entry = ref.resolve_item(code)
    if entry is None:
        raise ProblemError(404, f"Le classement « {code} » n'existe pas dans le référentiel {ref.version}.")
    return {"ruleset_version": ref.version, "requested_code": code, **aid.item_view(ref, entry)}


@router.get("/known-path", summary="Classement connu : catégorie, puis un ou deux champs, puis les classements",
            responses=PROBLEMS)
async def known_path(
    ref: Ref,
    category: Annotated[str, Query(max_length=8)],
    field1: Annotated[str | None, Query(max_length=64)] = None,
    field2: Annotated[str | None, Query(max_length=64)] = None,
) -> JSON:
    try:
        return aid.known_path(ref, category, field1, field2)
    except DeterminationError as exc:
        raise _problem(exc) from None


@router.get("/descriptor-path", summary="Classement inconnu : descriptifs successifs jusqu'au classement",
            responses=PROBLEMS)
async def descriptor_path(
    ref: Ref,
    category: Annotated[str, Query(max_length=8)],
    answers: Annotated[list[str], Query(max_length=20, description="Réponses aux descriptifs, dans l'ordre")] = [],  # noqa: B006
) -> JSON:
    try:
        return aid.descriptor_path(ref, category, answers)
    except DeterminationError as exc:
        raise _problem(exc) from None


@router.post("/determinations", response_model=DeterminationRead,
             summary="Autorisation à demander, justificatifs et dispenses pour un flux et des marchandises",
             responses={**PROBLEMS, 409: {"description": "Marchandises relevant d'autorisations différentes",
                                          "content": {"application/problem+json": {}}}})
async def create_determination(body: DeterminationIn, ref: Ref, cat: Annotated[Catalogue, Depends(catalogue)]) -> JSON:
    req = DeterminationRequest(
        flow=body.flow, origin_country=body.origin_country, destination_country=body.destination_country,
        kind=body.applicant.kind, profile=body.applicant.profile, motive=body.motive,
        items=[RequestedItem(i.classification_code, i.quantity, i.goods_code) for i in body.items])
    try:
        result = determine(ref, req, today=cat.clock())
    except DeterminationError as exc:
        raise _problem(exc) from None
    out = asdict(result)
    out["items"] = [d.as_dict() for d in result.items]
    return out


@router.get("/authorisation-types", summary="Types d'autorisation, durées de validité et délais d'instruction")
async def list_authorisation_types(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version,
            "authorisation_types": [a.model_dump() for a in ref.ruleset.authorisation_types]}


@router.get("/document-types", summary="Types de justificatifs")
async def list_document_types(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version, "document_types": [d.model_dump() for d in ref.ruleset.document_types]}


@router.get("/profiles", summary="Profils de demandeur (particulier ou professionnel)")
async def list_profiles(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version, "profiles": [p.model_dump() for p in ref.ruleset.profiles]}


@router.get("/motives", summary="Motifs de l'opération et flux auxquels ils s'appliquent")
async def list_motives(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version, "motives": [m.model_dump() for m in ref.ruleset.motives]}


@router.get("/flows", summary="Flux (importation, introduction, exportation, expédition)")
async def list_flows(ref: Ref) -> JSON:
    return {"ruleset_version": ref.version, "flows": [f.model_dump() for f in ref.ruleset.flows]}


@router.get("/countries", summary="Pays, appartenance à l'Union européenne et traitement pour les flux")
async def list_countries(ref: Ref) -> JSON:
    c = ref.ruleset.countries
    territories = {t.code: t for t in c.territories}
    rows = []
    for code, name in sorted(c.names.items(), key=lambda kv: kv[1]):
        t = territories.get(code)
        rows.append({"code": code, "name": name, "eu_member": code in c.eu_members,
                     "treated_as": territory_of(ref, code), "note": t.note if t else None})
    return {"ruleset_version": ref.version, "france": c.france, "countries": rows}


@router.get("/rulesets", summary="Versions du référentiel, dates d'effet et version en vigueur",
            response_model=list[RulesetRead])
async def list_rulesets(cat: Annotated[Catalogue, Depends(catalogue)]) -> list[JSON]:
    try:
        current = cat.in_force().version
    except NoRulesetInForce:
        current = None
    today = cat.clock()
    return [{"version": r.version, "effective_date": r.effective_date.isoformat(), "title": r.ruleset.title,
             "description": r.ruleset.description, "sha256": r.sha256, "item_count": r.item_count(),
             "in_force": r.version == current, "future": r.effective_date > today}
            for r in cat.versions.all()]


@internal.post("/rulesets/reload", dependencies=[Depends(require_internal)],
               summary="Relire les répertoires de versions et publier les nouvelles")
async def reload_rulesets(request: Request, cat: Annotated[Catalogue, Depends(catalogue)]) -> JSON:
    try:
        published = await cat.load(request.app.state.runtime.session_factory)
    except RulesetConflict as exc:
        raise ProblemError(409, "Une version déjà publiée a été modifiée : publiez une nouvelle version.",
                           reason=str(exc)) from None
    except ValueError as exc:  # invalid files: report them, keep serving what was loaded
        raise ProblemError(422, "Le référentiel est invalide.", reason=str(exc)) from None
    return {"published": published, "versions": [r.version for r in cat.versions.all()]}
