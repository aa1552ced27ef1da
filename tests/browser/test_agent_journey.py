"""The officer portal in headless Chromium against the real stack: an officer signs in with
TOTP, returns a transmitted dossier for completion, the applicant completes and resubmits
(through the public API), the officer finds it admissible and proposes a grant, a supervisor
signs, the applicant sees the authorisation and downloads its PDF. Four eyes, session expiry
and the PAE agent's habilitation decision too. Every page passes axe-core (no serious or
critical violation); the main screens are saved under docs/screenshots/agent_*.png."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: the helpers beside this file
from agent_helpers import (  # noqa: E402
    HUNTER,
    ROOT,
    Applicant,
    Staff,
    check_page,
    create_staff,
    register_professional,
    wait_for,
)

pytestmark = pytest.mark.browser

PUBLIC = "http://127.0.0.1:8000"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


SESSION_PREFIX = f"t{secrets.token_hex(4)}:portal:"  # this run's portal sessions in Redis


@pytest.fixture(scope="session")
def agent_url(stack: Any) -> Iterator[str]:
    """The current code's internal edge (with the portal at /agent) on a free loopback port, in
    front of the stack's services: the test never depends on the revision a running stack has."""
    from eaps_kit.testing import free_port

    port, tag = free_port(), secrets.token_hex(4)
    env = {**os.environ, "GATEWAY_INTERNAL_PORT": str(port), "GATEWAY_ENVIRONMENT": "dev",
           "GATEWAY_LOG_JSON": "false", "GATEWAY_RATE_LIMIT_PREFIX": f"t{tag}:rl:",
           "GATEWAY_PORTAL_SESSION_PREFIX": SESSION_PREFIX, "PYTHONUNBUFFERED": "1"}
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"browser-agent-{tag}.log", "wb")
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


@pytest.fixture(scope="session")
def staff(stack: Any) -> dict[str, Staff]:
    made = create_staff([{"first_name": "Marc", "last_name": "Instructeur", "roles": ["officer"]},
                         {"first_name": "Isabelle", "last_name": "Signataire", "roles": ["supervisor"]},
                         {"first_name": "Paul", "last_name": "Signataire", "roles": ["supervisor"]},
                         {"first_name": "Sophie", "last_name": "Pae", "roles": ["pae_agent"], "pae": "PAE-IDF-PARIS"}])
    return dict(zip(("officer", "supervisor", "supervisor2", "pae"), made, strict=True))


@pytest.fixture(scope="session")
def hunter(stack: Any) -> Applicant:
    """The demo hunter (identity's seed), signed in once for the whole session."""
    return Applicant(PUBLIC, *HUNTER)


@pytest.fixture(scope="session")
def chromium(browser: Any) -> Any:
    """The session's one Chromium (conftest): Playwright's sync API allows one instance per thread."""
    return browser


def new_page(chromium: Any, agent_url: str) -> Any:
    # bypass_csp only lets the test inject axe-core; the pages keep their own policy.
    context = chromium.new_context(base_url=agent_url, locale="fr-FR", accept_downloads=True, bypass_csp=True,
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context.new_page()


@pytest.fixture
def page(chromium: Any, agent_url: str) -> Iterator[Any]:
    p = new_page(chromium, agent_url)
    yield p
    p.context.close()


def sign_in(page: Any, who: Staff, *, screenshot: str | None = None) -> None:
    page.goto("/agent/connexion")
    check_page(page, screenshot)
    page.get_by_label("Adresse électronique professionnelle").fill(who.email)
    page.get_by_label("Mot de passe").fill(who.password)
    page.get_by_label("Code de vérification").fill(who.code())
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/agent/(files|habilitations)"))


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/agent/connexion"))


def open_case(page: Any, number: str) -> None:
    """From the queues: filter by registration number until the case has been opened (the
    instruction service opens it when it receives the dossier's event)."""
    def listed() -> bool:
        page.goto(f"/agent/files?statut=tous&numero={number}")
        return page.locator("#file-dossiers").get_by_role("link", name=number).count() == 1
    wait_for(listed, timeout=60, interval=1.0)
    page.locator("#file-dossiers").get_by_role("link", name=number).click()
    page.get_by_role("heading", level=1, name=f"Dossier {number}").wait_for()


def choose(page: Any, input_id: str) -> None:
    """Ticks a DSFR radio or checkbox the way a person does: on its label (drawn over the input)."""
    page.locator(f"label[for='{input_id}']").click()
    assert page.locator(f"#{input_id}").is_checked()


def alert_text(page: Any) -> str:
    return " ".join(page.locator(".fr-alert").all_inner_texts())


def transmitted_dossier(applicant: Applicant) -> dict[str, Any]:
    out = applicant.transmit(applicant.hunting_rifle_import())
    return {"id": out["dossier"]["id"], "number": out["registration_number"]}


def test_officer_instructs_a_dossier_from_completion_to_signed_authorisation(
        chromium: Any, agent_url: str, staff: dict[str, Staff], hunter: Applicant) -> None:
    dossier = transmitted_dossier(hunter)
    number = dossier["number"]

    page = new_page(chromium, agent_url)
    # A wrong code is refused with identity's French message, nothing else is said.
    page.goto("/agent/connexion")
    page.get_by_label("Adresse électronique professionnelle").fill(staff["officer"].email)
    page.get_by_label("Mot de passe").fill(staff["officer"].password)
    page.get_by_label("Code de vérification").fill("12345")
    page.get_by_role("button", name="Se connecter").click()
    assert "6 chiffres" in alert_text(page)
    assert page.locator("#f-otp").get_attribute("aria-invalid") == "true"
    check_page(page)

    sign_in(page, staff["officer"], screenshot="connexion")
    open_case(page, number)
    page.goto(f"/agent/files?numero={number}")
    check_page(page, "files")
    assert page.locator("#file-dossiers tbody tr").count() == 1
    row = page.locator("#file-dossiers tbody tr").first
    assert "En étude" in row.text_content() and "Jean Dupont" in row.text_content()

    row.get_by_role("button", name="Prendre en charge").click()
    page.get_by_text("Vous avez pris ce dossier en charge.").wait_for()
    case_url = page.url
    assert "/agent/dossiers/" in case_url
    check_page(page, "dossier")
    assert "Carabine de chasse" in page.locator("#lignes").text_content()
    assert page.get_by_role("link", name="PC.pdf").count() == 1

    # A pinned justificatif downloads as the applicant sent it.
    with page.expect_download() as dl:
        page.get_by_role("link", name="PC.pdf").click()
    assert open(dl.value.path(), "rb").read().startswith(b"%PDF")

    # Completion request: an empty form is refused field by field, then sent.
    page.get_by_role("link", name="Demander un complément au demandeur").click()
    page.get_by_role("button", name="Envoyer la demande de complément").click()
    summary = page.locator("#resume-erreurs")
    assert "Indiquez au moins un élément manquant." in summary.text_content()
    assert "Ce champ est obligatoire." in summary.text_content()
    check_page(page)
    page.get_by_text("PC.pdf (PC)", exact=True).click()  # DSFR draws the box over the input
    page.get_by_label("Message au demandeur").fill("Votre permis de chasser n'est pas validé pour cette saison.")
    check_page(page, "complement")
    page.get_by_role("button", name="Envoyer la demande de complément").click()
    page.get_by_text("La demande de complément a été envoyée").wait_for()
    assert "Incomplet" in page.locator("h1 + div").text_content()

    # The applicant completes and resubmits through the public API.
    d = wait_for(lambda: (x := hunter.dossier(dossier["id"]))["status"]["code"] == "a_completer" and x)
    d = hunter.attach_all(d, replace={"PC"})
    assert hunter.transmit(d)["resubmission"] is True

    def resubmitted() -> bool:
        page.goto(case_url)
        return page.locator("#modifications").count() == 1
    wait_for(resubmitted, timeout=60, interval=1.0)
    assert "En étude" in page.locator("h1 + div").text_content()
    assert "attachments" in page.locator("#modifications").text_content()
    check_page(page, "modifications")

    choose(page, "f-decision")  # « Recevable »
    page.get_by_role("button", name="Enregistrer la recevabilité").click()
    page.get_by_text("Le dossier est déclaré recevable").wait_for()
    page.get_by_label("Ajouter une note interne").fill("Permis vérifié auprès de la fédération.")
    page.get_by_role("button", name="Ajouter la note").click()
    page.get_by_text("La note interne a été ajoutée.").wait_for()
    page.get_by_label("Écrire au demandeur").fill("Votre dossier est en cours d'instruction.")
    page.get_by_role("button", name="Envoyer le message").click()
    page.get_by_text("Votre message a été envoyé au demandeur.").wait_for()
    assert "Votre dossier est en cours d'instruction." in page.locator("#echanges").text_content()

    # The decision proposal: a validity beyond the bounds is refused by the API, next to the field.
    page.get_by_role("link", name="Proposer une décision").click()
    check_page(page, "proposition")
    page.get_by_label("Fin de validité").fill("2099-12-31")
    page.get_by_role("button", name="Transmettre à la signature").click()
    assert page.locator("#resume-erreurs").count() == 1
    check_page(page)
    page.get_by_label("Fin de validité").fill("")
    page.get_by_role("button", name="Transmettre à la signature").click()
    assert page.locator("#f-valid-until-msg").text_content() == "Ce champ est obligatoire."
    page.goto(f"{case_url}/proposition")
    page.get_by_label("Conditions").fill("Présentation de l'autorisation au bureau de douane d'entrée.")
    page.get_by_role("button", name="Transmettre à la signature").click()
    page.get_by_text("La proposition de décision est transmise").wait_for()
    assert "En décision" in page.locator("h1 + div").text_content()
    sign_out(page)

    # A supervisor signs it.
    sign_in(page, staff["supervisor"])
    page.get_by_role("link", name="Décisions à signer").click()
    check_page(page, "signatures")
    page.locator("#a-signer").get_by_role("link", name=number).click()
    page.get_by_role("button", name="Signer la décision").click()
    page.get_by_text(re.compile(r"l'autorisation n° AP-INT-\d{4}-\d{6} est délivrée")).wait_for()
    auth_number = re.search(r"AP-INT-\d{4}-\d{6}", alert_text(page)).group(0)  # type: ignore[union-attr]
    assert auth_number in page.locator("h1").text_content()
    assert "Valide" in page.locator(".fr-badge").first.text_content() or \
        "Non encore valide" in page.locator(".fr-badge").first.text_content()
    assert "2" in page.locator("#lignes-autorisation tbody tr").first.text_content()
    check_page(page, "autorisation")
    # Suspension and its lifting (supervisor), each with a reason.
    page.get_by_label("Motif de la suspension").fill("Enquête en cours sur l'expéditeur.")
    page.get_by_role("button", name="Suspendre").click()
    page.get_by_text("L'autorisation est suspendue").wait_for()
    assert page.locator(".fr-badge").first.text_content() == "Suspendue"
    page.get_by_label("Motif de la levée").fill("Enquête close sans suite.")
    page.get_by_role("button", name="Lever la suspension").click()
    page.get_by_text("La suspension de l'autorisation est levée.").wait_for()
    assert page.locator(".fr-badge").first.text_content() != "Suspendue"
    page.context.close()

    # The applicant sees the authorisation and downloads its PDF.
    def listed() -> dict[str, Any] | None:
        items = hunter.call("GET", "/api/v1/authorisations")["items"]
        return next((a for a in items if a["number"] == auth_number), None)
    auth = wait_for(listed)
    detail = wait_for(lambda: (x := hunter.call("GET", f"/api/v1/authorisations/{auth['id']}")).get("pdf") and x)
    pdf = hunter.client.get(detail["pdf"]["href"], headers=hunter.h())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_four_eyes_a_supervisor_cannot_sign_what_they_proposed(
        chromium: Any, agent_url: str, staff: dict[str, Staff], hunter: Applicant) -> None:
    number = transmitted_dossier(hunter)["number"]
    page = new_page(chromium, agent_url)
    sign_in(page, staff["supervisor2"])
    open_case(page, number)
    page.get_by_role("button", name="Prendre en charge").click()
    choose(page, "f-decision")  # « Recevable »
    page.get_by_role("button", name="Enregistrer la recevabilité").click()
    page.get_by_role("link", name="Proposer une décision").click()
    choose(page, "f-outcome-2")  # « Refuser l'autorisation »
    page.get_by_role("button", name="Transmettre à la signature").click()
    assert page.locator("#f-reasons-msg").text_content() == "Ce champ est obligatoire."
    choose(page, "f-outcome-2")  # « Refuser l'autorisation »
    page.get_by_label("Motifs du refus").fill("Le demandeur ne justifie pas de l'usage déclaré.")
    page.get_by_role("button", name="Transmettre à la signature").click()
    page.get_by_text("La proposition de décision est transmise").wait_for()
    page.get_by_role("button", name="Signer la décision").click()
    page.get_by_text("principe des quatre yeux").wait_for()
    assert "Signature refusée" in alert_text(page)
    check_page(page, "quatre_yeux")
    # The other supervisor sends it back with a comment.
    sign_out(page)
    sign_in(page, staff["supervisor"])
    open_case(page, number)
    page.get_by_label("Motif du renvoi à l'agent instructeur").fill("Motivez le refus par la base légale.")
    page.get_by_role("button", name="Renvoyer la proposition").click()
    page.get_by_text("La proposition est renvoyée à l'agent instructeur.").wait_for()
    assert "En instruction" in page.locator("h1 + div").text_content()
    assert "Motivez le refus par la base légale." in page.locator("#decision").text_content()
    page.context.close()


def test_pages_need_a_session_and_the_right_role(chromium: Any, agent_url: str, staff: dict[str, Staff]) -> None:
    page = new_page(chromium, agent_url)
    # Without a session: the sign-in page, which then returns to the page asked for.
    page.goto("/agent/autorisations?statut=valide")
    page.wait_for_url(re.compile(r"/agent/connexion\?retour="))
    page.get_by_label("Adresse électronique professionnelle").fill(staff["officer"].email)
    page.get_by_label("Mot de passe").fill(staff["officer"].password)
    page.get_by_label("Code de vérification").fill(staff["officer"].code())
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/agent/autorisations\?statut=valide$"))
    check_page(page, "autorisations")
    # An officer is not a PAE agent: the French 403 page, no trace.
    resp = page.goto("/agent/habilitations")
    assert resp is not None and resp.status == 403
    assert page.locator("h1").text_content() == "Accès refusé"
    check_page(page)
    resp = page.goto("/agent/dossiers/00000000-0000-4000-8000-000000000000")
    assert resp is not None and resp.status == 404
    assert page.locator("h1").text_content() == "Page non trouvée"
    check_page(page, "404")
    resp = page.goto("/agent/dossiers/pas-un-identifiant")
    assert resp is not None and resp.status == 404
    # The session expires on the server (idle lifetime): the next page asks to sign in again, saying why.
    sid = next(c["value"] for c in page.context.cookies() if c["name"] == "eaps_agent")
    with redis.Redis.from_url("redis://127.0.0.1:6379/0") as r:
        assert r.delete(f"{SESSION_PREFIX}agent:{sid}") == 1
    page.goto("/agent/files")
    page.wait_for_url(re.compile(r"/agent/connexion\?retour=%2Fagent%2Ffiles"))
    assert "Votre session a expiré" in alert_text(page)
    check_page(page)
    page.context.close()


def test_pae_agent_grants_oppd_status(chromium: Any, agent_url: str, staff: dict[str, Staff]) -> None:
    # A gunsmith registers and asks the Paris PAE for OPPD status (public API).
    email_, password, siret = register_professional(PUBLIC)
    pro = Applicant(PUBLIC, email_, password)
    assert pro.call("GET", "/api/v1/identity/me")["access_level"] == "AS"
    company = f"Armurerie Garnier {siret[-4:]}"
    req = pro.call("POST", "/api/v1/identity/habilitation-requests", expect=201, json={
        "pae_code": "PAE-IDF-PARIS", "company_name": company, "siret": siret, "teleservices": ["SOPRANO-RP"],
        "justification": "Importations de carabines de chasse pour revente en magasin."})

    page = new_page(chromium, agent_url)
    sign_in(page, staff["pae"])
    assert page.url.endswith("/agent/habilitations")
    check_page(page, "habilitations")
    page.locator("#habilitations").get_by_role("link", name=company).click()
    check_page(page, "habilitation")
    choose(page, "f-decision-2")  # « Refuser la demande »
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert page.locator("#f-reason-msg").text_content() == "Ce champ est obligatoire."
    check_page(page)
    choose(page, "f-decision")  # « Accorder le statut OPPD… »
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.get_by_text("Le statut OPPD et les habilitations demandées sont accordés.").wait_for()
    assert "Accordée" in page.locator(".fr-badge").first.text_content()
    # What the professional observes: the request granted, OPPD status at the next sign-in.
    assert pro.call("GET", f"/api/v1/identity/habilitation-requests/{req['id']}")["status"] == "granted"
    again = Applicant(PUBLIC, email_, password)
    assert again.call("GET", "/api/v1/identity/me")["access_level"] == "OPPD"
    # The PAE agent has no instruction queues: the French 403 page.
    resp = page.goto("/agent/files")
    assert resp is not None and resp.status == 403
    assert page.locator("h1").text_content() == "Accès refusé"
    page.context.close()
