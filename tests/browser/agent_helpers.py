"""Helpers of the officer portal's browser tests: staff accounts of their own (each test session
creates its officers, supervisors and PAE agent, so that no two sessions spend the same TOTP
codes of the demo accounts), applicants and dossiers made through the public edge's API, the
accessibility check and screenshots."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "deploy" / "local" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
HUNTER = ("chasseur@demo-eaps.fr", "Bois-Gibier-2024!")  # identity's demo seed
GUNSMITH = ("armurier@demo-eaps.fr", "Atelier-Canon-2024!")


def stack_env() -> dict[str, str]:
    """The local stack's configuration (deploy/local/run.py), for the identity CLI's process."""
    spec = importlib.util.spec_from_file_location("eaps_local_run", ROOT / "deploy" / "local" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("eaps_local_run", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.stack_env()  # type: ignore[no-any-return]


@dataclass
class Staff:
    email: str
    password: str
    totp_secret: str
    roles: list[str]
    account_id: str
    last_step: int = -1

    def code(self) -> str:
        """A fresh TOTP code: identity accepts each time step once, so wait for the next step
        when this account already signed in during the current one."""
        totp = pyotp.TOTP(self.totp_secret)
        step = int(time.time()) // totp.interval
        while step <= self.last_step:
            time.sleep(0.5)
            step = int(time.time()) // totp.interval
        self.last_step = step
        return totp.at(step * totp.interval)


_CREATE_STAFF = """
import asyncio, json, sys
from identity.bootstrap import standalone
from identity.config import Settings
from identity.service_layer import staff

async def main(specs):
    out = []
    async with standalone(Settings()) as ident:
        for s in specs:
            c = await staff.create_staff(ident, email=s["email"], first_name=s["first_name"],
                                         last_name=s["last_name"], roles=s["roles"], password=s["password"],
                                         pae_code=s.get("pae"))
            out.append({"email": c.email, "totp_secret": c.totp_secret, "account_id": str(c.account_id)})
    print(json.dumps(out))

asyncio.run(main(json.loads(sys.argv[1])))
"""


def create_staff(specs: list[dict[str, Any]]) -> list[Staff]:
    """Officer accounts made as an administrator would (identity's own code, its database)."""
    suffix = uuid.uuid4().hex[:8]
    for s in specs:
        s.setdefault("email", f"{s['roles'][0]}-{suffix}-{len(s['first_name'])}@douane-test.fr")
        s.setdefault("password", f"Clef-{suffix}-Douane!")
    proc = subprocess.run([sys.executable, "-c", _CREATE_STAFF, json.dumps(specs)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **stack_env()})
    assert proc.returncode == 0, proc.stderr[-3000:]
    made = json.loads(proc.stdout.strip().splitlines()[-1])
    return [Staff(s["email"], s["password"], m["totp_secret"], s["roles"], m["account_id"])
            for s, m in zip(specs, made, strict=True)]


# --- the applicant's side, through the public edge's API ---------------------------------------

def pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


class Applicant:
    def __init__(self, public: str, email: str, password: str) -> None:
        self.client = httpx.Client(base_url=public, timeout=30, trust_env=False)
        deadline = time.monotonic() + 90
        while True:  # the sign-in limit counts per address, and every test run here shares 127.0.0.1
            r = self.client.post("/api/v1/identity/sessions", json={"email": email, "password": password})
            if r.status_code != 429 or time.monotonic() > deadline:
                break
            time.sleep(int(r.headers.get("Retry-After", "1")))
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    def h(self, version: int | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        return headers

    def call(self, method: str, path: str, expect: int = 200, version: int | None = None, **kw: Any) -> Any:
        r = self.client.request(method, path, headers=self.h(version), **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:1000]}"
        return r.json() if r.content else None

    def upload(self, code: str, title: str) -> str:
        doc = self.call("POST", "/api/v1/documents", expect=201,
                        files={"file": (f"{code}.pdf", pdf(title), "application/pdf")},
                        data={"title": title, "document_type": code})
        return str(doc["id"])

    def attach_all(self, d: dict[str, Any], replace: set[str] | None = None) -> dict[str, Any]:
        for j in d["justificatifs"]:
            if j["state"] == "disponible" and j["code"] not in (replace or set()):
                continue
            doc = self.upload(j["code"], f"Justificatif {j['code']} {uuid.uuid4().hex[:6]}")
            d = self.call("PUT", f"/api/v1/dossiers/{d['id']}/justificatifs/{j['code']}",
                          json={"document_id": doc}, version=d["version"])
        deadline = time.monotonic() + 60
        while True:  # the antivirus verdicts arrive asynchronously
            r = self.client.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=self.h())
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, r.text
            time.sleep(0.3)

    def hunting_rifle_import(self) -> dict[str, Any]:
        """A hunter's draft up to step 2: a category C rifle introduced from Belgium."""
        d = self.call("POST", "/api/v1/dossiers", expect=201, json={"applicant_kind": "individual"})
        d = self.call("PUT", f"/api/v1/dossiers/{d['id']}/informations", version=d["version"], json={
            "profile": "chasseur", "flow": "INT", "origin_country": "BE", "destination_country": "FR",
            "profile_details": {"hunting_permit_number": "PC-2024-123456"}})
        d = self.call("POST", f"/api/v1/dossiers/{d['id']}/lines", expect=201, version=d["version"], json={
            "classification_code": "C-1-c", "designation": "Carabine de chasse", "brand": "Browning",
            "calibre": "30-06", "quantity": 2, "unit_value_eur": "1450.00", "classification_path": "known",
            "serial_numbers": ["BR-001", "BR-002"]})["dossier"]
        d = self.call("POST", f"/api/v1/dossiers/{d['id']}/steps/1/validation")
        d = self.call("PUT", f"/api/v1/dossiers/{d['id']}/demandeur", version=d["version"], json={
            "applicant": {"first_name": "Jean", "last_name": "Dupont", "email": HUNTER[0],
                          "address": {"line1": "12 rue de la Forêt", "postal_code": "45000", "city": "Orléans",
                                      "country": "FR"}},
            "sender": {"name": "Armurerie de Liège", "address": {"line1": "5 quai de Meuse", "city": "Liège",
                                                                "country": "BE"}},
            "recipient": {"name": "Jean Dupont", "address": {"line1": "12 rue de la Forêt", "city": "Orléans",
                                                            "country": "FR"}},
            "motive": "achat"})
        return self.attach_all(d)

    def transmit(self, d: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"/api/v1/dossiers/{d['id']}/transmission", version=d["version"])  # type: ignore[no-any-return]

    def dossier(self, dossier_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/dossiers/{dossier_id}")  # type: ignore[no-any-return]


def wait_for(check: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    """A bounded poll (the browser tests are synchronous; eaps_kit.testing.eventually is async)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# --- the page's checks ------------------------------------------------------------------------------

def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v.get("impact") in ("serious", "critical")]


def check_page(page: Any, screenshot: str | None = None) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}: {json.dumps(violations, ensure_ascii=False, indent=1)}"
    assert page.locator("html").get_attribute("lang") == "fr"
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"agent_{screenshot}.png"), full_page=True)


def valid_siret() -> str:
    """A random SIRET that passes the Luhn check identity applies."""
    import secrets

    body = f"{secrets.randbelow(10**13):013d}"
    for last in range(10):
        digits = [int(c) for c in body + str(last)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return body + str(last)
    raise AssertionError("unreachable")


def register_professional(public: str) -> tuple[str, str, str]:
    """A gunsmith registers through the public API and verifies the email link and the SMS code
    read from the local sinks (with the applicant portal's tests' readers). Returns (email, password, siret)."""
    import secrets

    from portal_helpers import email_link, latest_sms_code

    tag = secrets.token_hex(4)
    email_, password, siret = f"armurier-{tag}@exemple.fr", f"Canon-Rayé-{tag}-2026!", valid_siret()
    phone = f"+336{secrets.randbelow(10**8):08d}"
    with httpx.Client(base_url=public, timeout=30, trust_env=False) as c:
        r = c.post("/api/v1/identity/registrations", json={
            "kind": "professional", "profile": "gunsmith", "email": email_, "password": password, "phone": phone,
            "first_name": "Lucie", "last_name": f"Garnier-{tag}", "company_name": f"Armurerie Garnier {tag}",
            "siret": siret})
        assert r.status_code == 202, r.text
        verification_id = r.json()["verification_id"]
        token = email_link(email_, "/inscription/verifier-email").split("token=")[1]
        assert c.post("/api/v1/identity/registrations/email-verification", json={"token": token}).status_code == 200
        r = c.post("/api/v1/identity/registrations/phone-verification",
                   json={"verification_id": verification_id, "code": latest_sms_code(phone)})
        assert r.status_code == 200, r.text
    return email_, password, siret
