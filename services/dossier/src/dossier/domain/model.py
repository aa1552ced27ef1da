"""The dossier aggregate and its rules: steps, completeness, statuses, order-tolerant updates.

Plain Python: no framework, no I/O. The service layer loads a ``Dossier``, calls these
functions and saves it back inside one transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dossier.domain.errors import Conflict, Invalid
from dossier.domain.reference import Reference


class Status(StrEnum):
    BROUILLON = "brouillon"
    A_COMPLETER = "a_completer"
    TRANSMISE = "transmise"
    EN_ETUDE = "en_etude"
    EN_INSTRUCTION = "en_instruction"
    EN_DECISION = "en_decision"
    IRRECEVABLE = "irrecevable"
    ACCORDEE = "accordee"
    REFUSEE = "refusee"
    REJET_IMPLICITE = "rejet_implicite"
    RETIREE = "retiree"


TERMINAL = {Status.IRRECEVABLE, Status.ACCORDEE, Status.REFUSEE, Status.REJET_IMPLICITE, Status.RETIREE}
EDITABLE = {Status.BROUILLON, Status.A_COMPLETER}
WITHDRAWABLE = {Status.A_COMPLETER, Status.TRANSMISE, Status.EN_ETUDE, Status.EN_INSTRUCTION, Status.EN_DECISION}

REGISTRATION_RE = re.compile(r"^EAPS-\d{4}-\d{6}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


class JustificatifState(StrEnum):
    MANQUANT = "manquant"
    EN_ANALYSE = "en_analyse"
    DISPONIBLE = "disponible"
    REFUSE = "refuse"


DOCUMENT_STATUS_TO_STATE = {
    "pending_scan": JustificatifState.EN_ANALYSE,
    "available": JustificatifState.DISPONIBLE,
    "rejected": JustificatifState.REFUSE,
}


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Line:
    line_no: int
    classification_code: str
    designation: str
    quantity: int
    brand: str | None = None
    model: str | None = None
    calibre: str | None = None
    unit_value_eur: Decimal | None = None
    serial_numbers: list[str] = field(default_factory=list)
    classification_label: str | None = None
    classification_path: str | None = None  # "known" | "unknown": how the aid reached the code

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_no": self.line_no, "classification_code": self.classification_code,
            "classification_label": self.classification_label, "classification_path": self.classification_path,
            "designation": self.designation, "brand": self.brand, "model": self.model, "calibre": self.calibre,
            "quantity": self.quantity,
            "unit_value_eur": str(self.unit_value_eur) if self.unit_value_eur is not None else None,
            "serial_numbers": list(self.serial_numbers),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        value = d.get("unit_value_eur")
        return cls(line_no=int(d["line_no"]), classification_code=d["classification_code"],
                   designation=d["designation"], quantity=int(d["quantity"]), brand=d.get("brand"),
                   model=d.get("model"), calibre=d.get("calibre"),
                   unit_value_eur=Decimal(value) if value not in (None, "") else None,
                   serial_numbers=list(d.get("serial_numbers") or []),
                   classification_label=d.get("classification_label"),
                   classification_path=d.get("classification_path"))

    @property
    def total_value(self) -> Decimal | None:
        return self.unit_value_eur * self.quantity if self.unit_value_eur is not None else None


@dataclass
class Justificatif:
    code: str
    document_id: uuid.UUID | None = None
    filename: str | None = None
    title: str | None = None
    state: JustificatifState = JustificatifState.MANQUANT
    rejection_reason: str | None = None
    pinned_document_id: uuid.UUID | None = None
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "document_id": str(self.document_id) if self.document_id else None,
                "filename": self.filename, "title": self.title, "state": self.state.value,
                "rejection_reason": self.rejection_reason,
                "pinned_document_id": str(self.pinned_document_id) if self.pinned_document_id else None,
                "sha256": self.sha256}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Justificatif:
        return cls(code=d["code"], document_id=_uuid(d.get("document_id")), filename=d.get("filename"),
                   title=d.get("title"), state=JustificatifState(d.get("state", "manquant")),
                   rejection_reason=d.get("rejection_reason"),
                   pinned_document_id=_uuid(d.get("pinned_document_id")), sha256=d.get("sha256"))


def _uuid(v: Any) -> uuid.UUID | None:
    return uuid.UUID(str(v)) if v else None


@dataclass
class Dossier:
    id: uuid.UUID
    owner_account_id: uuid.UUID
    operator_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    status: Status = Status.BROUILLON
    version: int = 1
    general: dict[str, Any] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    determination: dict[str, Any] | None = None
    parties: dict[str, Any] = field(default_factory=dict)
    justificatifs: dict[str, Justificatif] = field(default_factory=dict)
    registration_number: str | None = None
    submission_no: int = 0
    submitted_at: datetime | None = None
    first_submitted_at: datetime | None = None
    completion: dict[str, Any] | None = None
    status_event_at: datetime | None = None
    closed_at: datetime | None = None

    # --- derived -----------------------------------------------------------------------
    @property
    def authorisation_type(self) -> str | None:
        return (self.determination or {}).get("authorisation")

    @property
    def ruleset_version(self) -> str | None:
        return (self.determination or {}).get("ruleset_version")

    @property
    def required_documents(self) -> list[str]:
        return list((self.determination or {}).get("required_documents") or [])

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    def next_line_no(self) -> int:
        return max((ln.line_no for ln in self.lines), default=0) + 1

    def line(self, line_no: int) -> Line | None:
        return next((ln for ln in self.lines if ln.line_no == line_no), None)


# --- editing ---------------------------------------------------------------------------

def ensure_editable(d: Dossier) -> None:
    if not d.editable:
        raise Conflict("Ce dossier ne peut plus être modifié : il a été transmis au service instructeur.",
                       status_code=d.status.value)


def profile_errors(general: dict[str, Any], ref: Reference) -> list[FieldError]:
    """Format errors of the step 1 general fields that are present (partial saves allowed)."""
    errors: list[FieldError] = []
    kind = general.get("applicant_kind")
    profile = general.get("profile")
    if profile is not None:
        if kind is None:
            errors.append(FieldError("applicant_kind",
                                     "Indiquez d'abord si vous êtes un professionnel ou un particulier."))
        elif profile not in ref.kinds[kind]["profiles"]:
            choices = ", ".join(ref.kinds[kind]["profiles"])
            kind_label = (ref.kind_label(kind) or "").lower()
            errors.append(FieldError("profile", f"Ce profil n'existe pas pour un {kind_label} ; "
                                                f"profils possibles : {choices}."))
    details = general.get("profile_details") or {}
    allowed = set(ref.fields_for(kind, profile, general.get("flow"))) if kind else set()
    for name, value in details.items():
        if name not in ref.profile_fields or (kind and name not in allowed):
            errors.append(FieldError(f"profile_details.{name}", "Ce champ n'est pas attendu pour ce profil."))
            continue
        if value in (None, ""):
            continue
        if not ref.profile_fields[name].pattern.match(str(value)):
            errors.append(FieldError(f"profile_details.{name}", ref.profile_fields[name].message))
    for key in ("origin_country", "destination_country"):
        value = general.get(key)
        if value is not None and not COUNTRY_RE.match(value):
            errors.append(FieldError(key, "Indiquez le pays par son code ISO à deux lettres (ex. FR, DE, US)."))
    return errors


def step1_errors(d: Dossier, ref: Reference) -> list[FieldError]:
    """What is still missing or wrong in step 1 « Informations & matériel »."""
    g = d.general
    errors = profile_errors(g, ref)
    if not g.get("applicant_kind"):
        errors.append(FieldError("applicant_kind", "Indiquez si vous êtes un professionnel ou un particulier."))
    elif not g.get("profile"):
        errors.append(FieldError("profile", "Précisez votre profil."))
    else:
        details = g.get("profile_details") or {}
        for name in ref.fields_for(g["applicant_kind"], g["profile"], g.get("flow")):
            if ref.field_required(name, g["applicant_kind"], g.get("flow")) and not details.get(name):
                errors.append(FieldError(f"profile_details.{name}",
                                         f"Le champ « {ref.profile_fields[name].label} » est obligatoire."))
    if not g.get("flow"):
        errors.append(FieldError("flow", "Indiquez la nature du flux (importation, exportation, introduction, "
                                         "expédition)."))
    if not g.get("origin_country"):
        errors.append(FieldError("origin_country", "Indiquez le pays de provenance."))
    if not g.get("destination_country"):
        errors.append(FieldError("destination_country", "Indiquez le pays de destination."))
    if not d.lines:
        errors.append(FieldError("lines", "Ajoutez au moins un matériel à votre demande."))
    elif not d.authorisation_type:
        errors.append(FieldError("lines", "L'autorisation à demander n'a pas pu être déterminée pour ces matériels."))
    return _dedupe(errors)


def _party_errors(prefix: str, party: dict[str, Any] | None, label: str) -> list[FieldError]:
    if not party:
        return [FieldError(prefix, f"Renseignez {label}.")]
    errors = []
    if not party.get("name"):
        errors.append(FieldError(f"{prefix}.name", f"Le nom ou la raison sociale de {label} est obligatoire."))
    addr = party.get("address") or {}
    if not addr.get("line1"):
        errors.append(FieldError(f"{prefix}.address.line1", f"L'adresse de {label} est obligatoire."))
    if not addr.get("city"):
        errors.append(FieldError(f"{prefix}.address.city", f"La ville de {label} est obligatoire."))
    if not addr.get("country"):
        errors.append(FieldError(f"{prefix}.address.country", f"Le pays de {label} est obligatoire."))
    return errors


def step2_errors(d: Dossier, ref: Reference) -> list[FieldError]:
    """What is still missing in step 2 « Demandeur & expéditeur », justificatifs included."""
    p = d.parties
    errors: list[FieldError] = []
    applicant = p.get("applicant") or {}
    if d.general.get("applicant_kind") == "professional":
        if not applicant.get("company_name") and not (d.general.get("profile_details") or {}).get("company_name"):
            errors.append(FieldError("applicant.company_name", "La raison sociale du demandeur est obligatoire."))
    if not applicant.get("last_name"):
        errors.append(FieldError("applicant.last_name", "Le nom du demandeur est obligatoire."))
    if not applicant.get("first_name"):
        errors.append(FieldError("applicant.first_name", "Le prénom du demandeur est obligatoire."))
    if not applicant.get("email"):
        errors.append(FieldError("applicant.email", "L'adresse électronique du demandeur est obligatoire."))
    addr = applicant.get("address") or {}
    if not addr.get("line1") or not addr.get("city") or not addr.get("country"):
        errors.append(FieldError("applicant.address", "L'adresse complète du demandeur est obligatoire."))
    errors += _party_errors("sender", p.get("sender"), "l'expéditeur")
    errors += _party_errors("recipient", p.get("recipient"), "le destinataire")
    motive = p.get("motive")
    if not motive:
        errors.append(FieldError("motive", "Indiquez le motif de l'opération."))
    elif d.general.get("flow") and d.general["flow"] not in ref.motives[motive].get("flows", [d.general["flow"]]):
        errors.append(FieldError("motive", f"Le motif « {ref.motives[motive]['label']} » ne s'applique pas au flux "
                                           f"« {ref.flows[d.general['flow']]} »."))
    elif ref.motives[motive].get("details_required") and not p.get("motive_details"):
        errors.append(FieldError("motive_details", "Précisez le motif de l'opération."))
    for code in d.required_documents:
        j = d.justificatifs.get(code)
        label = f"justificatifs.{code}"
        if j is None or j.state == JustificatifState.MANQUANT:
            errors.append(FieldError(label, "Ce justificatif est obligatoire : choisissez un document de votre "
                                            "bibliothèque ou ajoutez-en un."))
        elif j.state == JustificatifState.EN_ANALYSE:
            errors.append(FieldError(label, "Ce justificatif est en cours d'analyse antivirus : "
                                            "attendez la fin de l'analyse pour poursuivre."))
        elif j.state == JustificatifState.REFUSE:
            errors.append(FieldError(label, "Ce justificatif a été refusé par l'analyse antivirus : "
                                            "remplacez-le par un autre document."))
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen, out = set(), []
    for e in errors:
        if (e.field, e.message) not in seen:
            seen.add((e.field, e.message))
            out.append(e)
    return out


def step_states(d: Dossier, ref: Reference) -> list[dict[str, Any]]:
    """The four wizard steps with their completion state, for the portal to draw the stepper."""
    s1 = not step1_errors(d, ref)
    s2 = not step2_errors(d, ref)
    sent = d.status not in EDITABLE
    done = {1: s1 or sent, 2: (s1 and s2) or sent, 3: (s1 and s2) or sent, 4: sent}
    accessible = {1: True, 2: True, 3: s1 and s2, 4: s1 and s2 and d.editable}
    out = []
    for step in ref.steps:
        n = step["number"]
        out.append({"number": n, "code": step["code"], "label": step["label"], "complete": done[n],
                    "accessible": accessible[n] or sent})
    return out


# --- determination ---------------------------------------------------------------------

def determination_request(d: Dossier, lines: list[Line], general: dict[str, Any] | None = None,
                          motive: str | None = None) -> dict[str, Any]:
    g = general if general is not None else d.general
    keys = ("applicant_kind", "profile", "flow", "origin_country", "destination_country")
    missing = [k for k in keys if not g.get(k)]
    if missing:
        raise Conflict("Renseignez d'abord le type de demandeur, votre profil, le flux et les pays avant d'ajouter "
                       "du matériel.", errors=[FieldError(k, "Ce champ est obligatoire.").as_dict() for k in missing])
    body: dict[str, Any] = {
        "flow": g["flow"], "origin_country": g["origin_country"], "destination_country": g["destination_country"],
        "applicant": {"kind": g["applicant_kind"], "profile": g["profile"]},
        "items": [{"classification_code": ln.classification_code, "quantity": ln.quantity} for ln in lines],
    }
    motive = motive if motive is not None else d.parties.get("motive")
    if motive:
        body["motive"] = motive
    return body


def check_determination(det: dict[str, Any], ref: Reference) -> None:
    """A dossier exists to request one authorisation: refuse material that needs none or is out of scope."""
    if det.get("outside_scope"):
        procedure = det.get("outside_scope_procedure") or ""
        raise Invalid("Ce matériel ne relève pas du téléservice e-APS pour ce flux. " + procedure,
                      explanation=det.get("explanation"))
    if not det.get("authorisation"):
        raise Invalid("Ce matériel ne nécessite pas d'autorisation pour ce flux : aucune demande n'est à déposer.",
                      explanation=det.get("explanation"), exemptions=det.get("exemptions"))


def apply_determination(d: Dossier, det: dict[str, Any] | None) -> None:
    """Store the classification's answer and reshape the justificatifs checklist on it."""
    d.determination = det
    required = list((det or {}).get("required_documents") or [])
    kept = {code: j for code, j in d.justificatifs.items() if code in required}
    d.justificatifs = {code: kept.get(code, Justificatif(code)) for code in required}


# --- transmission and instruction ------------------------------------------------------

def format_registration_number(year: int, seq: int) -> str:
    if not 0 < seq <= 999_999:
        raise ValueError("registration sequence out of range")
    return f"EAPS-{year}-{seq:06d}"


def transmission_errors(d: Dossier, ref: Reference) -> list[FieldError]:
    return [FieldError(f"etape1.{e.field}", e.message) for e in step1_errors(d, ref)] + \
           [FieldError(f"etape2.{e.field}", e.message) for e in step2_errors(d, ref)]


def mark_transmitted(d: Dossier, now: datetime, number: str | None) -> bool:
    """Move an editable dossier to the instructing service; returns True for a resubmission."""
    ensure_editable(d)
    resubmission = d.status == Status.A_COMPLETER
    if resubmission:
        d.status = Status(d.completion.get("resume_status", Status.EN_ETUDE.value)) if d.completion else Status.EN_ETUDE
        d.completion = None
        # Events the instructing service emitted before this reply are now stale.
        d.status_event_at = max(d.status_event_at or now, now)
    else:
        d.registration_number = number
        d.first_submitted_at = now
        d.status = Status.TRANSMISE
    d.submission_no += 1
    d.submitted_at = now
    return resubmission


def apply_instruction_status(d: Dossier, target: Status, at: datetime) -> bool:
    """Apply a status that the instructing service's events imply, tolerating any order.

    An outcome (irrecevable, accordée, refusée…) is final: nothing later reopens it. A stage
    older than the last applied instruction event is stale and ignored."""
    if d.status in TERMINAL or d.status == Status.BROUILLON:
        return False
    if target not in TERMINAL and d.status_event_at is not None and at < d.status_event_at:
        return False
    if target == d.status:
        d.status_event_at = max(d.status_event_at or at, at)
        return False
    d.status = target
    d.status_event_at = max(d.status_event_at or at, at)
    if target in TERMINAL:
        d.closed_at = at
    return True


def request_completion(d: Dossier, at: datetime, missing: list[dict[str, Any]], message: str) -> bool:
    previous = d.status
    if not apply_instruction_status(d, Status.A_COMPLETER, at):
        return False
    resume = previous if previous in (Status.EN_ETUDE, Status.EN_INSTRUCTION, Status.EN_DECISION) else Status.EN_ETUDE
    d.completion = {"missing": missing, "message": message, "requested_at": at.isoformat(),
                    "resume_status": resume.value}
    return True


def withdraw(d: Dossier, at: datetime) -> None:
    if d.status == Status.BROUILLON:
        raise Conflict("Un brouillon n'a pas été transmis : supprimez-le plutôt que de le retirer.")
    if d.status not in WITHDRAWABLE:
        raise Conflict("Ce dossier a déjà fait l'objet d'une décision ou a été retiré : il ne peut plus être retiré.")
    d.status = Status.RETIREE
    d.closed_at = at
    d.completion = None


def changed_fields(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values that differ between two snapshots (lists compared whole)."""
    out: list[str] = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_fields(a, b, path + ".")
        elif a != b:
            out.append(path)
    return out
