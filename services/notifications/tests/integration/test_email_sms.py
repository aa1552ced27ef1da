"""Emails reach a real SMTP sink with the right French text; SMS reach the SMS sink; one
email per event whatever the redeliveries; transient SMTP failures are retried."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import eaps_local_sinks as sinks
import httpx
import sqlalchemy as sa
from eaps_contracts.events import documents_v1, dossier_v1, identity_v1, instruction_v1
from eaps_contracts.events.notifications_v1 import NotificationDeliveredV1, NotificationFailedV1
from eaps_kit.testing import eventually
from notif_helpers import authorisation_snapshot, new_account, now, rows, submitted
from notifications.adapters.orm import contacts, messages, outbox


async def _email(mail_sink: Any, address: str, subject_part: str, text_part: str = "") -> Any:
    async def found() -> Any:
        return next(
            (m for m in mail_sink.to(address) if subject_part in str(m["Subject"]) and text_part in sinks.text_of(m)),
            None,
        )

    return await eventually(found)


async def test_email_verification_reaches_the_smtp_sink_in_french(bus: Any, mail_sink: Any, runtime: Any) -> None:
    account = new_account()
    await bus.publish(account)
    # Identity's events are consumed concurrently: wait until the contact (and its name) is known.
    await eventually(lambda: rows(runtime, sa.select(contacts).where(contacts.c.account_id == account.account_id)))
    link = f"https://portail.e-aps.local/verifier?jeton={uuid.uuid4().hex}"
    await bus.publish(
        identity_v1.EmailVerificationRequestedV1(
            account_id=account.account_id, email=account.email, link=link, expires_at=now() + timedelta(hours=24)
        )
    )
    msg = await _email(mail_sink, account.email, "confirmez votre adresse électronique")
    text, html = sinks.text_of(msg), sinks.html_of(msg)
    assert "Bonjour Camille Durand," in text
    assert link in text and "ne peut servir qu'une fois" in text
    assert f'href="{link}"' in html and '<html lang="fr">' in html
    assert "e-aps.douane.gouv.fr" in str(msg["From"])


async def test_phone_verification_code_reaches_the_sms_sink(bus: Any, sms_url: str) -> None:
    account = new_account()
    await bus.publish(account)
    await bus.publish(
        identity_v1.PhoneVerificationRequestedV1(
            account_id=account.account_id, phone=account.phone, code="481516", expires_at=now() + timedelta(minutes=10)
        )
    )

    async def received() -> Any:
        async with httpx.AsyncClient() as c:
            return (await c.get(f"{sms_url}/messages", params={"to": account.phone})).json()

    sms = (await eventually(received))[0]
    assert "votre code de vérification est 481516" in sms["text"]
    assert sms["sender"] == "DOUANE"


def _cases(
    account: identity_v1.AccountRegisteredV1, dossier: dossier_v1.DossierSubmittedV1
) -> list[tuple[Any, str, list[str]]]:
    d = dossier.dossier
    reg, officer = d.registration_number, uuid.uuid4()
    auth = authorisation_snapshot(account.account_id)
    return [
        (
            identity_v1.PasswordResetRequestedV1(
                account_id=account.account_id,
                email=account.email,
                link="https://portail/reinit?j=abc",
                expires_at=now() + timedelta(hours=1),
            ),
            "réinitialisation de votre mot de passe",
            ["https://portail/reinit?j=abc", "votre mot de passe actuel reste valable"],
        ),
        (
            identity_v1.RegistrationAttemptedV1(account_id=account.account_id, email=account.email),
            "tentative d'inscription",
            ["déjà associée à un compte"],
        ),
        (
            identity_v1.HabilitationGrantedV1(
                request_id=uuid.uuid4(),
                account_id=account.account_id,
                operator_id=uuid.uuid4(),
                teleservices=["e-APS", "DELTA G"],
                decided_by=officer,
            ),
            "habilitation est accordée",
            ["Opérateur ProDou@ne (OPPD)", "e-APS, DELTA G"],
        ),
        (
            identity_v1.HabilitationRefusedV1(
                request_id=uuid.uuid4(),
                account_id=account.account_id,
                operator_id=uuid.uuid4(),
                decided_by=officer,
                reason="SIRET inconnu",
            ),
            "demande d'habilitation est refusée",
            ["Motif : SIRET inconnu"],
        ),
        (
            documents_v1.DocumentRejectedV1(
                document_id=uuid.uuid4(),
                owner_account_id=account.account_id,
                filename="facture.pdf",
                signature="Eicar-Test-Signature",
            ),
            "« facture.pdf » a été refusé",
            ["refusé par l'antivirus (Eicar-Test-Signature)"],
        ),
        (
            instruction_v1.CompletionRequestedV1(
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                missing=[
                    {"kind": "document", "code": "PC", "label": "Copie du permis de chasser"},
                    {"kind": "field", "label": "Adresse de l'expéditeur"},
                ],
                message="Merci de joindre le permis en cours de validité.",
                requested_by=officer,
                requested_at=now(),
            ),
            f"{reg} doit être complétée",
            [
                "- Pièce justificative : Copie du permis de chasser",
                "- Information : Adresse de l'expéditeur",
                "Merci de joindre le permis en cours de validité.",
                "« À traiter »",
            ],
        ),
        (
            instruction_v1.DossierAdmissibleV1(
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                decided_by=officer,
                decided_at=now(),
            ),
            f"{reg} est recevable",
            ["désormais en instruction"],
        ),
        (
            instruction_v1.DossierInadmissibleV1(
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                reason="Demande hors du champ des autorisations",
                decided_by=officer,
                decided_at=now(),
            ),
            f"{reg} est irrecevable",
            ["Motif : Demande hors du champ des autorisations"],
        ),
        (
            instruction_v1.MessagePostedV1(
                message_id=uuid.uuid4(),
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                author_id=officer,
                body="Pouvez-vous préciser le calibre ?",
                posted_at=now(),
            ),
            f"nouveau commentaire sur votre demande {reg}",
            ["Service instructeur a ajouté un commentaire", "Pouvez-vous préciser le calibre ?"],
        ),
        (
            instruction_v1.DecisionIssuedV1(
                decision_id=uuid.uuid4(),
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                outcome="granted",
                issued_at=now(),
                authorisation=auth,
            ),
            f"décision sur votre demande {reg}",
            ["autorisation accordée", f"Numéro de l'autorisation : {auth['number']}", "du 01/03/2026 au 28/02/2027"],
        ),
        (
            instruction_v1.DecisionIssuedV1(
                decision_id=uuid.uuid4(),
                case_id=uuid.uuid4(),
                dossier_id=d.dossier_id,
                registration_number=reg,
                outcome="refused",
                reasons="Motif de sécurité publique",
                issued_at=now(),
            ),
            f"décision sur votre demande {reg}",
            ["autorisation refusée", "Motifs : Motif de sécurité publique"],
        ),
    ]


async def test_each_email_reaches_the_sink_with_its_french_text(bus: Any, mail_sink: Any) -> None:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    reg = dossier.dossier.registration_number
    msg = await _email(mail_sink, account.email, f"votre demande {reg} a été transmise")
    assert f"Numéro d'enregistrement : {reg}" in sinks.text_of(msg)
    assert f"<strong>{reg}</strong>" in sinks.html_of(msg)
    for event, subject, expected in _cases(account, dossier):
        await bus.publish(event)
        found = await _email(mail_sink, account.email, subject, expected[0])
        text = sinks.text_of(found)
        for part in expected:
            assert part in text, (subject, part, text)
        assert sinks.html_of(found).startswith("<!DOCTYPE html>")


async def test_status_change_emails_and_alerts_by_sms(bus: Any, mail_sink: Any, sms_url: str) -> None:
    account = new_account()
    await bus.publish(account)
    dossier = submitted(account)
    await bus.publish(dossier)
    auth = authorisation_snapshot(account.account_id)
    await bus.publish(
        instruction_v1.DecisionIssuedV1(
            decision_id=uuid.uuid4(),
            case_id=uuid.uuid4(),
            dossier_id=dossier.dossier.dossier_id,
            registration_number=dossier.dossier.registration_number,
            outcome="granted",
            issued_at=now(),
            authorisation=auth,
        )
    )
    await _email(mail_sink, account.email, "décision sur votre demande")
    await bus.publish(
        instruction_v1.AuthorisationStatusChangedV1(
            authorisation_id=auth["authorisation_id"],
            number=auth["number"],
            dossier_id=dossier.dossier.dossier_id,
            holder_account_id=account.account_id,
            old_status="valid",
            new_status="suspended",
            reason="Enquête en cours",
            changed_at=now(),
        )
    )
    msg = await _email(mail_sink, account.email, f"votre autorisation {auth['number']} est suspendue")
    assert "(auparavant valide)" in sinks.text_of(msg) and "Motif : Enquête en cours" in sinks.text_of(msg)

    async def sms() -> Any:
        async with httpx.AsyncClient() as c:
            items = (await c.get(f"{sms_url}/messages", params={"to": account.phone})).json()
        return [i for i in items if "est désormais suspendue" in i["text"]]

    assert len(await eventually(sms)) == 1


async def test_the_same_event_delivered_twice_sends_one_email(bus: Any, mail_sink: Any, runtime: Any) -> None:
    account = new_account()
    await bus.publish(account)
    event = identity_v1.PasswordResetRequestedV1(
        account_id=account.account_id,
        email=account.email,
        link="https://portail/reinit?j=once",
        expires_at=now() + timedelta(hours=1),
    )
    first = await bus.publish(event)
    await _email(mail_sink, account.email, "réinitialisation")
    await bus.publish(event, envelope=first)  # the broker redelivers the same message (same id)
    # A later event on the same queue: once its email is there, the duplicate was consumed too.
    await bus.publish(identity_v1.RegistrationAttemptedV1(account_id=account.account_id, email=account.email))
    await _email(mail_sink, account.email, "tentative d'inscription")
    assert len([m for m in mail_sink.to(account.email) if "réinitialisation" in str(m["Subject"])]) == 1
    stored = await eventually(
        lambda: rows(
            runtime,
            sa.select(messages).where(messages.c.cause_event_id == first.event_id, messages.c.status == "delivered"),
        )
    )
    assert len(stored) == 1
    assert len(await rows(runtime, sa.select(messages).where(messages.c.cause_event_id == first.event_id))) == 1


async def test_smtp_outage_is_retried_with_backoff_then_delivered(
    bus: Any, mail_sink: Any, runtime: Any, clock: Any, settings: Any
) -> None:
    account = new_account()
    await bus.publish(account)
    mail_sink.stop()
    try:
        env = await bus.publish(identity_v1.RegistrationAttemptedV1(account_id=account.account_id, email=account.email))

        async def failed_once() -> Any:
            found = await rows(runtime, sa.select(messages).where(messages.c.cause_event_id == env.event_id))
            return found and found[0].attempts >= 1 and found[0].last_error and found[0]

        row = await eventually(failed_once)
        assert row.status == "pending" and "injoignable" in row.last_error
        assert row.next_attempt_at >= clock.now() + timedelta(seconds=5)  # backed off, not hammering
    finally:
        mail_sink.start()
    clock.advance(timedelta(seconds=settings.message_retry_delays[0] + 1))
    await _email(mail_sink, account.email, "tentative d'inscription")
    # The sink has the email a moment before the outcome commits: wait for the recorded event.
    async def recorded() -> bool:
        delivered = await rows(
            runtime, sa.select(outbox.c.body).where(outbox.c.routing_key == NotificationDeliveredV1.routing_key())
        )
        return any(b.body["data"]["cause_event_id"] == str(env.event_id) for b in delivered)

    await eventually(recorded)


async def test_an_address_refused_for_good_is_recorded_as_failed(bus: Any, runtime: Any) -> None:
    account = new_account(email="personne@refuse.invalid")  # the SMTP sink refuses this domain (550)
    await bus.publish(account)
    env = await bus.publish(identity_v1.RegistrationAttemptedV1(account_id=account.account_id, email=account.email))

    async def failed() -> Any:
        found = await rows(runtime, sa.select(messages).where(messages.c.cause_event_id == env.event_id))
        return found and found[0].status == "failed" and found[0]

    row = await eventually(failed)
    assert row.attempts == 1
    events = await rows(
        runtime, sa.select(outbox.c.body).where(outbox.c.routing_key == NotificationFailedV1.routing_key())
    )
    assert any(b.body["data"]["notification_id"] == str(row.id) for b in events)
