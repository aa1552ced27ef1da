"""Issue 9, « Must be shown »: a professional obtains OPPD through a PAE agent and a colleague
sees the company's dossier. A gunsmith registers in the applicant portal (professional fields:
company, SIRET with a valid Luhn key), verifies the email link and the SMS code, asks the Paris
PAE for OPPD habilitation from the SOPRANO home; a PAE agent grants it in the officer portal
(TOTP sign-in); the gunsmith signs in again and has OPPD; they invite a colleague (identity's
invitation route through the public edge: the portal has no page to invite), who registers,
verifies and accepts in « Mes invitations »; the gunsmith files and transmits a dossier in the
portal; the colleague sees it in « En attente » and opens it. Every page visited passes
axe-core (no serious or critical violation); the main screens are saved as
docs/screenshots/pro_*.png."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agent_helpers import Applicant as ApiApplicant
from agent_helpers import Staff, check_page, create_staff, valid_siret
from portal_helpers import (
    ROOT,
    SHOTS,
    Applicant,
    check_a11y,
    email_link,
    latest_sms_code,
    unique_mobile,
    upload_justificatif,
)

pytestmark = pytest.mark.browser

PAE = "PAE-IDF-PARIS"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"pro_{name}.png"), full_page=True)


def new_page(browser: Any, base_url: str) -> Any:
    # bypass_csp only lets the test inject axe-core; the pages keep their own policy.
    context = browser.new_context(base_url=base_url, locale="fr-FR", accept_downloads=True, bypass_csp=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context.new_page()


@pytest.fixture(scope="module")
def agent_url(stack: Any) -> Iterator[str]:
    """The current code's internal edge (officer portal at /agent) on a free loopback port, in front
    of the stack's services, with its own rate-limit and session prefixes."""
    from eaps_kit.testing import free_port

    port, tag = free_port(), secrets.token_hex(4)
    env = {**os.environ, "GATEWAY_INTERNAL_PORT": str(port), "GATEWAY_ENVIRONMENT": "dev",
           "GATEWAY_LOG_JSON": "false", "GATEWAY_RATE_LIMIT_PREFIX": f"t{tag}:rl:",
           "GATEWAY_PORTAL_SESSION_PREFIX": f"t{tag}:portal:", "PYTHONUNBUFFERED": "1"}
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"browser-pro-agent-{tag}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "internal"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the internal edge stopped, see {log.name}"
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the internal edge did not become ready"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


# --- the applicant portal's side ----------------------------------------------------------------

LIMITED = re.compile(r"Trop de requêtes\. Veuillez réessayer dans (\d+) seconde")


def submit(page: Any, prepare: Any, button: str, expect_url: str | None = None) -> None:
    """Fills a form (``prepare``) and submits it with ``button``, again while the edge answers that
    the shared sign-in limit is reached (429, said on the page), waiting as long as it says, as a
    person would. Then, with ``expect_url``, the page must be there (else the page's message is shown)."""
    deadline = time.monotonic() + 180
    while True:
        prepare()
        with page.expect_navigation():
            page.get_by_role("button", name=button).click()
        body = page.locator("body").inner_text()
        said = LIMITED.search(body)
        if not said:
            break
        assert time.monotonic() < deadline, f"{button}: still limited"
        time.sleep(int(said.group(1)) + 1)
    if expect_url:
        assert re.search(expect_url, page.url), f"{button}: {page.url}\n{body[:1500]}"


def sign_in(page: Any, email_: str, password: str, *, a11y: bool = True) -> None:
    """The portal's sign-in, waiting out the shared limit; lands on the SOPRANO home."""
    page.goto("/connexion")
    if a11y:
        check_a11y(page, "connexion")

    def fill() -> None:
        page.get_by_label("Identifiant (adresse électronique)").fill(email_)
        page.locator("#f-password").fill(password)
    submit(page, fill, "Entrer", r"/soprano$")


def register(page: Any, *, company: str | None = None, siret: str | None = None, first_name: str = "Lucie",
             email: str | None = None, screenshot: str | None = None) -> Applicant:
    """Registers through the portal — a gunsmith (professional's conditional fields) when
    ``company`` is given, else a hunter — and verifies the email link and the SMS code read from
    the sinks, waiting out the shared limit; axe on every page. Leaves the page on the sign-in page."""
    tag = secrets.token_hex(4)
    a = Applicant(email=email or f"armurier-{tag}@exemple.fr", password=f"Canon-Raye-{tag}-2026!",
                  phone=unique_mobile(), first_name=first_name, last_name=f"Garnier-{tag}")
    page.goto("/inscription")
    check_a11y(page, "inscription")
    with page.expect_navigation():
        page.get_by_label("Professionnel" if company else "Particulier").click(force=True)
    assert page.get_by_text(f"Type de compte : {'Professionnel' if company else 'Particulier'}").is_visible()

    def fill_and_send() -> None:
        page.get_by_label("Votre profil").select_option(label="Armurier" if company else "Chasseur")
        page.locator("#f-last-name").fill(a.last_name)
        page.get_by_label("Prénom").fill(a.first_name)
        if company:
            page.get_by_label("Raison sociale").fill(company)
            page.get_by_label("Numéro SIRET").fill(siret or "")
        page.get_by_label("Adresse électronique").fill(a.email)
        page.get_by_label("Téléphone portable").fill("06" + a.phone[4:])
        page.locator("#f-password").fill(a.password)
        page.get_by_label("Confirmation du mot de passe").fill(a.password)
        check_a11y(page, "inscription (formulaire)")
        if screenshot:
            shot(page, screenshot)
    submit(page, fill_and_send, "Valider mon inscription", r"/inscription/verification")
    check_a11y(page, "vérification SMS")
    verification, link = page.url, email_link(a.email, "/inscription/verifier-email")

    def open_link() -> None:
        page.goto(link)
        check_a11y(page, "lien courriel")
    submit(page, open_link, "Confirmer mon adresse électronique")
    page.get_by_text("Votre adresse électronique est confirmée").wait_for()
    page.goto(verification)
    code = latest_sms_code(a.phone)

    submit(page, lambda: page.get_by_label("Code reçu par SMS").fill(code), "Confirmer mon téléphone",
           r"/connexion\?compte=active")
    return a


def file_and_transmit(page: Any, company: str, siret: str, agrement: str) -> str:
    """From the e-APS home, as a gunsmith: a category C hunting rifle introduced from Belgium,
    classified by the unknown path, every justificatif uploaded, transmitted. Returns the number."""
    page.get_by_role("link", name="Déposer un nouveau dossier").first.click()
    page.wait_for_url(re.compile(r"/eaps/nouveau$"))
    check_a11y(page, "nouveau dossier")
    page.get_by_role("button", name="Commencer ma demande").click()
    page.wait_for_url(re.compile(r"/eaps/dossiers/[0-9a-f-]+/etape-1"))
    assert page.locator("#f-applicant-kind-2").is_checked() or \
        page.get_by_label("Professionnel").is_checked()  # the account's kind
    with page.expect_navigation():
        page.get_by_label("Votre profil").select_option(label="Armurier")
    # The professional's details (the portal does not prefill them from the account).
    for label, value in (("Raison sociale", company), ("Numéro SIRET", siret),
                         ("Numéro d'agrément d'armurier", agrement)):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Introduction depuis un État membre de l'UE").click(force=True)
    page.get_by_label("Pays de provenance").select_option("BE")
    page.get_by_label("Pays de destination").select_option("FR")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer ces informations").click()
    check_a11y(page, "étape 1 (professionnel)")
    with page.expect_navigation():
        page.get_by_label("NON").click(force=True)
    with page.expect_navigation():
        page.get_by_label(re.compile("^Catégorie au sens")).select_option("C")
    with page.expect_navigation():
        page.get_by_label(re.compile("^Descriptif 1")).select_option(label="Une arme d'épaule")
    with page.expect_navigation():
        page.get_by_label(re.compile("^Descriptif 2")).select_option(
            label="Un coup par canon (fusil de chasse, carabine à un coup)")
    page.locator("#classement-trouve").wait_for()
    with page.expect_navigation():
        page.get_by_label("Fusil de chasse superposé").click(force=True)
    page.get_by_label("Marque").fill("Beretta")
    page.get_by_label("Calibre").fill("12")
    page.get_by_label("Quantité").fill("3")
    page.get_by_role("button", name="J'ajoute ce matériel à ma demande").click()
    assert "Accord préalable" in page.locator(".fr-alert--success").first.inner_text()
    check_a11y(page, "étape 1 (matériel ajouté)")
    shot(page, "etape1")
    page.get_by_role("button", name="Étape suivante").click()
    page.wait_for_url(re.compile(r"/etape-2"))
    check_a11y(page, "étape 2 (professionnel)")
    page.locator("#f-applicant-address-line1").fill("8 rue des Armuriers")
    page.locator("#f-applicant-address-postal-code").fill("69002")
    page.locator("#f-applicant-address-city").fill("Lyon")
    page.locator("#f-applicant-address-country").select_option("FR")
    page.locator("#f-sender-name").fill("Armurerie Liégeoise")
    page.locator("#f-sender-address-line1").fill("12 quai de la Meuse")
    page.locator("#f-sender-address-city").fill("Liège")
    page.locator("#f-sender-address-country").select_option("BE")
    page.locator("#f-recipient-name").fill("Armurerie du Rhône")
    page.locator("#f-recipient-address-line1").fill("8 rue des Armuriers")
    page.locator("#f-recipient-address-city").fill("Lyon")
    page.locator("#f-recipient-address-country").select_option("FR")
    page.get_by_label("Motif de l'opération").select_option("vente")
    page.get_by_role("button", name="Sauvegarder ma saisie").click()
    page.get_by_text("Votre saisie a été sauvegardée").wait_for()
    codes = page.evaluate("() => [...document.querySelectorAll('[id^=justificatif-]')]"
                          ".map(e => e.id.slice('justificatif-'.length)).filter(c => /^[A-Z0-9_-]+$/.test(c))")
    assert "AGR-ARM" in codes, codes  # the gunsmith's agrément is asked for
    for code in codes:
        upload_justificatif(page, code, f"{code.lower()}.pdf", f"Justificatif {code}")
    check_a11y(page, "étape 2 (justificatifs)")
    shot(page, "etape2_justificatifs")
    page.get_by_role("button", name="Étape suivante").click()
    page.wait_for_url(re.compile(r"/etape-3"))
    check_a11y(page, "étape 3")
    page.get_by_role("button", name="Transmettre mon dossier").click()
    page.wait_for_url(re.compile(r"/etape-4"))
    check_a11y(page, "étape 4")
    return page.locator("#numero-enregistrement").inner_text()


# --- the officer portal's side -------------------------------------------------------------------

def pae_grants(page: Any, agent: Staff, company: str) -> None:
    page.goto("/agent/connexion")
    check_page(page)
    page.get_by_label("Adresse électronique professionnelle").fill(agent.email)
    page.get_by_label("Mot de passe").fill(agent.password)
    page.get_by_label("Code de vérification").fill(agent.code())
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/agent/habilitations"))
    check_page(page)
    page.locator("#habilitations").get_by_role("link", name=company).click()
    check_page(page)
    assert "Importations" in page.locator("main").inner_text()  # the professional's justification
    shot(page, "agent_habilitation")
    page.locator("label[for='f-decision']").click()  # « Accorder le statut OPPD… »
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.get_by_text("Le statut OPPD et les habilitations demandées sont accordés.").wait_for()
    assert "Accordée" in page.locator(".fr-badge").first.text_content()
    check_page(page)


# --- the journey ----------------------------------------------------------------------------------

def test_professional_obtains_oppd_and_a_colleague_sees_the_company_dossier(
        browser: Any, portal_url: str, agent_url: str) -> None:
    siret = valid_siret()
    company = f"Armurerie du Rhône {siret[-5:]}"
    [pae_agent] = create_staff([{"first_name": "Sophie", "last_name": "Pae", "roles": ["pae_agent"], "pae": PAE}])

    # The gunsmith registers, signs in: simplified access (AS), asks the PAE for OPPD.
    pro_page = new_page(browser, portal_url)
    pro = register(pro_page, company=company, siret=siret, screenshot="inscription")
    sign_in(pro_page, pro.email, pro.password)
    check_a11y(pro_page, "accueil SOPRANO (AS)")
    assert "SOPRANO AS (accès simplifié)" in pro_page.locator("main").inner_text()
    assert pro_page.get_by_text("Nécessite le statut OPPD").count() >= 1
    shot(pro_page, "soprano_as")
    pro_page.get_by_role("link", name="Demander une habilitation au PAE").click()
    pro_page.wait_for_url(re.compile(r"/soprano/habilitation$"))
    check_a11y(pro_page, "demande d'habilitation")
    assert pro_page.get_by_label("Raison sociale").input_value() == company  # from the account
    assert pro_page.get_by_label("Numéro SIRET").input_value() == siret
    pro_page.get_by_label("Pôle d'action économique (PAE)").select_option(PAE)
    pro_page.locator("label[for='f-teleservices']").click()
    requested = pro_page.locator("label[for='f-teleservices']").inner_text().strip()
    pro_page.get_by_label("Motif de la demande").fill("Importations de carabines de chasse pour revente en magasin.")
    shot(pro_page, "habilitation")
    pro_page.get_by_role("button", name="Envoyer la demande").click()
    pro_page.wait_for_url(re.compile(r"/soprano$"))
    pro_page.get_by_text("Votre demande d'habilitation a été transmise au PAE").wait_for()
    check_a11y(pro_page, "accueil SOPRANO (demande envoyée)")
    row = pro_page.locator("table", has_text="Mes demandes d'habilitation").locator("tbody tr").first
    assert company in row.inner_text() and "En attente" in row.inner_text()

    # A PAE agent of that PAE grants it in the officer portal (TOTP sign-in).
    agent_page = new_page(browser, agent_url)
    pae_grants(agent_page, pae_agent, company)
    agent_page.context.close()

    # The gunsmith signs in again: OPPD status, the request granted, the teleservice open.
    pro_page.context.close()
    pro_page = new_page(browser, portal_url)
    sign_in(pro_page, pro.email, pro.password, a11y=False)
    check_a11y(pro_page, "accueil SOPRANO (OPPD)")
    main = pro_page.locator("main").inner_text()
    assert "Opérateur ProDou@ne (OPPD)" in main and company in main
    row = pro_page.locator("table", has_text="Mes demandes d'habilitation").locator("tbody tr").first
    assert "Accordée" in row.inner_text()
    card = pro_page.locator(".fr-card", has=pro_page.get_by_role("heading", name=requested))
    assert card.get_by_text("Accessible").count() == 1
    shot(pro_page, "soprano_oppd")

    # They invite a colleague (identity's route through the public edge, with their own token).
    colleague_email = f"collegue-{secrets.token_hex(4)}@exemple.fr"
    api = ApiApplicant(portal_url, pro.email, pro.password)
    operator = api.call("GET", "/api/v1/identity/operators/me")
    assert operator["name"] == company and operator["my_role"] == "administrator"
    api.call("POST", "/api/v1/identity/operators/me/invitations", expect=202, json={"email": colleague_email})

    # The colleague registers (same company), verifies, signs in and accepts the invitation.
    col_page = new_page(browser, portal_url)
    colleague = register(col_page, company=company, siret=siret, first_name="Marc", email=colleague_email)
    sign_in(col_page, colleague.email, colleague.password, a11y=False)
    check_a11y(col_page, "accueil SOPRANO (invitation)")
    banner = col_page.locator("#invitations-en-attente")
    assert company in banner.inner_text()
    shot(col_page, "soprano_invitation")
    banner.get_by_role("link", name="Voir mes invitations").click()
    col_page.wait_for_url(re.compile(r"/soprano/invitations$"))
    check_a11y(col_page, "mes invitations")
    invitation = col_page.locator("#invitations tbody tr", has_text=company)
    assert siret in invitation.inner_text()
    shot(col_page, "invitations")
    invitation.get_by_role("button", name=re.compile("Accepter et rejoindre")).click()
    col_page.wait_for_url(re.compile(r"/soprano$"))
    col_page.get_by_text(f"Vous avez rejoint l'entreprise {company}").wait_for()
    assert "Opérateur ProDou@ne (OPPD)" in col_page.locator("main").inner_text()
    check_a11y(col_page, "accueil SOPRANO (entreprise rejointe)")
    members = api.call("GET", "/api/v1/identity/operators/me")["members"]
    assert sorted(m["email"] for m in members) == sorted([pro.email, colleague_email])

    # The gunsmith files and transmits a dossier in the portal.
    pro_page.get_by_role("link", name="e-APS", exact=True).click()
    pro_page.wait_for_url(re.compile(r"/eaps$"))
    check_a11y(pro_page, "accueil e-APS")
    number = file_and_transmit(pro_page, company, siret, "AGR-69-2026-" + siret[-4:])
    assert re.fullmatch(r"EAPS-\d{4}-\d{6}", number)
    shot(pro_page, "transmis")
    pro_page.context.close()

    # The colleague sees the company's dossier in « En attente » and opens it.
    col_page.get_by_role("link", name="e-APS", exact=True).click()
    col_page.wait_for_url(re.compile(r"/eaps$"))
    check_a11y(col_page, "accueil e-APS (collègue, première visite)")
    col_page.goto("/eaps")  # from the second visit, the tables
    check_a11y(col_page, "accueil e-APS (collègue, tables)")
    waiting = col_page.locator("#dossiers-en-attente")
    assert waiting.get_by_role("link", name=number).is_visible()
    shot(col_page, "collegue_en_attente")
    waiting.get_by_role("link", name=number).click()
    col_page.wait_for_url(re.compile(r"/eaps/dossiers/[0-9a-f-]+$"))
    check_a11y(col_page, "page du dossier (collègue)")
    assert number in col_page.locator("main").inner_text()
    assert col_page.locator("#statut").text_content().strip() in ("Transmis", "En étude")
    assert "Fusil de chasse superposé" in col_page.locator("main").inner_text()
    shot(col_page, "collegue_dossier")
    col_page.context.close()
