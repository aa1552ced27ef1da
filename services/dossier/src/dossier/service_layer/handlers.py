"""Commands of the applicant and reactions to other services' events; one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from eaps_contracts.events.dossier_v1 import (
    DossierMessagePostedV1,
    DossierResubmittedV1,
    DossierSubmittedV1,
    DossierWithdrawnV1,
)
from eaps_kit.db import transaction
from eaps_kit.messaging import add_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier.adapters import store
from dossier.adapters.classification import ClassificationPort
from dossier.adapters.documents import DocumentsPort
from dossier.adapters.repository import DossierRepository, Scope
from dossier.domain import model
from dossier.domain.errors import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from dossier.domain.model import Dossier, FieldError, Justificatif, JustificatifState, Line, Status
from dossier.domain.reference import Reference, reference
from dossier.service_layer.translators import comparable, snapshot

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Actor:
    """Who acts: the account, the scope of dossiers it may touch, its bearer (to read its documents)."""

    account_id: uuid.UUID
    scope: Scope
    operator_id: uuid.UUID | None = None
    authorization: str = ""
    name: str | None = None
    email: str | None = None


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "7"`` (or ``W/"7"``) → 7; ``*`` → None (any version)."""
    if value is None:
        raise PreconditionRequired(
            "L'en-tête If-Match est obligatoire pour modifier un dossier (reprenez la valeur ETag de sa dernière "
            "lecture) : il évite d'écraser une saisie faite dans un autre onglet.")
    value = value.strip()
    if value == "*":
        return None
    raw = value.removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise Invalid("L'en-tête If-Match est invalide : reprenez la valeur ETag renvoyée à la lecture du dossier.",
                      errors=[{"field": "If-Match", "message": "Valeur ETag attendue, par exemple \"3\"."}]) from None


@dataclass
class DossierService:
    session_factory: async_sessionmaker[AsyncSession]
    classification: ClassificationPort
    documents: DocumentsPort
    ref: Reference = field(default_factory=reference)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # --- helpers ---------------------------------------------------------------------
    async def _locked(self, repo: DossierRepository, actor: Actor, dossier_id: uuid.UUID,
                      if_match: str | None) -> Dossier:
        expected = parse_if_match(if_match)
        d = await repo.get(dossier_id, actor.scope, for_update=True)
        if expected is not None and expected != d.version:
            changes = await repo.revisions_since(d.id, expected)
            fields = sorted({f for c in changes for f in c["fields"]})
            raise PreconditionFailed(
                "Ce dossier a été modifié entre-temps (dans un autre onglet ou par un autre membre de votre "
                "société). Rechargez-le pour voir les changements avant d'enregistrer votre saisie.",
                headers={"ETag": f'"{d.version}"'}, current_version=d.version, your_version=expected,
                changed_fields=fields, changes=changes)
        return d

    async def _determine(self, d: Dossier, lines: list[Line], general: dict[str, Any] | None = None,
                         motive: str | None = None) -> dict[str, Any] | None:
        if not lines:
            return None
        det = await self.classification.determine(model.determination_request(d, lines, general, motive))
        model.check_determination(det, self.ref)
        return det

    # --- drafts ----------------------------------------------------------------------
    async def create_draft(self, actor: Actor, general: dict[str, Any]) -> Dossier:
        errors = model.profile_errors(general, self.ref)
        if errors:
            raise Invalid("Certaines données sont invalides.", errors=[e.as_dict() for e in errors])
        now = self.clock()
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            previous = await repo.latest_applicant(actor.scope)
            applicant: dict[str, Any] = {}
            if previous:
                prev_general, applicant = previous
                for key in ("applicant_kind", "profile", "profile_details"):
                    if key not in general and prev_general.get(key):
                        general[key] = prev_general[key]
            applicant = dict(applicant)
            if not applicant.get("email") and actor.email:
                applicant["email"] = actor.email
            if not applicant.get("last_name") and actor.name:
                first, _, last = actor.name.partition(" ")
                applicant.update({"first_name": first, "last_name": last or first})
            d = Dossier(id=uuid.uuid4(), owner_account_id=actor.account_id, operator_id=actor.operator_id,
                        created_at=now, updated_at=now, general=general, parties={"applicant": applicant})
            await repo.add(d, actor.account_id)
            await repo.add_history(d.id, now, Status.BROUILLON, "applicant", actor.account_id, "Brouillon créé")
        return d

    async def delete_draft(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None) -> None:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            if d.status != Status.BROUILLON:
                raise Conflict("Seul un brouillon peut être supprimé ; un dossier transmis peut être retiré.")
            await repo.delete(d)

    async def update_general(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None,
                             patch: dict[str, Any]) -> Dossier:
        """Step 1, general information: partial save; a change of flow or profile re-asks classification."""
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            general = {**d.general, **patch}
            if "applicant_kind" in patch and patch["applicant_kind"] != d.general.get("applicant_kind"):
                # Profile and its fields follow from the kind: a new kind starts them afresh.
                general.setdefault("profile", None) if "profile" in patch else general.pop("profile", None)
                if "profile_details" not in patch:
                    general.pop("profile_details", None)
            general = {k: v for k, v in general.items() if v is not None}
            errors = model.profile_errors(general, self.ref)
            if errors:
                raise Invalid("Certaines données sont invalides.", errors=[e.as_dict() for e in errors])
            changed = model.changed_fields({"general": d.general}, {"general": general})
            if not changed:
                return d
            decisive = ("applicant_kind", "profile", "flow", "origin_country", "destination_country")
            if d.lines and any(general.get(k) != d.general.get(k) for k in decisive):
                model.apply_determination(d, await self._determine(d, d.lines, general))
                changed.append("authorisation")
            d.general = general
            await repo.save(d, changed, self.clock(), actor.account_id)
        return d

    async def add_line(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None,
                       data: dict[str, Any]) -> tuple[Dossier, Line]:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            line = Line(line_no=d.next_line_no(), **data)
            det = await self._determine(d, [*d.lines, line])
            d.lines.append(line)
            model.apply_determination(d, det)
            await repo.save(d, [f"lines.{line.line_no}", "authorisation"], self.clock(), actor.account_id)
        return d, line

    async def update_line(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None, line_no: int,
                          data: dict[str, Any]) -> Dossier:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            old = d.line(line_no)
            if old is None:
                raise NotFound("Cette ligne de matériel n'existe pas dans ce dossier.")
            new = Line(line_no=line_no, **data)
            lines = [new if ln.line_no == line_no else ln for ln in d.lines]
            if (old.classification_code, old.quantity) != (new.classification_code, new.quantity):
                model.apply_determination(d, await self._determine(d, lines))
            d.lines = lines
            await repo.save(d, [f"lines.{line_no}"], self.clock(), actor.account_id)
        return d

    async def delete_line(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None, line_no: int) -> Dossier:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            if d.line(line_no) is None:
                raise NotFound("Cette ligne de matériel n'existe pas dans ce dossier.")
            lines = [ln for ln in d.lines if ln.line_no != line_no]
            model.apply_determination(d, await self._determine(d, lines))
            d.lines = lines
            await repo.save(d, [f"lines.{line_no}", "authorisation"], self.clock(), actor.account_id)
        return d

    async def update_parties(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None,
                             patch: dict[str, Any]) -> Dossier:
        """Step 2: applicant, sender, recipient and motive (partial save)."""
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            parties = {**d.parties, **patch}
            parties = {k: v for k, v in parties.items() if v is not None}
            motive = parties.get("motive")
            if motive is not None and motive not in self.ref.motives:
                raise Invalid("Ce motif n'existe pas.", errors=[FieldError(
                    "motive", "Motifs possibles : " + ", ".join(self.ref.motives) + ".").as_dict()])
            changed = model.changed_fields({"parties": d.parties}, {"parties": parties})
            if not changed:
                return d
            if d.lines and motive != d.parties.get("motive"):
                # The motive can change the justificatifs (e.g. exhibition, hunting trip).
                model.apply_determination(d, await self._determine(d, d.lines, motive=motive or ""))
                changed.append("justificatifs")
            d.parties = parties
            await repo.save(d, changed, self.clock(), actor.account_id)
        return d

    async def attach_justificatif(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None, code: str,
                                  document_id: uuid.UUID) -> Dossier:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            if code not in d.required_documents:
                raise NotFound("Ce justificatif n'est pas demandé pour ce dossier.")
            doc = await self.documents.get(document_id, actor.authorization)
            state = model.DOCUMENT_STATUS_TO_STATE.get(doc.get("status", ""), JustificatifState.EN_ANALYSE)
            if state == JustificatifState.REFUSE:
                raise Conflict("Ce document a été refusé par l'analyse antivirus : il ne peut pas être joint.")
            d.justificatifs[code] = Justificatif(code=code, document_id=document_id, filename=doc.get("filename"),
                                                 title=doc.get("title"), state=state)
            await repo.save(d, [f"justificatifs.{code}"], self.clock(), actor.account_id)
        return d

    async def detach_justificatif(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None,
                                  code: str) -> Dossier:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            j = d.justificatifs.get(code)
            if j is None or j.document_id is None:
                raise NotFound("Aucun document n'est joint pour ce justificatif.")
            d.justificatifs[code] = Justificatif(code)
            await repo.save(d, [f"justificatifs.{code}"], self.clock(), actor.account_id)
        return d

    async def refresh_justificatifs(self, actor: Actor, dossier_id: uuid.UUID) -> Dossier:
        """Ask the documents service about justificatifs still being scanned (events may lag)."""
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await repo.get(dossier_id, actor.scope, for_update=True)
            pending = [j for j in d.justificatifs.values() if j.state == JustificatifState.EN_ANALYSE]
            if not pending or not d.editable:
                return d
            changed = []
            for j in pending:
                assert j.document_id is not None
                try:
                    doc = await self.documents.get(j.document_id, actor.authorization)
                except NotFound:
                    j.document_id, j.filename, j.title, j.state = None, None, None, JustificatifState.MANQUANT
                    changed.append(f"justificatifs.{j.code}")
                    continue
                state = model.DOCUMENT_STATUS_TO_STATE.get(doc.get("status", ""), JustificatifState.EN_ANALYSE)
                if state != j.state:
                    j.state, j.rejection_reason = state, doc.get("rejection_reason")
                    changed.append(f"justificatifs.{j.code}")
            if changed:
                await repo.save(d, changed, self.clock(), None)
        return d

    async def validate_step(self, actor: Actor, dossier_id: uuid.UUID, step: int) -> Dossier:
        d = await self.refresh_justificatifs(actor, dossier_id) if step >= 2 else await self.get(actor, dossier_id)
        errors = {1: model.step1_errors, 2: model.step2_errors}[step](d, self.ref) if step in (1, 2) else \
            model.transmission_errors(d, self.ref)
        if errors:
            label = self.ref.steps[step - 1]["label"]
            raise Invalid(f"L'étape « {label} » n'est pas complète.", errors=[e.as_dict() for e in errors])
        return d

    async def get(self, actor: Actor, dossier_id: uuid.UUID) -> Dossier:
        async with self.session_factory() as session:
            return await DossierRepository(session).get(dossier_id, actor.scope)

    # --- transmission ----------------------------------------------------------------
    async def transmit(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None) -> tuple[Dossier, bool]:
        await self.refresh_justificatifs(actor, dossier_id)
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            model.ensure_editable(d)
            errors = model.transmission_errors(d, self.ref)
            if errors:
                raise Invalid("Le dossier n'est pas complet : il ne peut pas être transmis.",
                              errors=[e.as_dict() for e in errors])
            # Pin every justificatif (an immutable copy belongs to the dossier); a copy pinned at an
            # earlier submission is kept when the same document is still attached.
            for j in d.justificatifs.values():
                if j.document_id is not None and j.pinned_document_id is None:
                    pin = await self.documents.pin(j.document_id, d.id, d.owner_account_id, d.operator_id)
                    j.pinned_document_id = uuid.UUID(str(pin["pinned_document_id"]))
                    j.sha256 = pin.get("sha256") or j.sha256
                    j.filename = pin.get("filename") or j.filename
            now = self.clock()
            number = None
            if d.registration_number is None:
                # Taken last, so the year's counter row is locked only until the commit just below.
                seq = await repo.next_registration_seq(now.astimezone(PARIS).year)
                number = model.format_registration_number(now.astimezone(PARIS).year, seq)
            resubmission = model.mark_transmitted(d, now, number)
            snap = snapshot(d)
            snap_json = snap.model_dump(mode="json")
            changed: list[str] = []
            if resubmission:
                before = await repo.last_submission(d.id) or {}
                changed = model.changed_fields(comparable(before), comparable(snap_json))
                await add_event(session, DossierResubmittedV1(dossier=snap, changed_fields=changed))
                note = "Dossier complété et transmis à nouveau"
            else:
                await add_event(session, DossierSubmittedV1(dossier=snap))
                note = f"Dossier transmis sous le numéro {d.registration_number}"
            await repo.add_submission(d.id, d.submission_no, now, snap_json, changed)
            await repo.save(d, ["status", "registration_number"] if not resubmission else ["status"], now,
                            actor.account_id)
            await repo.add_history(d.id, now, d.status, "applicant", actor.account_id, note)
        return d, resubmission

    async def withdraw(self, actor: Actor, dossier_id: uuid.UUID, if_match: str | None,
                       reason: str | None) -> Dossier:
        async with transaction(self.session_factory) as session:
            repo = DossierRepository(session)
            d = await self._locked(repo, actor, dossier_id, if_match)
            now = self.clock()
            model.withdraw(d, now)
            await repo.save(d, ["status"], now, actor.account_id)
            await repo.add_history(d.id, now, d.status, "applicant", actor.account_id, reason or "Demande retirée")
            await add_event(session, DossierWithdrawnV1(dossier_id=d.id, registration_number=d.registration_number,
                                                        withdrawn_by=actor.account_id, reason=reason,
                                                        withdrawn_at=now))
        return d

    # --- dialogue --------------------------------------------------------------------
    async def post_message(self, actor: Actor, dossier_id: uuid.UUID, body: str,
                           document_id: uuid.UUID | None) -> dict[str, Any]:
        async with self.session_factory() as session:
            d = await DossierRepository(session).get(dossier_id, actor.scope)
        if d.status == Status.BROUILLON:
            raise Conflict("Vous pourrez échanger avec le service instructeur une fois votre dossier transmis.")
        filename = pinned = None
        if document_id is not None:
            doc = await self.documents.get(document_id, actor.authorization)
            if doc.get("status") != "available":
                raise Conflict("Ce document n'est pas disponible (analyse antivirus en cours ou refusée) : "
                               "il ne peut pas être joint au commentaire.")
            pin = await self.documents.pin(document_id, d.id, d.owner_account_id, d.operator_id)
            pinned = uuid.UUID(str(pin["pinned_document_id"]))
            filename = pin.get("filename") or doc.get("filename")
        now = self.clock()
        msg_id = uuid.uuid4()
        label = actor.name or self.ref.actors["applicant"]
        async with transaction(self.session_factory) as session:
            await store.insert_message(session, id=msg_id, dossier_id=d.id, author_kind="applicant",
                                       author_id=actor.account_id, author_label=label, body=body,
                                       document_id=document_id, pinned_document_id=pinned, filename=filename,
                                       posted_at=now, read_by_applicant_at=now)
            await add_event(session, DossierMessagePostedV1(
                message_id=msg_id, dossier_id=d.id, registration_number=d.registration_number,
                author_account_id=actor.account_id, body=body, document_id=document_id, posted_at=now,
                pinned_document_id=pinned, owner_operator_id=d.operator_id))
        return {"id": msg_id, "posted_at": now}

    async def mark_read(self, actor: Actor, dossier_id: uuid.UUID) -> int:
        async with transaction(self.session_factory) as session:
            await DossierRepository(session).get(dossier_id, actor.scope)
            return await store.mark_read(session, dossier_id, self.clock())
