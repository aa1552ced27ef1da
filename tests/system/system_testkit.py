"""Helpers of the system tests: what a user, an officer or another administration does through
the two edges, and what they receive (SMTP sink files, SMS sink). Only the edges are called;
the services' own ports are never used here."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pyotp
from eaps_kit.testing import eventually
from reportlab.pdfgen import canvas

ROOT = Path(__file__).resolve().parents[2]
SMS_SINK = "http://127.0.0.1:1026"
MAIL_DIR = ROOT / "var" / "mail"
# As in tests/conftest.py (the stack fixture); read here because test modules cannot import a conftest.
SERVICES = {"identity": 8101, "classification": 8102, "dossier": 8103, "documents": 8104,
            "instruction": 8105, "notifications": 8106}
READY_BOUND_SECONDS = 60

# Demo accounts seeded by identity.seed (printed by `make run`).
HUNTER = ("chasseur@demo-eaps.fr", "Bois-Gibier-2024!")
OFFICER = ("instructeur@demo-eaps.fr", "Douane-Instruction-2024!")
SUPERVISOR = ("superviseur@demo-eaps.fr", "Douane-Signature-2024!")
CLIENT_ID = "demo-prefecture"
CLIENT_SECRET = "demo-secret-prefecture-ne-pas-utiliser-en-production"


def unique() -> str:
    return uuid.uuid4().hex[:10]


def unique_phone() -> str:
    return "+33612" + "".join(random.choice("0123456789") for _ in range(6))


def bearer(token: str, version: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return headers


def pdf_bytes(*lines: str) -> bytes:
    """A real small PDF (reportlab), as an applicant would scan one."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i, text in enumerate(lines):
        c.drawString(72, 720 - 18 * i, text)
    c.save()
    return buf.getvalue()


def assert_problem(r: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    """A French application/problem+json answer with this status (and these words in its detail)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body.get("detail"), body
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body["detail"])
    return body


async def send_with_backoff(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """The sign-in routes share a strict per-address bucket (10 a minute) on each edge; when the
    edge answers 429, wait what its Retry-After says, as a client should, then try again."""
    for _ in range(3):
        r = await client.request(method, url, **kw)
        if r.status_code != 429:
            return r
        await asyncio.sleep(int(r.headers.get("Retry-After", "5")) + 0.5)
    return r


# --- what the sinks received ---------------------------------------------------------------


def mails_to(address: str) -> list[EmailMessage]:
    """Messages the SMTP sink wrote under var/mail/ for this recipient, oldest first."""
    found: list[tuple[str, EmailMessage]] = []
    if not MAIL_DIR.exists():
        return []
    for path in MAIL_DIR.glob("*.eml"):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        head = raw[:4000].decode("utf-8", "replace")
        if address.lower() not in head.lower():
            continue
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if address.lower() in str(msg.get("To", "")).lower():
            found.append((path.name, msg))
    return [m for _, m in sorted(found, key=lambda x: x[0])]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


async def wait_mail(address: str, *needles: str, bound: float = 30) -> EmailMessage:
    """The first mail to this address whose subject or text contains every needle."""
    def check() -> EmailMessage | None:
        for msg in mails_to(address):
            hay = f"{msg['Subject']}\n{text_of(msg)}"
            if all(n in hay for n in needles):
                return msg
        return None
    return await eventually(check, timeout=bound, interval=0.3)


async def wait_sms(phone: str, bound: float = 30) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=SMS_SINK, timeout=5) as sms:
        async def check() -> dict[str, Any] | None:
            r = await sms.get("/messages", params={"to": phone})
            items = r.json() if r.status_code == 200 else []
            return items[-1] if items else None
        return await eventually(check, timeout=bound, interval=0.3)


# --- accounts -------------------------------------------------------------------------------


@dataclass
class Applicant:
    email: str
    password: str
    phone: str
    first_name: str
    last_name: str
    token: str = ""
    account_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def sign_in_applicant(public: httpx.AsyncClient, email_: str, password: str) -> str:
    r = await send_with_backoff(public, "POST", "/api/v1/identity/sessions",
                                json={"email": email_, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def register_hunter(public: httpx.AsyncClient) -> Applicant:
    """A private person (hunter) registers, confirms the SMS code and the email link, signs in."""
    a = Applicant(f"chasseur-{unique()}@example.fr", f"Foret-{unique()}-Gibier!", unique_phone(), "Paul",
                  f"Durand-{unique()[:6]}")
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations", json={
        "kind": "individual", "profile": "hunter", "email": a.email, "password": a.password, "phone": a.phone,
        "first_name": a.first_name, "last_name": a.last_name})
    assert r.status_code == 202, r.text
    verification_id = r.json()["verification_id"]
    sms = await wait_sms(a.phone)
    code = re.search(r"\b(\d{6})\b", sms["text"])
    assert code, sms
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations/phone-verification",
                                json={"verification_id": verification_id, "code": code.group(1)})
    assert r.status_code == 200, r.text
    mail = await wait_mail(a.email, "confirmer votre adresse")
    link = re.search(r"https?://\S+?\?token=([A-Za-z0-9_\-]+)", text_of(mail))
    assert link, text_of(mail)
    r = await send_with_backoff(public, "POST", "/api/v1/identity/registrations/email-verification",
                                json={"token": link.group(1)})
    assert r.status_code == 200, r.text
    a.token = await sign_in_applicant(public, a.email, a.password)
    me = await public.get("/api/v1/identity/me", headers=bearer(a.token))
    assert me.status_code == 200, me.text
    a.account_id = me.json()["id"]
    return a


def seeded_totp_secrets() -> dict[str, str]:
    """The demo staff's TOTP secrets, as `make run` prints them (identity.seed is idempotent and
    prints the existing secrets again)."""
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    try:
        from run import stack_env  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    out = subprocess.run([sys.executable, "-m", "identity.seed"], cwd=ROOT, env={**os.environ, **stack_env()},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    secrets: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"\s+(\S+@demo-eaps\.fr)\s", line)
        if m:
            current = m.group(1)
        t = re.search(r"TOTP ([A-Z2-7]+)", line)
        if t and current:
            secrets[current] = t.group(1)
    return secrets


async def sign_in_staff(internal: httpx.AsyncClient, email_: str, password: str, secret: str) -> dict[str, Any]:
    """Password + TOTP on the internal edge; returns the token pair."""
    body = {"email": email_, "password": password, "otp": pyotp.TOTP(secret).now()}
    r = await send_with_backoff(internal, "POST", "/api/v1/identity/officers/sessions", json=body)
    if r.status_code == 401:  # this 30 s window's code was already used (an earlier run): take the next one
        await asyncio.sleep(30 - time.time() % 30 + 1)
        body["otp"] = pyotp.TOTP(secret).now()
        r = await send_with_backoff(internal, "POST", "/api/v1/identity/officers/sessions", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def machine_token(internal: httpx.AsyncClient) -> str:
    r = await send_with_backoff(internal, "POST", "/api/v1/identity/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


# --- the applicant's request ----------------------------------------------------------------

RIFLE = {"classification_code": "C-1-c", "designation": "Carabine de chasse", "brand": "Verney-Carron",
         "model": "Impact NT", "calibre": "308 Win", "quantity": 2, "unit_value_eur": "1450.00",
         "classification_path": "known"}


async def upload_document(public: httpx.AsyncClient, token: str, code: str, title: str,
                          filename: str | None = None) -> dict[str, Any]:
    r = await public.post("/api/v1/documents", headers=bearer(token),
                          files={"file": (filename or f"{code}.pdf", pdf_bytes(title, "e-APS"), "application/pdf")},
                          data={"title": title, "document_type": code})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def attach(public: httpx.AsyncClient, token: str, d: dict[str, Any], code: str,
                 document_id: str) -> dict[str, Any]:
    r = await public.put(f"/api/v1/dossiers/{d['id']}/justificatifs/{code}", json={"document_id": document_id},
                         headers=bearer(token, d["version"]))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_step_valid(public: httpx.AsyncClient, token: str, dossier_id: str, step: int = 2) -> dict[str, Any]:
    """Wait for the antivirus verdict: the step validates once every justificatif is « Fourni »."""
    async def check() -> dict[str, Any] | None:
        r = await public.post(f"/api/v1/dossiers/{dossier_id}/steps/{step}/validation", headers=bearer(token))
        return dict(r.json()) if r.status_code == 200 else None
    return await eventually(check, timeout=60, interval=0.3)


async def dossier(public: httpx.AsyncClient, token: str, dossier_id: str) -> dict[str, Any]:
    r = await public.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_status(public: httpx.AsyncClient, token: str, dossier_id: str, code: str,
                      bound: float = 30) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        d = await dossier(public, token, dossier_id)
        return d if d["status"]["code"] == code else None
    return await eventually(check, timeout=bound, interval=0.3)


async def hunter_draft(public: httpx.AsyncClient, a: Applicant, line: dict[str, Any] | None = None,
                       origin: str = "BE") -> dict[str, Any]:
    """Step 1 of a hunter bringing a hunting rifle bought in another EU state into France (INT)."""
    r = await public.post("/api/v1/dossiers", json={"applicant_kind": "individual"}, headers=bearer(a.token))
    assert r.status_code == 201, r.text
    d = r.json()
    r = await public.put(f"/api/v1/dossiers/{d['id']}/informations", json={
        "profile": "chasseur", "flow": "INT", "origin_country": origin, "destination_country": "FR",
        "profile_details": {"hunting_permit_number": f"PC-{unique()[:8]}"}}, headers=bearer(a.token, d["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    r = await public.post(f"/api/v1/dossiers/{d['id']}/lines", json=line or RIFLE,
                          headers=bearer(a.token, d["version"]))
    assert r.status_code == 201, r.text
    return dict(r.json())


def parties(a: Applicant, origin: str = "BE") -> dict[str, Any]:
    return {
        "applicant": {"first_name": a.first_name, "last_name": a.last_name, "email": a.email,
                      "address": {"line1": "12 chemin des Bois", "postal_code": "45000", "city": "Orléans",
                                  "country": "FR"}},
        "sender": {"name": "Armurerie des Ardennes SPRL", "address": {"line1": "5 rue de la Chasse",
                                                                     "city": "Bouillon", "country": origin}},
        "recipient": {"name": f"{a.first_name} {a.last_name}", "address": {
            "line1": "12 chemin des Bois", "postal_code": "45000", "city": "Orléans", "country": "FR"}},
        "motive": "achat"}


async def fill_and_transmit(public: httpx.AsyncClient, a: Applicant, d: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Step 2 (parties, motive, every justificatif uploaded), step 3, step 4; returns the number."""
    r = await public.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=bearer(a.token))
    assert r.status_code == 200, r.text
    r = await public.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=parties(a),
                         headers=bearer(a.token, r.json()["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    for j in d["justificatifs"]:
        if j["state"] != "disponible":
            doc = await upload_document(public, a.token, j["code"], f"{j['label']} — {a.last_name}")
            d = await attach(public, a.token, d, j["code"], doc["id"])
    d = await wait_step_valid(public, a.token, d["id"])
    r = await public.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(a.token, d["version"]))
    assert r.status_code == 200, r.text
    return r.json()["dossier"], r.json()["registration_number"]


# --- the officer's side ---------------------------------------------------------------------


async def wait_case(internal: httpx.AsyncClient, token: str, number: str, bound: float = 30) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await internal.get("/api/v1/instruction/cases", params={"registration_number": number},
                               headers=bearer(token))
        assert r.status_code == 200, r.text
        items = [c for c in r.json()["items"] if c["registration_number"] == number]
        assert len(items) <= 1, items  # one case per dossier, whatever the deliveries
        return items[0] if items else None
    return await eventually(check, timeout=bound, interval=0.3)
