"""Issue 9, « Must be shown » (applicant part): a private person registers, verifies (SMS and
email sinks), signs in, classifies a hunting rifle by the unknown path, adds it, sees the
authorisation named, attaches a permis de chasser, saves, comes back, transmits and sees the
number in « En attente ». Every page visited passes axe-core (no serious or critical issue)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from portal_helpers import check_a11y, file_hunting_rifle_dossier, register_applicant, shot, sign_in

pytestmark = pytest.mark.browser


def test_private_person_files_a_hunting_rifle_request(page: Any) -> None:
    a = register_applicant(page, screenshots=True)
    sign_in(page, a.email, a.password)
    check_a11y(page, "accueil SOPRANO")
    shot(page, "soprano")
    assert page.get_by_role("link", name="e-APS", exact=True).is_visible()
    assert page.get_by_text("Nécessite le statut OPPD").first.is_visible()

    page.get_by_role("link", name="e-APS", exact=True).click()
    page.wait_for_url(re.compile(r"/eaps$"))
    check_a11y(page, "accueil e-APS (première visite)")
    assert page.get_by_text("Bienvenue dans e-APS").is_visible()
    for tab in ("Déposer un nouveau dossier", "Afficher mes autorisations", "Recherche avancée", "Mes documents",
                "Aides"):
        assert page.get_by_role("link", name=tab).first.is_visible()

    draft = file_hunting_rifle_dossier(page, a, screenshots=True, transmit=False)
    assert "Accord préalable" in draft["authorisation_message"]
    assert "demande de" in draft["authorisation_message"]

    # Saved; the applicant leaves and comes back from the e-APS home (second visit: the tables).
    page.goto("/eaps")
    check_a11y(page, "accueil e-APS (tables)")
    todo = page.locator("#dossiers-a-traiter")
    assert todo.get_by_role("link", name="Brouillon").count() == 1
    shot(page, "accueil_eaps")
    todo.get_by_role("link", name="Brouillon").click()
    check_a11y(page, "page du dossier (brouillon)")
    page.get_by_label("Action sur le dossier").select_option("transmit")
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(re.compile(r"/etape-3"))
    check_a11y(page, "étape 3")
    assert page.get_by_text("permis-de-chasser.pdf").is_visible()
    shot(page, "etape3_recapitulatif")
    page.get_by_role("button", name="Transmettre mon dossier").click()
    page.wait_for_url(re.compile(r"/etape-4"))
    check_a11y(page, "étape 4")
    number = page.locator("#numero-enregistrement").inner_text()
    assert re.fullmatch(r"EAPS-\d{4}-\d{6}", number)
    shot(page, "etape4_transmission")

    page.goto("/eaps")
    waiting = page.locator("#dossiers-en-attente")
    assert waiting.get_by_role("link", name=number).is_visible()
    assert page.locator("#dossiers-a-traiter").get_by_role("link", name=number).count() == 0
    waiting.get_by_role("link", name=number).click()
    check_a11y(page, "page du dossier (transmis)")
    assert page.locator("#statut").text_content().strip() in ("Transmis", "En étude")
    shot(page, "dossier")
