"""French templates: every one renders its parts; HTML escapes what users typed; text does not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from notifications.service_layer.rendering import render, template_names

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CONTEXT = {
    "portal_url": "https://portail",
    "greeting_name": "Camille Durand",
    "link": "https://portail/x",
    "expires_at": WHEN,
    "code": "123456",
    "teleservices": ["e-APS"],
    "reason": "motif",
    "filename": "a.pdf",
    "signature": "Eicar",
    "registration_number": "EAPS-1",
    "submitted_at": WHEN,
    "decided_at": WHEN,
    "missing": [{"kind_label": "Pièce justificative", "label": "Permis"}],
    "message": "msg",
    "outcome_label": "accordée",
    "issued_at": WHEN,
    "reasons": None,
    "legal_basis": None,
    "authorisation": SimpleNamespace(
        number="A-1", valid_from=date(2026, 3, 1), valid_until=date(2027, 2, 28), conditions=None
    ),
    "number": "A-1",
    "status_label": "suspendue",
    "old_status_label": "valide",
    "changed_at": WHEN,
    "author_label": "Service instructeur",
    "body": "Bonjour <b>l'équipe</b> & co",
    "posted_at": WHEN,
    "verification_code": "K7Q2-9XPA",
}
EMAILS = {
    "email_verification",
    "password_reset",
    "registration_attempted",
    "habilitation_granted",
    "habilitation_refused",
    "document_rejected",
    "dossier_submitted",
    "dossier_resubmitted",
    "dossier_admissible",
    "dossier_inadmissible",
    "completion_requested",
    "decision_issued",
    "authorisation_status_changed",
    "officer_message",
}


@pytest.mark.parametrize("name", template_names())
def test_every_template_renders_in_french(name: str) -> None:
    out = render(name, CONTEXT)
    if name in EMAILS:
        assert out.subject and out.subject.startswith("e-APS : ")
        assert out.text and out.text.startswith("Bonjour Camille Durand,")
        assert "merci de ne pas y répondre" in out.text
        assert out.html and '<html lang="fr">' in out.html and "Bonjour Camille Durand," in out.html
    else:
        assert out.subject is None and out.html is None
    assert out.in_app_title or out.sms or out.subject


def test_every_email_of_the_issue_exists() -> None:
    assert EMAILS <= set(template_names())
    assert {"phone_verification", "case_opened", "applicant_message", "officer_dossier_resubmitted"} <= set(
        template_names()
    )


def test_user_text_is_escaped_in_html_and_kept_in_text() -> None:
    out = render("officer_message", CONTEXT)
    assert "Bonjour <b>l'équipe</b> & co" in (out.text or "")
    assert "&lt;b&gt;" in (out.html or "") and "<b>l" not in (out.html or "")


def test_sms_code_fits_one_message() -> None:
    sms = render("phone_verification", CONTEXT).sms
    assert sms and "123456" in sms and len(sms) <= 160


def test_an_unknown_language_falls_back_to_french() -> None:
    assert render("dossier_submitted", CONTEXT, "de").subject == "e-APS : votre demande EAPS-1 a été transmise"
