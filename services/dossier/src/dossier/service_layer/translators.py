"""From the dossier aggregate to the contract events' snapshot."""

from __future__ import annotations

from typing import Any

from eaps_contracts.events.common import Address, AttachedDocument, MaterialLine, Party
from eaps_contracts.events.dossier_v1 import ApplicantSnapshot, DossierSnapshot

from dossier.domain.model import Dossier


def _party(p: dict[str, Any] | None) -> Party | None:
    if not p or not p.get("name"):
        return None
    a = p.get("address") or {}
    return Party(name=p["name"], address=Address(line1=a.get("line1") or "", line2=a.get("line2"),
                                                 postal_code=a.get("postal_code"), city=a.get("city") or "",
                                                 country=a.get("country") or ""),
                 siret=p.get("siret"), eori=p.get("eori"), email=p.get("email"), phone=p.get("phone"))


def snapshot(d: Dossier) -> DossierSnapshot:
    g, p = d.general, d.parties
    a = p.get("applicant") or {}
    details = {k: str(v) for k, v in (g.get("profile_details") or {}).items() if v not in (None, "")}
    applicant = ApplicantSnapshot(
        account_id=d.owner_account_id, operator_id=d.operator_id, kind=g["applicant_kind"], profile=g["profile"],
        first_name=a.get("first_name"), last_name=a.get("last_name"),
        company_name=a.get("company_name") or details.get("company_name"),
        siret=details.get("siret") or a.get("siret"), eori=details.get("eori") or a.get("eori"),
        email=a.get("email"), phone=a.get("phone"), address=a.get("address"), profile_details=details or None)
    assert d.registration_number and d.submitted_at and d.authorisation_type and d.ruleset_version
    return DossierSnapshot(
        dossier_id=d.id, registration_number=d.registration_number, submission_no=d.submission_no,
        submitted_at=d.submitted_at, applicant=applicant, flow=g["flow"], origin_country=g["origin_country"],
        destination_country=g["destination_country"], authorisation_type=d.authorisation_type,
        ruleset_version=d.ruleset_version, motive=p["motive"], motive_details=p.get("motive_details"),
        sender=_party(p.get("sender")), recipient=_party(p.get("recipient")),
        lines=[MaterialLine(line_no=ln.line_no, classification_code=ln.classification_code,
                            designation=ln.designation, brand=ln.brand, model=ln.model, calibre=ln.calibre,
                            quantity=ln.quantity, unit_value_eur=ln.unit_value_eur,
                            serial_numbers=list(ln.serial_numbers)) for ln in d.lines],
        attachments=[AttachedDocument(document_code=j.code, document_id=j.document_id,
                                      pinned_document_id=j.pinned_document_id, filename=j.filename or "",
                                      sha256=j.sha256)
                     for j in d.justificatifs.values() if j.document_id is not None],
    )


def comparable(s: dict[str, Any]) -> dict[str, Any]:
    """A submitted snapshot without what always changes between submissions."""
    out = {k: v for k, v in s.items() if k not in ("submission_no", "submitted_at")}
    out["lines"] = {str(ln["line_no"]): ln for ln in s.get("lines") or []}
    out["attachments"] = {a["document_code"]: {k: v for k, v in a.items() if k != "pinned_document_id"}
                          for a in s.get("attachments") or []}
    return out
