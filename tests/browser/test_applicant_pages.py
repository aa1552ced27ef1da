"""Issue 9, applicant portal: every page the journey test does not visit passes axe-core (no
serious or critical violation) in Debian's Chromium — account pages (registration of both kinds,
sign-in, password reset), SOPRANO home and the habilitation request, « Mes documents » (list,
add, delete), « Recherche avancée » (form and results, both targets), « Afficher mes
autorisations » and an authorisation page with its PDF, notifications, « Aides », the French 404
page; the wizard's classification aid and « J'ajoute ce matériel à ma demande » with JavaScript
disabled; a session that expires on the server while step 2 is being typed keeps what was typed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agent_helpers import Applicant as ApiApplicant
from agent_helpers import create_staff, wait_for
from portal_helpers import (
    Applicant,
    check_a11y,
    pdf_bytes,
    register_applicant,
    shot,
    sign_in,
)

pytestmark = pytest.mark.browser

INTERNAL = "http://127.0.0.1:8001"
PUBLIC = "http://127.0.0.1:8000"


def new_context(browser: Any, portal_url: str, **kw: Any) -> Any:
    context = browser.new_context(base_url=portal_url, locale="fr-FR", accept_downloads=True, bypass_csp=True,
                                  viewport={"width": 1280, "height": 900}, **kw)
    context.set_default_timeout(30_000)
    return context


# --- one hunter per module, with a granted authorisation ----------------------------------------

@pytest.fixture(scope="module")
def hunter(browser: Any, portal_url: str) -> Iterator[Applicant]:
    context = new_context(browser, portal_url)
    page = context.new_page()
    a = register_applicant(page)  # registration (private person), both verifications: axe on each page
    context.close()
    yield a


@pytest.fixture(scope="module")
def signed_in_state(browser: Any, portal_url: str, hunter: Applicant) -> dict[str, Any]:
    """The hunter's signed-in browser state (its session cookie), signed in once for the module:
    the sign-in routes have a strict rate limit per address."""
    context = new_context(browser, portal_url)
    page = context.new_page()
    sign_in(page, hunter.email, hunter.password)
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


@pytest.fixture
def hunter_page(browser: Any, portal_url: str, signed_in_state: dict[str, Any]) -> Iterator[Any]:
    context = new_context(browser, portal_url, storage_state=signed_in_state)
    yield context.new_page()
    context.close()


def _staff_token(client: httpx.Client, staff: Any) -> str:
    r = client.post("/api/v1/identity/officers/sessions",
                    json={"email": staff.email, "password": staff.password, "otp": staff.code()})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def granted(hunter: Applicant) -> dict[str, str]:
    """A dossier of the hunter's filed through the API, granted by an officer and signed by a
    supervisor through the internal edge: {"number", "authorisation"}."""
    officer, supervisor = create_staff([{"first_name": "Paul", "last_name": "Instructeur", "roles": ["officer"]},
                                        {"first_name": "Claire", "last_name": "Signataire", "roles": ["supervisor"]}])
    api = ApiApplicant(PUBLIC, hunter.email, hunter.password)
    d = api.transmit(api.hunting_rifle_import())
    number = d["registration_number"]
    with httpx.Client(base_url=INTERNAL, timeout=30, trust_env=False) as c:
        off = {"Authorization": f"Bearer {_staff_token(c, officer)}"}

        def case() -> Any:
            items = c.get("/api/v1/instruction/cases", params={"registration_number": number}, headers=off).json()
            return items["items"][0] if items.get("items") else None
        cid = wait_for(case)["id"]
        assert c.post(f"/api/v1/instruction/cases/{cid}/take", headers=off).status_code == 204
        r = c.post(f"/api/v1/instruction/cases/{cid}/admissibility", json={"decision": "recevable"}, headers=off)
        assert r.status_code == 204, r.text
        r = c.post(f"/api/v1/instruction/cases/{cid}/proposals", headers=off,
                   json={"outcome": "granted", "conditions": "Arme transportée déchargée, sous clé."})
        assert r.status_code == 201, r.text
        sup = {"Authorization": f"Bearer {_staff_token(c, supervisor)}"}
        r = c.post(f"/api/v1/instruction/cases/{cid}/proposals/{r.json()['id']}/signature", headers=sup)
        assert r.status_code == 201, r.text
        auth_number = r.json()["authorisation"]["number"]

    def listed() -> Any:
        items = api.call("GET", "/api/v1/authorisations")["items"]
        return next((a for a in items if a["number"] == auth_number and a.get("pdf")), None)
    wait_for(listed, timeout=90)
    return {"number": number, "authorisation": auth_number}


# --- pages anyone sees ------------------------------------------------------------------------

def test_account_pages_and_the_404_page_pass_the_accessibility_check(page: Any) -> None:
    page.goto("/")
    check_a11y(page, "accueil public")
    shot(page, "accueil_public")

    page.goto("/inscription")
    check_a11y(page, "inscription (choix du type)")
    page.get_by_role("button", name="Continuer").click()  # nothing chosen: the field's message and the summary
    page.wait_for_url(re.compile(r"/inscription"))
    page.goto("/inscription?type=professional")
    assert page.get_by_label("Raison sociale").is_visible()  # the professional's conditional fields
    assert page.get_by_label("Numéro SIRET").is_visible()
    check_a11y(page, "inscription (professionnel)")
    page.get_by_role("button", name="Valider mon inscription").click()
    summary = page.locator("#resume-erreurs")
    summary.wait_for()
    assert summary.get_by_role("link", name=re.compile("Raison sociale")).count() == 1
    assert page.locator("#f-siret").get_attribute("aria-describedby") == "f-siret-msg"
    check_a11y(page, "inscription (professionnel, erreurs)")
    shot(page, "inscription_professionnel_erreurs")
    page.goto("/inscription?type=individual")
    assert page.get_by_label("Raison sociale").count() == 0
    check_a11y(page, "inscription (particulier)")

    page.goto("/connexion")
    check_a11y(page, "connexion")
    page.get_by_label("Identifiant (adresse électronique)").fill(f"personne-{uuid.uuid4().hex[:6]}@exemple.fr")
    page.locator("#f-password").fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Entrer").click()
    page.locator("#resume-erreurs").wait_for()
    check_a11y(page, "connexion (échec)")
    shot(page, "connexion")

    page.goto("/mot-de-passe-oublie")
    check_a11y(page, "mot de passe oublié")
    page.get_by_role("button", name="Recevoir le lien").click()
    page.locator("#resume-erreurs").wait_for()
    check_a11y(page, "mot de passe oublié (erreur)")
    page.get_by_label("Adresse électronique").fill(f"inconnu-{uuid.uuid4().hex[:6]}@exemple.fr")
    page.get_by_role("button", name="Recevoir le lien").click()
    page.locator(".fr-alert--success").wait_for()
    check_a11y(page, "mot de passe oublié (envoyé)")

    page.goto("/mot-de-passe/reinitialiser?token=jeton-invalide")
    check_a11y(page, "nouveau mot de passe")
    page.locator("#f-password").fill("Nouveau-Mot-2026-secret")
    page.get_by_label("Confirmation du mot de passe").fill("Nouveau-Mot-2026-secret")
    page.get_by_role("button", name="Enregistrer le nouveau mot de passe").click()
    page.locator("#resume-erreurs").wait_for()  # the link is not valid: said in the summary
    check_a11y(page, "nouveau mot de passe (lien invalide)")

    r = page.goto("/cette-page-n-existe-pas")
    assert r is not None and r.status == 404
    assert page.get_by_role("heading", name="Page non trouvée").is_visible()
    check_a11y(page, "page 404")
    shot(page, "404")


# --- a signed-in hunter's pages ----------------------------------------------------------------

def test_soprano_home_and_the_habilitation_request_form(hunter_page: Any) -> None:
    page = hunter_page
    page.goto("/soprano")
    check_a11y(page, "accueil SOPRANO")
    page.get_by_role("link", name="Demander une habilitation au PAE").click()
    page.wait_for_url(re.compile(r"/soprano/habilitation$"))
    check_a11y(page, "demande d'habilitation")
    page.get_by_role("button", name="Envoyer la demande").click()
    summary = page.locator("#resume-erreurs")
    summary.wait_for()
    assert summary.get_by_role("link", name=re.compile("PAE")).count() == 1
    check_a11y(page, "demande d'habilitation (erreurs)")
    shot(page, "habilitation")

    page.goto("/soprano/invitations")
    assert page.get_by_text("Vous n'avez aucune invitation en attente").is_visible()
    check_a11y(page, "invitations")


def test_documents_library_add_and_delete(hunter_page: Any) -> None:
    page = hunter_page
    page.goto("/eaps/documents")
    check_a11y(page, "mes documents")
    page.get_by_role("button", name="Ajouter").click()  # no file: the error next to the field and in the summary
    page.locator("#resume-erreurs").wait_for()
    check_a11y(page, "mes documents (erreur)")
    title = f"Permis de chasser {uuid.uuid4().hex[:6]}"
    page.locator("#f-file").set_input_files({"name": "permis.pdf", "mimeType": "application/pdf",
                                             "buffer": pdf_bytes("Permis de chasser")})
    page.get_by_label("Titre").fill(title)
    page.get_by_role("button", name="Ajouter").click()
    row = page.locator("#bibliotheque tr", has_text=title)
    row.get_by_text("Sain").wait_for(timeout=60_000)  # the antivirus verdict (the page reloads itself)
    check_a11y(page, "mes documents (un document)")
    shot(page, "documents")
    row.get_by_role("button", name=re.compile("Supprimer")).click()
    page.get_by_text("Le document a été supprimé de votre bibliothèque.").wait_for()
    assert page.locator("#bibliotheque tr", has_text=title).count() == 0
    check_a11y(page, "mes documents (après suppression)")


def test_authorisations_search_notifications_and_help(hunter_page: Any, granted: dict[str, str]) -> None:
    page = hunter_page
    page.goto("/eaps/autorisations")
    check_a11y(page, "mes autorisations")
    shot(page, "autorisations")
    page.get_by_role("link", name=granted["authorisation"]).click()
    page.wait_for_url(re.compile(r"/eaps/autorisations/[0-9a-f-]+$"))
    assert page.get_by_role("heading", name=f"Autorisation {granted['authorisation']}").is_visible()
    check_a11y(page, "page d'autorisation")
    shot(page, "autorisation")
    with page.expect_download() as dl:
        page.get_by_role("link", name=re.compile("Télécharger l'autorisation")).click()
    assert open(dl.value.path(), "rb").read(5) == b"%PDF-"

    page.goto("/eaps/recherche")
    check_a11y(page, "recherche avancée (formulaire)")
    page.get_by_label("Numéro (ou son début)").fill(granted["number"])
    page.get_by_role("button", name="Rechercher").click()
    page.locator("#table-resultats").wait_for()
    assert page.locator("#table-resultats").get_by_role("link", name=granted["number"]).is_visible()
    check_a11y(page, "recherche avancée (dossiers)")
    page.goto("/eaps/recherche?objet=autorisations")
    check_a11y(page, "recherche avancée (formulaire, autorisations)")
    page.get_by_label("Numéro (ou son début)").fill(granted["authorisation"])
    page.get_by_role("button", name="Rechercher").click()
    page.locator("#table-resultats").wait_for()
    assert page.locator("#table-resultats").get_by_role("link", name=granted["authorisation"]).is_visible()
    check_a11y(page, "recherche avancée (autorisations)")
    shot(page, "recherche")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Exporter (CSV)").click()
    assert granted["authorisation"] in open(dl.value.path(), encoding="utf-8-sig").read()

    page.goto("/eaps/notifications")
    page.locator("h1", has_text="Mes notifications").wait_for()
    check_a11y(page, "notifications")
    shot(page, "notifications")

    page.goto("/eaps/aides")
    check_a11y(page, "aides")
    links = [a.get_attribute("href") for a in page.locator("nav.fr-sidemenu a").all()]
    assert len(links) >= 5
    for href in links:
        page.goto(href)
        check_a11y(page, f"aide {href}")
    shot(page, "aides")

    r = page.goto(f"/eaps/autorisations/{uuid.uuid4()}")  # none of the hunter's
    assert r is not None and r.status == 404
    check_a11y(page, "404 (autorisation inconnue)")


# --- without JavaScript ---------------------------------------------------------------------

def test_classification_aid_and_adding_goods_work_without_javascript(browser: Any, portal_url: str,
                                                                      signed_in_state: dict[str, Any]) -> None:
    context = new_context(browser, portal_url, java_script_enabled=False, storage_state=signed_in_state)
    page = context.new_page()
    try:
        page.goto("/eaps/nouveau")
        page.get_by_role("button", name="Commencer ma demande").click()
        page.wait_for_url(re.compile(r"/eaps/dossiers/[0-9a-f-]+/etape-1"))
        # The profile select would reload the page with JS; without it, « Enregistrer ces informations ».
        page.get_by_label("Votre profil").select_option(label="Chasseur")
        page.get_by_role("button", name="Enregistrer ces informations").click()
        page.get_by_label("Numéro du permis de chasser").fill("PC-45-654321")
        page.get_by_label("Introduction depuis un État membre de l'UE").check(force=True)
        page.get_by_label("Pays de provenance").select_option("BE")
        page.get_by_label("Pays de destination").select_option("FR")
        page.get_by_role("button", name="Enregistrer ces informations").click()

        page.get_by_label("NON").check(force=True)
        page.get_by_role("button", name="Valider ma réponse sur le classement").click()
        page.get_by_label(re.compile("^Catégorie au sens")).select_option("C")
        page.get_by_role("button", name="Valider la catégorie").click()
        page.get_by_label(re.compile("^Descriptif 1")).select_option(label="Une arme d'épaule")
        page.get_by_role("button", name="Valider le Descriptif 1").click()
        page.get_by_label(re.compile("^Descriptif 2")).select_option(
            label="Un coup par canon (fusil de chasse, carabine à un coup)")
        page.get_by_role("button", name="Valider le Descriptif 2").click()
        page.locator("#classement-trouve").wait_for()
        page.get_by_label("Fusil de chasse superposé").check(force=True)
        page.get_by_role("button", name="Sélectionner cette marchandise").click()
        assert page.get_by_label("Désignation du matériel").input_value() == "Fusil de chasse superposé"
        page.get_by_label("Marque").fill("Beretta")
        page.get_by_label("Quantité").fill("1")
        fallback_buttons = page.evaluate("() => document.querySelectorAll('noscript').length")
        assert fallback_buttons >= 1
        with page.expect_navigation():
            page.get_by_role("button", name="J'ajoute ce matériel à ma demande").click()
        page.locator("#materiels tbody tr", has_text="Fusil de chasse superposé").wait_for()
        added = page.locator(".fr-alert--success", has_text="Matériel ajouté")
        assert "Accord préalable" in added.inner_text()
        shot(page, "sans_javascript_materiel_ajoute")
    finally:
        context.close()


# --- session expiry keeps what was typed ------------------------------------------------------

def test_a_session_expiring_while_typing_step_2_keeps_what_was_typed(page: Any, hunter: Applicant) -> None:
    from redis import Redis

    sign_in(page, hunter.email, hunter.password, a11y=False)
    api = ApiApplicant(PUBLIC, hunter.email, hunter.password)
    d = api.call("POST", "/api/v1/dossiers", expect=201, json={"applicant_kind": "individual"})
    page.goto(f"/eaps/dossiers/{d['id']}/etape-2")
    page.locator("#f-applicant-address-line1").fill("7 chemin des Étangs")
    page.locator("#f-applicant-address-city").fill("Sologne")
    page.locator("#f-sender-name").fill("Armurerie du Nord")
    page.get_by_label("Motif de l'opération").select_option("achat")

    # The session ends on the server (idle lifetime reached) while the person is typing.
    sid = next(c["value"] for c in page.context.cookies() if c["name"] == "eaps_session")
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(redis.scan_iter(match=f"*:portal:applicant:{sid}"))
    assert len(keys) == 1
    redis.delete(*keys)

    page.get_by_role("button", name="Sauvegarder ma saisie").click()
    page.wait_for_url(re.compile(r"/connexion\?"))
    assert page.get_by_text("Votre session a expiré").is_visible()
    check_a11y(page, "connexion (session expirée)")
    page.get_by_label("Identifiant (adresse électronique)").fill(hunter.email)
    page.locator("#f-password").fill(hunter.password)
    page.get_by_role("button", name="Entrer").click()
    page.wait_for_url(re.compile(rf"/eaps/dossiers/{d['id']}/etape-2"))
    page.get_by_text("Votre saisie a été sauvegardée").wait_for()
    assert page.locator("#f-applicant-address-line1").input_value() == "7 chemin des Étangs"
    assert page.locator("#f-sender-name").input_value() == "Armurerie du Nord"
    saved = api.dossier(d["id"])  # saved in the draft, not only shown
    dem = api.call("GET", f"/api/v1/dossiers/{d['id']}/recapitulatif")["demandeur"]
    assert dem["applicant"]["address"]["city"] == "Sologne" and dem["motive"] == "achat", saved
