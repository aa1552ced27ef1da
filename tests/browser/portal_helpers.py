"""Shared helpers of the browser tests (``from portal_helpers import ...``: conftest.py puts
this folder on sys.path). Browser tests drive Debian's Chromium with Playwright against the stack.

The session fixture ``stack`` (tests/conftest.py) starts `make run`'s stack or reuses a running
one. ``portal_url`` serves the current code's public edge (applicant portal) on a free loopback
port in front of that stack's services, so the tests never depend on which revision an already
running stack was started from. Shared helpers for the applicant side (used by the officer
portal's tests too): register and verify an applicant through the sinks, sign in, file and
transmit a dossier, check accessibility with axe-core."""

from __future__ import annotations

import email
import re
import secrets
import time
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "deploy" / "local" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
SMS_SINK = "http://127.0.0.1:1026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    from eaps_kit.testing import free_port as kit_free_port

    return kit_free_port()


def pdf_bytes(text: str) -> bytes:
    """A small, valid PDF (the documents service checks the type by content)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- accessibility and screenshots --------------------------------------------------------------

def check_a11y(page: Any, label: str = "") -> None:
    """axe-core on the current page: no serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    details = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]
    assert not bad, f"accessibility violations on {label or page.url}: {details}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"applicant_{name}.png"), full_page=True)


def visit(page: Any, path: str, label: str = "") -> None:
    page.goto(path)
    check_a11y(page, label or path)


# --- sinks -----------------------------------------------------------------------------------

def latest_sms_code(phone_e164: str, after: float = 0.0, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msgs = httpx.get(f"{SMS_SINK}/messages", params={"to": phone_e164}, timeout=5).json()
        for m in reversed(msgs):
            found = re.search(r"\b(\d{6})\b", m["text"])
            if found:
                return found.group(1)
        time.sleep(0.3)
    raise AssertionError(f"no SMS for {phone_e164}")


def email_link(to: str, path: str, timeout: float = 30.0) -> str:
    """The newest link to ``path`` in an email sent to ``to`` (SMTP sink's .eml files)."""
    deadline = time.monotonic() + timeout
    mail_dir = ROOT / "var" / "mail"
    while time.monotonic() < deadline:
        for eml in sorted(mail_dir.glob("*.eml"), reverse=True)[:200]:
            msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
            if to.lower() not in str(msg.get("To", "")).lower():
                continue
            body = "".join(part.get_content() for part in msg.walk()
                           if part.get_content_type() in ("text/plain", "text/html"))
            found = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-]+)", body)
            if found:
                return f"{path}?token={found.group(1)}"
        time.sleep(0.3)
    raise AssertionError(f"no email to {to} with a link to {path}")


# --- applicant helpers -------------------------------------------------------------------------

@dataclass
class Applicant:
    email: str
    password: str
    phone: str  # as stored (E.164)
    first_name: str
    last_name: str


def new_applicant() -> Applicant:
    tag = secrets.token_hex(4)
    return Applicant(email=f"chasseur-{tag}@exemple.fr", password=f"Chasse-Gibier-{tag}-2026!",
                     phone=unique_mobile(), first_name="Jeanne", last_name=f"Martin-{tag}")


def unique_mobile() -> str:
    """A random French mobile number in a range the numbering plan allocates (+33 6 1x …): a fully
    random +33 6 number is unallocated, hence refused by the registration, about once in twelve."""
    return f"+3361{secrets.randbelow(10**7):07d}"


def register_applicant(page: Any, a: Applicant | None = None, *, a11y: bool = True,
                       screenshots: bool = False) -> Applicant:
    """Registers a private person (hunter) through the portal and verifies the email link and
    the SMS code read from the sinks. Leaves the page on the sign-in page."""
    a = a or new_applicant()
    page.goto("/inscription")
    if a11y:
        check_a11y(page, "inscription")
    with page.expect_navigation():
        page.get_by_label("Particulier").click(force=True)
    page.get_by_label("Votre profil").select_option(label="Chasseur")
    page.locator("#f-last-name").fill(a.last_name)
    page.get_by_label("Prénom").fill(a.first_name)
    page.get_by_label("Adresse électronique").fill(a.email)
    page.get_by_label("Téléphone portable").fill("06" + a.phone[4:])
    page.locator("#f-password").fill(a.password)
    page.get_by_label("Confirmation du mot de passe").fill(a.password)
    if a11y:
        check_a11y(page, "inscription (formulaire)")
    if screenshots:
        shot(page, "inscription")
    page.get_by_role("button", name="Valider mon inscription").click()
    page.wait_for_url(re.compile(r"/inscription/verification"))
    if a11y:
        check_a11y(page, "vérification SMS")
    link = email_link(a.email, "/inscription/verifier-email")
    verification = page.url
    page.goto(link)
    if a11y:
        check_a11y(page, "lien courriel")
    page.get_by_role("button", name="Confirmer mon adresse électronique").click()
    page.get_by_text("Votre adresse électronique est confirmée").wait_for()
    page.goto(verification)
    page.get_by_label("Code reçu par SMS").fill(latest_sms_code(a.phone))
    page.get_by_role("button", name="Confirmer mon téléphone").click()
    page.wait_for_url(re.compile(r"/connexion\?compte=active"))
    return a


def sign_in(page: Any, email_: str, password: str, *, a11y: bool = True) -> None:
    page.goto("/connexion")
    if a11y:
        check_a11y(page, "connexion")
    page.get_by_label("Identifiant (adresse électronique)").fill(email_)
    page.locator("#f-password").fill(password)
    page.get_by_role("button", name="Entrer").click()
    page.wait_for_url(re.compile(r"/soprano$"))


def upload_justificatif(page: Any, code: str, filename: str, text: str) -> None:
    card = page.locator(f"#justificatif-{code}")
    card.locator("input[type=file]").set_input_files({"name": filename, "mimeType": "application/pdf",
                                                      "buffer": pdf_bytes(text)})
    card.get_by_role("button", name=re.compile("Envoyer le fichier")).click()
    page.wait_for_url(re.compile(r"/etape-2"))
    page.locator(f"#justificatif-{code} [data-state=disponible]").wait_for(timeout=60_000)


def file_hunting_rifle_dossier(page: Any, a: Applicant, *, a11y: bool = True, screenshots: bool = False,
                               transmit: bool = True) -> dict[str, str]:
    """From the e-APS home: a hunting rifle introduced from Belgium, classified by the unknown
    path, with every justificatif uploaded; transmitted unless ``transmit`` is False. Returns
    {"id", "number" (when transmitted), "authorisation_message"}."""
    page.goto("/eaps/nouveau")
    page.get_by_role("button", name="Commencer ma demande").click()
    page.wait_for_url(re.compile(r"/eaps/dossiers/[0-9a-f-]+/etape-1"))
    dossier_id = page.url.split("/eaps/dossiers/")[1].split("/")[0]
    if a11y:
        check_a11y(page, "étape 1")
    with page.expect_navigation():
        page.get_by_label("Votre profil").select_option(label="Chasseur")
    page.get_by_label("Numéro du permis de chasser").fill("PC-75-123456")
    page.get_by_label("Introduction depuis un État membre de l'UE").click(force=True)
    page.get_by_label("Pays de provenance").select_option("BE")
    page.get_by_label("Pays de destination").select_option("FR")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer ces informations").click()
    # The classification aid, unknown path: NON, category C, then the « Descriptif » fields.
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
    if a11y:
        check_a11y(page, "étape 1 — classement")
    with page.expect_navigation():
        page.get_by_label("Fusil de chasse superposé").click(force=True)
    page.get_by_label("Marque").fill("Browning")
    page.get_by_label("Calibre").fill("12")
    page.get_by_label("Quantité").fill("1")
    if screenshots:
        shot(page, "etape1_classement")
    page.get_by_role("button", name="J'ajoute ce matériel à ma demande").click()
    message = page.locator(".fr-alert--success").first.inner_text()
    if screenshots:
        shot(page, "etape1_materiel_ajoute")
    page.get_by_role("button", name="Étape suivante").click()
    page.wait_for_url(re.compile(r"/etape-2"))
    if a11y:
        check_a11y(page, "étape 2")
    page.locator("#f-applicant-address-line1").fill("3 rue des Bois")
    page.locator("#f-applicant-address-postal-code").fill("45000")
    page.locator("#f-applicant-address-city").fill("Orléans")
    page.locator("#f-applicant-address-country").select_option("FR")
    page.locator("#f-sender-name").fill("Armurerie Liégeoise")
    page.locator("#f-sender-address-line1").fill("12 quai de la Meuse")
    page.locator("#f-sender-address-city").fill("Liège")
    page.locator("#f-sender-address-country").select_option("BE")
    page.locator("#f-recipient-name").fill(f"{a.first_name} {a.last_name}")
    page.locator("#f-recipient-address-line1").fill("3 rue des Bois")
    page.locator("#f-recipient-address-city").fill("Orléans")
    page.locator("#f-recipient-address-country").select_option("FR")
    page.get_by_label("Motif de l'opération").select_option("achat")
    page.get_by_role("button", name="Sauvegarder ma saisie").click()
    page.get_by_text("Votre saisie a été sauvegardée").wait_for()
    for code, name, text in (("PC", "permis-de-chasser.pdf", "Permis de chasser"),
                             ("ID", "piece-identite.pdf", "Carte nationale d'identite"),
                             ("DOM", "justificatif-domicile.pdf", "Justificatif de domicile")):
        if page.locator(f"#justificatif-{code}").count():
            upload_justificatif(page, code, name, text)
    if screenshots:
        shot(page, "etape2_justificatifs")
    out = {"id": dossier_id, "authorisation_message": message}
    if not transmit:
        return out
    page.get_by_role("button", name="Étape suivante").click()
    page.wait_for_url(re.compile(r"/etape-3"))
    page.get_by_role("button", name="Transmettre mon dossier").click()
    page.wait_for_url(re.compile(r"/etape-4"))
    out["number"] = page.locator("#numero-enregistrement").inner_text()
    return out
