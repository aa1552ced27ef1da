"""Reactions to other services' events: who is told what, through which channel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from eaps_contracts.base import Event
from eaps_contracts.events import documents_v1 as documents
from eaps_contracts.events import dossier_v1 as dossier
from eaps_contracts.events import identity_v1 as identity
from eaps_contracts.events import instruction_v1 as instruction
from eaps_contracts.events.dossier_v1 import DossierSnapshot
from eaps_contracts.events.notifications_v1 import PublicDecisionV1
from eaps_kit.messaging import MessageContext
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.adapters.orm import authorisations, contacts, dossier_officers, dossiers
from notifications.config import Settings
from notifications.domain import labels
from notifications.domain.clock import Clock
from notifications.service_layer.outbound import (
    InAppLinks,
    add_in_app,
    publish_decision,
    queue_email,
    queue_sms,
)
from notifications.service_layer.rendering import render

log = logging.getLogger("notifications.handlers")


class NotYetKnown(Exception):
    """An event refers to a dossier or authorisation whose own event is not consumed yet
    (queues of different producers are not ordered together): retried by the consumer."""


@dataclass
class Recipient:
    account_id: uuid.UUID
    email: str | None
    phone: str | None
    language: str
    greeting_name: str | None


class Notifier:
    """The event handlers; one instance per app, stateless apart from settings and clock."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._handlers: dict[type[Event], Callable[[MessageContext, Any], Awaitable[None]]] = {
            identity.AccountRegisteredV1: self.on_account_registered,
            identity.AccountVerifiedV1: self.on_account_verified,
            identity.EmailVerificationRequestedV1: self.on_email_verification_requested,
            identity.PhoneVerificationRequestedV1: self.on_phone_verification_requested,
            identity.PasswordResetRequestedV1: self.on_password_reset_requested,
            identity.RegistrationAttemptedV1: self.on_registration_attempted,
            identity.HabilitationGrantedV1: self.on_habilitation_granted,
            identity.HabilitationRefusedV1: self.on_habilitation_refused,
            documents.DocumentRejectedV1: self.on_document_rejected,
            dossier.DossierSubmittedV1: self.on_dossier_submitted,
            dossier.DossierResubmittedV1: self.on_dossier_resubmitted,
            dossier.DossierMessagePostedV1: self.on_applicant_message_posted,
            instruction.CaseOpenedV1: self.on_case_opened,
            instruction.DossierAdmissibleV1: self.on_dossier_admissible,
            instruction.DossierInadmissibleV1: self.on_dossier_inadmissible,
            instruction.CompletionRequestedV1: self.on_completion_requested,
            instruction.DecisionIssuedV1: self.on_decision_issued,
            instruction.AuthorisationStatusChangedV1: self.on_authorisation_status_changed,
            instruction.AuthorisationDocumentIssuedV1: self.on_authorisation_document_issued,
            instruction.MessagePostedV1: self.on_officer_message_posted,
        }

    def events_of(self, producer: str) -> list[type[Event]]:
        return [cls for cls in self._handlers if cls.producer() == producer]

    async def handle(self, ctx: MessageContext) -> None:
        if ctx.event is None:
            return
        handler = self._handlers.get(type(ctx.event))
        if handler is not None:
            await handler(ctx, ctx.event)

    # helpers -----------------------------------------------------------------
    def _base(self, recipient: Recipient | None) -> dict[str, Any]:
        return {
            "portal_url": self.settings.public_portal_url,
            "greeting_name": recipient.greeting_name if recipient else None,
        }

    def _dossier_link(self, dossier_id: uuid.UUID) -> str:
        return f"{self.settings.public_portal_url}/dossiers/{dossier_id}"

    def _authorisation_link(self, authorisation_id: uuid.UUID) -> str:
        return f"{self.settings.public_portal_url}/autorisations/{authorisation_id}"

    async def _recipient(self, session: AsyncSession, account_id: uuid.UUID) -> Recipient | None:
        row = (await session.execute(sa.select(contacts).where(contacts.c.account_id == account_id))).first()
        if row is None:
            return None
        name = " ".join(p for p in (row.first_name, row.last_name) if p) or None
        return Recipient(account_id, row.email, row.phone, row.language or "fr", name)

    async def _dossier(self, session: AsyncSession, dossier_id: uuid.UUID) -> sa.Row[Any]:
        row = (await session.execute(sa.select(dossiers).where(dossiers.c.dossier_id == dossier_id))).first()
        if row is None:
            raise NotYetKnown(f"dossier {dossier_id} not known yet")
        return row

    async def _tell(
        self,
        ctx: MessageContext,
        template: str,
        recipient: Recipient,
        context: dict[str, Any],
        *,
        email: bool = True,
        in_app: InAppLinks | None = None,
        sms: bool = False,
    ) -> None:
        """Render ``template`` once and queue its channels for ``recipient``."""
        rendered = render(template, {**self._base(recipient), **context}, recipient.language)
        now, cause = self.clock.now(), ctx.envelope.event_id
        if email:
            if recipient.email:
                await queue_email(
                    ctx.session,
                    template=template,
                    rendered=rendered,
                    to=recipient.email,
                    account_id=recipient.account_id,
                    cause=cause,
                    now=now,
                )
            else:
                log.warning("no email address known for account %s: %s not emailed", recipient.account_id, template)
        if sms and recipient.phone:
            await queue_sms(
                ctx.session,
                template=template,
                rendered=rendered,
                to=recipient.phone,
                account_id=recipient.account_id,
                cause=cause,
                now=now,
            )
        if in_app is not None:
            await add_in_app(
                ctx.session,
                template=template,
                rendered=rendered,
                account_id=recipient.account_id,
                cause=cause,
                links=in_app,
                now=now,
            )

    async def _applicant_of(self, session: AsyncSession, dossier_row: sa.Row[Any]) -> Recipient:
        recipient = await self._recipient(session, dossier_row.account_id)
        return recipient or Recipient(dossier_row.account_id, None, None, "fr", None)

    async def _remember_officer(
        self, session: AsyncSession, dossier_id: uuid.UUID, officer_id: uuid.UUID | None
    ) -> None:
        if officer_id is not None:
            await session.execute(
                pg_insert(dossier_officers)
                .values(dossier_id=dossier_id, officer_id=officer_id)
                .on_conflict_do_nothing()
            )

    async def _tell_officers(
        self, ctx: MessageContext, template: str, dossier_id: uuid.UUID, context: dict[str, Any]
    ) -> None:
        officer_ids = (
            (
                await ctx.session.execute(
                    sa.select(dossier_officers.c.officer_id).where(dossier_officers.c.dossier_id == dossier_id)
                )
            )
            .scalars()
            .all()
        )
        if not officer_ids:
            return
        rendered = render(template, {**self._base(None), **context})
        link = f"{self.settings.officer_portal_url}/dossiers/{dossier_id}"
        for officer_id in officer_ids:
            await add_in_app(
                ctx.session,
                template=template,
                rendered=rendered,
                account_id=officer_id,
                cause=ctx.envelope.event_id,
                now=self.clock.now(),
                links=InAppLinks(
                    dossier_id=dossier_id, registration_number=context.get("registration_number"), link=link
                ),
            )

    # identity ----------------------------------------------------------------
    async def on_account_registered(self, ctx: MessageContext, e: identity.AccountRegisteredV1) -> None:
        values = {
            "email": e.email,
            "phone": e.phone,
            "language": e.language or "fr",
            "first_name": e.first_name,
            "last_name": e.last_name,
            "company_name": e.company_name,
            "updated_at": self.clock.now(),
        }
        await ctx.session.execute(
            pg_insert(contacts)
            .values(account_id=e.account_id, **values)
            .on_conflict_do_update(index_elements=[contacts.c.account_id], set_=values)
        )

    async def on_account_verified(self, ctx: MessageContext, e: identity.AccountVerifiedV1) -> None:
        await ctx.session.execute(
            pg_insert(contacts)
            .values(account_id=e.account_id, email=e.email)
            .on_conflict_do_update(
                index_elements=[contacts.c.account_id], set_={"email": e.email, "updated_at": self.clock.now()}
            )
        )

    async def _to_address(self, ctx: MessageContext, account_id: uuid.UUID, email: str) -> Recipient:
        known = await self._recipient(ctx.session, account_id)
        return Recipient(
            account_id,
            email,
            known.phone if known else None,
            known.language if known else "fr",
            known.greeting_name if known else None,
        )

    async def on_email_verification_requested(
        self, ctx: MessageContext, e: identity.EmailVerificationRequestedV1
    ) -> None:
        recipient = await self._to_address(ctx, e.account_id, e.email)
        await self._tell(ctx, "email_verification", recipient, {"link": e.link, "expires_at": e.expires_at})

    async def on_password_reset_requested(self, ctx: MessageContext, e: identity.PasswordResetRequestedV1) -> None:
        recipient = await self._to_address(ctx, e.account_id, e.email)
        await self._tell(ctx, "password_reset", recipient, {"link": e.link, "expires_at": e.expires_at})

    async def on_registration_attempted(self, ctx: MessageContext, e: identity.RegistrationAttemptedV1) -> None:
        recipient = await self._to_address(ctx, e.account_id, e.email)
        await self._tell(ctx, "registration_attempted", recipient, {})

    async def on_phone_verification_requested(
        self, ctx: MessageContext, e: identity.PhoneVerificationRequestedV1
    ) -> None:
        known = await self._recipient(ctx.session, e.account_id)
        recipient = Recipient(e.account_id, None, e.phone, known.language if known else "fr", None)
        await self._tell(
            ctx, "phone_verification", recipient, {"code": e.code, "expires_at": e.expires_at}, email=False, sms=True
        )

    async def _habilitation_recipient(self, ctx: MessageContext, account_id: uuid.UUID) -> Recipient:
        return await self._recipient(ctx.session, account_id) or Recipient(account_id, None, None, "fr", None)

    async def on_habilitation_granted(self, ctx: MessageContext, e: identity.HabilitationGrantedV1) -> None:
        recipient = await self._habilitation_recipient(ctx, e.account_id)
        await self._tell(
            ctx,
            "habilitation_granted",
            recipient,
            {"teleservices": e.teleservices, "reason": e.reason},
            in_app=InAppLinks(link=self.settings.public_portal_url),
        )

    async def on_habilitation_refused(self, ctx: MessageContext, e: identity.HabilitationRefusedV1) -> None:
        recipient = await self._habilitation_recipient(ctx, e.account_id)
        await self._tell(
            ctx,
            "habilitation_refused",
            recipient,
            {"reason": e.reason},
            in_app=InAppLinks(link=self.settings.public_portal_url),
        )

    # documents ---------------------------------------------------------------
    async def on_document_rejected(self, ctx: MessageContext, e: documents.DocumentRejectedV1) -> None:
        recipient = await self._habilitation_recipient(ctx, e.owner_account_id)
        await self._tell(
            ctx,
            "document_rejected",
            recipient,
            {"filename": e.filename, "signature": e.signature},
            in_app=InAppLinks(link=f"{self.settings.public_portal_url}/documents"),
        )

    # dossier -----------------------------------------------------------------
    async def _remember_dossier(self, session: AsyncSession, d: DossierSnapshot) -> None:
        a = d.applicant
        holder = a.company_name or " ".join(p for p in (a.first_name, a.last_name) if p) or None
        values = {
            "account_id": a.account_id,
            "operator_id": a.operator_id,
            "registration_number": d.registration_number,
            "authorisation_type": d.authorisation_type,
            "flow": d.flow,
            "origin_country": d.origin_country,
            "destination_country": d.destination_country,
            "holder_name": holder,
            "updated_at": self.clock.now(),
        }
        await session.execute(
            pg_insert(dossiers)
            .values(dossier_id=d.dossier_id, **values)
            .on_conflict_do_update(index_elements=[dossiers.c.dossier_id], set_=values)
        )

    async def _submission_recipient(self, session: AsyncSession, d: DossierSnapshot) -> Recipient:
        known = await self._recipient(session, d.applicant.account_id)
        if known is not None and known.email:
            return known
        # Contact not learnt from identity (yet): the snapshot carries the applicant's details.
        name = " ".join(p for p in (d.applicant.first_name, d.applicant.last_name) if p) or None
        return Recipient(d.applicant.account_id, d.applicant.email, d.applicant.phone, "fr", name)

    async def on_dossier_submitted(self, ctx: MessageContext, e: dossier.DossierSubmittedV1) -> None:
        d = e.dossier
        await self._remember_dossier(ctx.session, d)
        recipient = await self._submission_recipient(ctx.session, d)
        link = self._dossier_link(d.dossier_id)
        await self._tell(
            ctx,
            "dossier_submitted",
            recipient,
            {"registration_number": d.registration_number, "submitted_at": d.submitted_at, "link": link},
            in_app=InAppLinks(d.dossier_id, d.registration_number, link=link),
        )

    async def on_dossier_resubmitted(self, ctx: MessageContext, e: dossier.DossierResubmittedV1) -> None:
        d = e.dossier
        await self._remember_dossier(ctx.session, d)
        recipient = await self._submission_recipient(ctx.session, d)
        link = self._dossier_link(d.dossier_id)
        context = {"registration_number": d.registration_number, "submitted_at": d.submitted_at, "link": link}
        await self._tell(
            ctx,
            "dossier_resubmitted",
            recipient,
            context,
            in_app=InAppLinks(d.dossier_id, d.registration_number, link=link),
        )
        await self._tell_officers(ctx, "officer_dossier_resubmitted", d.dossier_id, context)

    async def on_applicant_message_posted(self, ctx: MessageContext, e: dossier.DossierMessagePostedV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        await self._tell_officers(
            ctx,
            "applicant_message",
            e.dossier_id,
            {"registration_number": e.registration_number or row.registration_number, "body": e.body},
        )

    # instruction -------------------------------------------------------------
    async def on_case_opened(self, ctx: MessageContext, e: instruction.CaseOpenedV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        recipient = await self._applicant_of(ctx.session, row)
        link = self._dossier_link(e.dossier_id)
        await self._tell(
            ctx,
            "case_opened",
            recipient,
            {"registration_number": e.registration_number},
            email=False,
            in_app=InAppLinks(e.dossier_id, e.registration_number, link=link),
        )

    async def on_dossier_admissible(self, ctx: MessageContext, e: instruction.DossierAdmissibleV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        await self._remember_officer(ctx.session, e.dossier_id, e.decided_by)
        recipient = await self._applicant_of(ctx.session, row)
        link = self._dossier_link(e.dossier_id)
        await self._tell(
            ctx,
            "dossier_admissible",
            recipient,
            {"registration_number": e.registration_number, "decided_at": e.decided_at, "link": link},
            in_app=InAppLinks(e.dossier_id, e.registration_number, link=link),
        )

    async def on_dossier_inadmissible(self, ctx: MessageContext, e: instruction.DossierInadmissibleV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        recipient = await self._applicant_of(ctx.session, row)
        link = self._dossier_link(e.dossier_id)
        await self._tell(
            ctx,
            "dossier_inadmissible",
            recipient,
            {
                "registration_number": e.registration_number,
                "decided_at": e.decided_at,
                "reason": e.reason,
                "link": link,
            },
            in_app=InAppLinks(e.dossier_id, e.registration_number, link=link),
        )

    async def on_completion_requested(self, ctx: MessageContext, e: instruction.CompletionRequestedV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        await self._remember_officer(ctx.session, e.dossier_id, e.requested_by)
        recipient = await self._applicant_of(ctx.session, row)
        link = self._dossier_link(e.dossier_id)
        missing = [
            {"kind_label": labels.missing_kind_label(m.kind), "label": m.label, "code": m.code} for m in e.missing
        ]
        await self._tell(
            ctx,
            "completion_requested",
            recipient,
            {"registration_number": e.registration_number, "missing": missing, "message": e.message, "link": link},
            in_app=InAppLinks(e.dossier_id, e.registration_number, link=link),
            sms=True,
        )

    async def on_officer_message_posted(self, ctx: MessageContext, e: instruction.MessagePostedV1) -> None:
        row = await self._dossier(ctx.session, e.dossier_id)
        await self._remember_officer(ctx.session, e.dossier_id, e.author_id)
        recipient = await self._applicant_of(ctx.session, row)
        link = self._dossier_link(e.dossier_id)
        await self._tell(
            ctx,
            "officer_message",
            recipient,
            {
                "registration_number": e.registration_number,
                "author_label": e.author_label,
                "body": e.body,
                "posted_at": e.posted_at,
                "link": link,
            },
            in_app=InAppLinks(e.dossier_id, e.registration_number, link=link),
        )

    async def on_decision_issued(self, ctx: MessageContext, e: instruction.DecisionIssuedV1) -> None:
        a = e.authorisation
        row = (await ctx.session.execute(sa.select(dossiers).where(dossiers.c.dossier_id == e.dossier_id))).first()
        if row is None and a is None:
            raise NotYetKnown(f"dossier {e.dossier_id} not known yet")
        for officer in (e.proposed_by, e.signed_by):
            await self._remember_officer(ctx.session, e.dossier_id, officer)
        if a is not None:
            values = {
                "number": a.number,
                "dossier_id": e.dossier_id,
                "registration_number": e.registration_number,
                "type": a.type,
                "holder_name": a.holder_name,
                "flow": a.flow,
                "origin_country": a.origin_country,
                "destination_country": a.destination_country,
                "valid_from": a.valid_from,
                "valid_until": a.valid_until,
            }
            await ctx.session.execute(
                pg_insert(authorisations)
                .values(authorisation_id=a.authorisation_id, **values)
                .on_conflict_do_update(index_elements=[authorisations.c.authorisation_id], set_=values)
            )
        account_id = a.holder_account_id if a is not None else row.account_id  # type: ignore[union-attr]
        recipient = await self._recipient(ctx.session, account_id) or Recipient(account_id, None, None, "fr", None)
        link = self._authorisation_link(a.authorisation_id) if a is not None else self._dossier_link(e.dossier_id)
        await self._tell(
            ctx,
            "decision_issued",
            recipient,
            {
                "registration_number": e.registration_number,
                "outcome_label": labels.outcome_label(e.outcome),
                "issued_at": e.issued_at,
                "authorisation": a,
                "reasons": e.reasons,
                "legal_basis": e.legal_basis,
                "link": link,
            },
            in_app=InAppLinks(
                e.dossier_id, e.registration_number, a.authorisation_id if a else None, a.number if a else None, link
            ),
            sms=True,
        )
        authorisation_type = a.type if a is not None else row.authorisation_type  # type: ignore[union-attr]
        public = PublicDecisionV1(
            authorisation_number=a.number if a else None,
            registration_number=e.registration_number,
            authorisation_type=authorisation_type or "inconnu",
            change=e.outcome,
            holder_name=a.holder_name if a else (row.holder_name if row is not None else None),
            valid_from=a.valid_from if a else None,
            valid_until=a.valid_until if a else None,
            occurred_at=e.issued_at,
            authorisation_id=a.authorisation_id if a else None,
            dossier_id=e.dossier_id,
            flow=a.flow if a else (row.flow if row is not None else None),
            origin_country=a.origin_country if a else (row.origin_country if row is not None else None),
            destination_country=a.destination_country if a else (row.destination_country if row is not None else None),
            reason=e.reasons if e.outcome != "granted" else None,
            lines=list(a.lines) if a else [],
        )
        await publish_decision(ctx.session, public, cause=ctx.envelope.event_id, now=self.clock.now())

    async def on_authorisation_status_changed(
        self, ctx: MessageContext, e: instruction.AuthorisationStatusChangedV1
    ) -> None:
        new, old = labels.authorisation_status(e.new_status), labels.authorisation_status(e.old_status)
        if new.label == old.label:
            return  # remaining quantities changed only: nothing to tell
        auth = (
            await ctx.session.execute(
                sa.select(authorisations).where(authorisations.c.authorisation_id == e.authorisation_id)
            )
        ).first()
        if auth is None:
            raise NotYetKnown(f"authorisation {e.authorisation_id} not known yet")
        change = new.change
        if change == "reinstated" and old.change != "suspended":
            change = None  # becoming valid on its start date is not a reinstatement
        recipient = await self._recipient(ctx.session, e.holder_account_id) or Recipient(
            e.holder_account_id, None, None, "fr", None
        )
        link = self._authorisation_link(e.authorisation_id)
        await self._tell(
            ctx,
            "authorisation_status_changed",
            recipient,
            {
                "number": e.number,
                "status_label": new.label,
                "old_status_label": old.label,
                "reason": e.reason,
                "changed_at": e.changed_at,
                "link": link,
            },
            in_app=InAppLinks(e.dossier_id, auth.registration_number, e.authorisation_id, e.number, link),
            sms=change in labels.sms_alert_changes(),
        )
        if change is None:
            return
        public = PublicDecisionV1(
            authorisation_number=e.number,
            registration_number=auth.registration_number,
            authorisation_type=auth.type,
            change=change,
            holder_name=auth.holder_name,
            valid_from=auth.valid_from,
            valid_until=auth.valid_until,
            occurred_at=e.changed_at,
            authorisation_id=e.authorisation_id,
            dossier_id=e.dossier_id,
            flow=auth.flow,
            origin_country=auth.origin_country,
            destination_country=auth.destination_country,
            reason=e.reason,
            lines=list(e.lines),
        )
        await publish_decision(ctx.session, public, cause=ctx.envelope.event_id, now=self.clock.now())

    async def on_authorisation_document_issued(
        self, ctx: MessageContext, e: instruction.AuthorisationDocumentIssuedV1
    ) -> None:
        """The authorisation's PDF is stored (after decision.issued, which may carry no PDF yet):
        tell the holder in the app, linked to the authorisation. The event carries everything
        needed; the registration number is added when the decision or the dossier is known."""
        auth = (
            await ctx.session.execute(
                sa.select(authorisations.c.registration_number).where(
                    authorisations.c.authorisation_id == e.authorisation_id
                )
            )
        ).first()
        registration_number = auth.registration_number if auth is not None else None
        if registration_number is None:
            row = (
                await ctx.session.execute(
                    sa.select(dossiers.c.registration_number).where(dossiers.c.dossier_id == e.dossier_id)
                )
            ).first()
            registration_number = row.registration_number if row is not None else None
        recipient = await self._recipient(ctx.session, e.holder_account_id) or Recipient(
            e.holder_account_id, None, None, "fr", None
        )
        link = self._authorisation_link(e.authorisation_id)
        await self._tell(
            ctx,
            "authorisation_document_issued",
            recipient,
            {
                "number": e.number,
                "registration_number": registration_number,
                "verification_code": e.verification_code,
                "issued_at": e.issued_at,
                "link": link,
            },
            email=False,
            in_app=InAppLinks(e.dossier_id, registration_number, e.authorisation_id, e.number, link),
        )
