"""The officer portal on a real internal edge (uvicorn, real Redis) in front of the gateway's
stub services: what a browser gets before any service is involved — French pages, CSRF,
sign-in guard on every page, form errors, the API's paths keeping their priority. The whole
journey against the real services is in tests/browser/test_agent_journey.py."""

from __future__ import annotations

import re
import sys
import uuid

import httpx
import pytest

if "gateway" in sys.modules and getattr(sys.modules["gateway"], "__file__", None) is None:
    del sys.modules["gateway"]

from gateway.agent.labels import labels  # noqa: E402
from gateway.agent.portal import plain  # noqa: E402

ID = str(uuid.uuid4())
# Every page of the portal (GET) and every form (POST) behind the sign-in guard.
PAGES = ["/agent/files", "/agent/signatures", "/agent/autorisations", "/agent/notifications",
         "/agent/habilitations", f"/agent/dossiers/{ID}", f"/agent/dossiers/{ID}/complement",
         f"/agent/dossiers/{ID}/proposition", f"/agent/dossiers/{ID}/pieces/{ID}", f"/agent/autorisations/{ID}",
         f"/agent/habilitations/{ID}", "/agent/abonnements", f"/agent/abonnements/{ID}",
         f"/agent/autorisations/{ID}/pdf"]
FORMS = [f"/agent/dossiers/{ID}/prise-en-charge", f"/agent/dossiers/{ID}/attribution",
         f"/agent/dossiers/{ID}/recevabilite", f"/agent/dossiers/{ID}/notes", f"/agent/dossiers/{ID}/messages",
         f"/agent/dossiers/{ID}/consultations", f"/agent/dossiers/{ID}/consultations/{ID}/avis",
         f"/agent/dossiers/{ID}/complement", f"/agent/dossiers/{ID}/proposition",
         f"/agent/dossiers/{ID}/propositions/{ID}/signature", f"/agent/dossiers/{ID}/propositions/{ID}/renvoi",
         f"/agent/autorisations/{ID}/suspension", f"/agent/autorisations/{ID}/levee",
         f"/agent/autorisations/{ID}/abrogation", f"/agent/habilitations/{ID}/decision", "/agent/notifications/lues"]


def csrf(response: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found, response.text[:500]
    return found.group(1)


async def test_sign_in_page_is_french_accessible_html_with_security_headers(internal_url: str) -> None:
    async with httpx.AsyncClient(base_url=internal_url) as c:
        r = await c.get("/agent/connexion")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="fr"' in r.text
    assert "Connexion à l'espace agents" in r.text
    for field in ("email", "password", "otp"):
        assert f'<label class="fr-label" for="f-{field}">' in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert "/static/dsfr/dsfr.min.css" in r.text


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_without_a_session_goes_to_sign_in_and_back(internal_url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=internal_url) as c:
        r = await c.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == "/agent/connexion?retour=" + path.replace("/", "%2F")


@pytest.mark.parametrize("path", FORMS)
async def test_every_form_without_a_session_is_refused_and_changes_nothing(internal_url: str, path: str,
                                                                           stubs: dict) -> None:
    seen = sum(len(s.seen) for s in stubs.values())
    async with httpx.AsyncClient(base_url=internal_url) as c:
        r = await c.post(path, data={"reason": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/agent/connexion?retour=")
    assert sum(len(s.seen) for s in stubs.values()) == seen  # no service was called


async def test_a_form_without_its_csrf_token_gets_the_french_expired_form_page(internal_url: str,
                                                                               stubs: dict) -> None:
    seen = len(stubs["identity"].seen)
    async with httpx.AsyncClient(base_url=internal_url) as c:
        await c.get("/agent/connexion")
        r = await c.post("/agent/connexion", data={"email": "a@douane.gouv.fr", "password": "x", "otp": "123456"})
    assert r.status_code == 403
    assert "Formulaire expiré" in r.text and "Traceback" not in r.text
    assert len(stubs["identity"].seen) == seen


async def test_sign_in_form_errors_are_next_to_fields_and_in_a_linked_summary(internal_url: str,
                                                                              stubs: dict) -> None:
    seen = len(stubs["identity"].seen)
    async with httpx.AsyncClient(base_url=internal_url) as c:
        token = csrf(await c.get("/agent/connexion"))
        r = await c.post("/agent/connexion", data={"csrf_token": token, "email": "agent@douane.gouv.fr",
                                                   "password": "", "otp": "12ab"})
    assert r.status_code == 422
    assert 'href="#f-password"' in r.text and 'href="#f-otp"' in r.text
    assert 'id="f-otp-msg" class="fr-error-text">Le code de vérification compte 6 chiffres.' in r.text
    assert 'aria-describedby="f-password-msg"' in r.text
    assert 'value="agent@douane.gouv.fr"' in r.text  # what was typed comes back, never the password
    assert len(stubs["identity"].seen) == seen


async def test_unknown_portal_page_is_the_french_404_page_and_api_paths_keep_problem_json(internal_url: str
                                                                                         ) -> None:
    async with httpx.AsyncClient(base_url=internal_url) as c:
        page = await c.get("/agent/nulle-part")
        api = await c.get("/api/v1/instruction/cases")
    assert page.status_code == 404 and "Page non trouvée" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


async def test_root_redirects_to_the_sign_in_page(internal_url: str) -> None:
    async with httpx.AsyncClient(base_url=internal_url, follow_redirects=True) as c:
        r = await c.get("/agent")
    assert r.url.path == "/agent/connexion"


def test_labels_cover_every_status_the_instruction_service_answers() -> None:
    from instruction.domain.model import AuthorisationStatus, CaseStatus

    assert set(labels()["case_statuses"]) == {s.value for s in CaseStatus}
    assert set(labels()["authorisation_statuses"]) == {s.value for s in AuthorisationStatus}


def test_snapshot_values_read_as_text() -> None:
    assert plain(None) == "—"
    assert plain({"line1": "3 rue des Armes", "line2": None, "city": "Lyon"}) == "line1 : 3 rue des Armes, city : Lyon"
    assert plain([{"code": "PC"}, {"code": "ID"}]) == "code : PC ; code : ID"
