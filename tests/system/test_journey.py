"""The whole journey through the two edges with every service running (issue 6 and issue 7):
a hunter registers, files a request, an officer instructs it, a supervisor signs, the hunter
gets the authorisation; emails at each step; another applicant sees none of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import httpx
from eaps_kit.testing import eventually
from openpyxl import load_workbook
from pypdf import PdfReader
from system_testkit import (
    RIFLE,
    Applicant,
    assert_problem,
    attach,
    bearer,
    dossier,
    parties,
    register_hunter,
    text_of,
    upload_document,
    wait_case,
    wait_mail,
    wait_status,
    wait_step_valid,
)


async def test_hunter_to_authorisation_through_both_edges(public: httpx.AsyncClient, internal: httpx.AsyncClient,
                                                          officer, supervisor, demo_hunter: Applicant):  # type: ignore[no-untyped-def]
    # --- registration: SMS code from the SMS sink, email link from var/mail, then sign-in ----------
    hunter = await register_hunter(public)
    tok = hunter.token
    me = (await public.get("/api/v1/identity/me", headers=bearer(tok))).json()
    assert me["email"] == hunter.email and me["access_level"] == "AS"

    # --- step 1: a draft saved half-filled, reopened, then completed ------------------------------
    r = await public.post("/api/v1/dossiers", json={"applicant_kind": "individual"}, headers=bearer(tok))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"]["code"] == "brouillon"
    r = await public.put(f"/api/v1/dossiers/{d['id']}/informations", json={"profile": "chasseur"},
                         headers=bearer(tok, d["version"]))  # « Sauvegarder ma saisie »
    assert r.status_code == 200, r.text
    r = await public.get("/api/v1/dossiers", params={"basket": "a_traiter"}, headers=bearer(tok))
    assert [x["id"] for x in r.json()["items"]] == [d["id"]]
    d = await dossier(public, tok, d["id"])  # back to the draft: what was saved is there
    assert d["informations"]["profile"] == "chasseur" and d["informations"]["applicant_kind"] == "individual"
    r = await public.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=bearer(tok))
    body = assert_problem(r, 422)
    assert any(e.get("field") == "flow" for e in body["errors"]), body
    r = await public.put(f"/api/v1/dossiers/{d['id']}/informations", json={
        "flow": "INT", "origin_country": "BE", "destination_country": "FR",
        "profile_details": {"hunting_permit_number": "PC-45-2019-0042"}}, headers=bearer(tok, d["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    stale = d["version"] - 1
    r = await public.put(f"/api/v1/dossiers/{d['id']}/informations", json={"origin_country": "DE"},
                         headers=bearer(tok, stale))  # another tab with an older copy
    assert_problem(r, 412)

    # a line from the classification aid: the authorisation is named
    r = await public.post(f"/api/v1/dossiers/{d['id']}/lines", json=RIFLE, headers=bearer(tok, d["version"]))
    assert r.status_code == 201, r.text
    assert r.json()["authorisation_type"] == "AP-INT"
    assert "Accord préalable" in r.json()["message"]
    d = r.json()["dossier"]
    # a second line that needs another authorisation (war material: AIMG) is refused
    tank = {**RIFLE, "classification_code": "A2-1", "designation": "Char de combat", "quantity": 1}
    r = await public.post(f"/api/v1/dossiers/{d['id']}/lines", json=tank, headers=bearer(tok, d["version"]))
    assert_problem(r, 409, "plusieurs demandes différentes")
    assert len((await dossier(public, tok, d["id"]))["lines"]) == 1

    # --- step 2: parties, motive, justificatifs (the permis de chasser among them) ----------------
    r = await public.post(f"/api/v1/dossiers/{d['id']}/steps/1/validation", headers=bearer(tok))
    assert r.status_code == 200, r.text
    required = {j["code"]: j for j in r.json()["justificatifs"]}
    assert {"ID", "DOM", "PC"} <= set(required), required
    assert required["PC"]["label"] == "Permis de chasser"
    r = await public.put(f"/api/v1/dossiers/{d['id']}/demandeur", json=parties(hunter),
                         headers=bearer(tok, r.json()["version"]))
    assert r.status_code == 200, r.text
    d = r.json()
    r = await public.post(f"/api/v1/dossiers/{d['id']}/steps/2/validation", headers=bearer(tok))
    assert_problem(r, 422)  # justificatifs still missing
    permit = await upload_document(public, tok, "PC", "Permis de chasser de Paul Durand", "permis-de-chasser.pdf")
    assert permit["status"] in ("pending_scan", "available")
    d = await attach(public, tok, d, "PC", permit["id"])
    for code in sorted(set(required) - {"PC"}):
        doc = await upload_document(public, tok, code, f"{required[code]['label']} — {hunter.last_name}")
        d = await attach(public, tok, d, code, doc["id"])
    d = await wait_step_valid(public, tok, d["id"])  # the antivirus verdicts arrived
    assert all(j["state"] == "disponible" for j in d["justificatifs"]), d["justificatifs"]
    r = await public.get(f"/api/v1/documents/{permit['id']}", headers=bearer(tok))
    assert r.json()["status"] == "available"

    # --- steps 3 and 4 --------------------------------------------------------------------------
    r = await public.get(f"/api/v1/dossiers/{d['id']}/recapitulatif", headers=bearer(tok))
    assert r.status_code == 200 and r.json()["lines"][0]["designation"] == "Carabine de chasse"
    r = await public.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(tok, d["version"]))
    assert r.status_code == 200, r.text
    number = r.json()["registration_number"]
    assert re.fullmatch(rf"EAPS-{datetime.now(UTC).year}-\d{{6}}", number), number
    assert number in r.json()["message"]
    r = await public.get("/api/v1/dossiers", params={"basket": "en_attente"}, headers=bearer(tok))
    assert [x["registration_number"] for x in r.json()["items"]] == [number]  # « En attente »
    r = await public.get("/api/v1/dossiers", params={"basket": "a_traiter"}, headers=bearer(tok))
    assert r.json()["items"] == []
    mail = await wait_mail(hunter.email, number)
    assert "transmis" in text_of(mail).lower() or "transmis" in str(mail["Subject"]).lower()

    # --- the officer: MFA sign-in, the queue, one case, completion requested ---------------------
    off = await officer.token()
    case = await wait_case(internal, off, number)
    assert case["authorisation_type"] == "AP-INT" and case["status"] == "en_etude"
    cid = case["id"]
    r = await internal.get("/api/v1/instruction/cases", headers=bearer(off), params={
        "status": "en_etude", "assigned": "none", "authorisation_type": "AP-INT", "registration_number": number})
    assert [c["id"] for c in r.json()["items"]] == [cid]  # in the queue of cases nobody has taken yet
    await wait_status(public, tok, d["id"], "en_etude")
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/take", headers=bearer(off))
    assert r.status_code == 204, r.text
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/completion-requests", headers=bearer(off), json={
        "missing": [{"kind": "document", "code": "DOM", "label": "Justificatif de domicile de moins de trois mois"}],
        "message": "Le justificatif de domicile fourni date de plus de trois mois."})
    assert r.status_code == 201, r.text

    # --- the applicant completes and resubmits ------------------------------------------------
    d = await wait_status(public, tok, d["id"], "a_completer")
    r = await public.get("/api/v1/dossiers", params={"basket": "a_traiter"}, headers=bearer(tok))
    assert [x["registration_number"] for x in r.json()["items"]] == [number]  # « À traiter »
    mail = await wait_mail(hunter.email, number, "moins de trois mois")
    assert "compléter" in (text_of(mail) + str(mail["Subject"])).lower()
    newer = await upload_document(public, tok, "DOM", "Facture d'électricité d'octobre", "facture-octobre.pdf")
    d = await attach(public, tok, d, "DOM", newer["id"])
    d = await wait_step_valid(public, tok, d["id"])
    r = await public.post(f"/api/v1/dossiers/{d['id']}/transmission", headers=bearer(tok, d["version"]))
    assert r.status_code == 200, r.text
    assert r.json()["resubmission"] is True and r.json()["registration_number"] == number

    # --- the officer sees what changed, admits, proposes a grant; four eyes; the supervisor signs --
    async def resubmitted():  # type: ignore[no-untyped-def]
        r = await internal.get(f"/api/v1/instruction/cases/{cid}", headers=bearer(off))
        return r.json() if r.json()["submission_no"] == 2 else None
    detail = await eventually(resubmitted)
    r = await internal.get("/api/v1/instruction/cases", params={"registration_number": number}, headers=bearer(off))
    assert [c["id"] for c in r.json()["items"]] == [cid]  # the resubmission resumed the case, no second one
    assert detail["changes_since_last_version"], detail["versions"]
    assert "DOM" in str(detail["changes_since_last_version"])
    assert detail["status"] == "en_etude"
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/admissibility", json={"decision": "recevable"},
                            headers=bearer(off))
    assert r.status_code == 204, r.text
    await wait_status(public, tok, d["id"], "en_instruction")
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/proposals", headers=bearer(off),
                            json={"outcome": "granted", "conditions": "Arme transportée déchargée, sous clé."})
    assert r.status_code == 201, r.text
    proposal = r.json()["id"]
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/proposals/{proposal}/signature", headers=bearer(off))
    assert_problem(r, 403)  # the instructing officer never signs their own proposal
    sup = await supervisor.token()
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/proposals/{proposal}/signature", headers=bearer(sup))
    assert r.status_code == 201, r.text
    auth_number = r.json()["authorisation"]["number"]
    assert re.fullmatch(rf"AP-INT-{datetime.now(UTC).year}-\d{{6}}", auth_number), auth_number

    # --- the applicant: « Accordée », « Mes autorisations », the PDF ---------------------------
    await wait_status(public, tok, d["id"], "accordee")
    mail = await wait_mail(hunter.email, number, auth_number)

    async def listed():  # type: ignore[no-untyped-def]
        r = await public.get("/api/v1/authorisations", headers=bearer(tok))
        items = [a for a in r.json()["items"] if a["number"] == auth_number]
        return items[0] if items and items[0].get("pdf") else None
    auth = await eventually(listed, timeout=60)
    assert auth["type"] == "AP-INT" and auth["lines"][0]["quantity_remaining"] == 2
    r = await public.get(auth["pdf"]["href"], headers=bearer(tok))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(r.content)).pages)
    assert auth_number in text and hunter.last_name in text, text[:500]

    # --- search and both exports, read back cell by cell --------------------------------------
    r = await public.get("/api/v1/search/authorisations", params={"number": auth_number}, headers=bearer(tok))
    assert [a["number"] for a in r.json()["items"]] == [auth_number]
    r = await public.get("/api/v1/search/dossiers", params={"q": "verney", "status": "accordee"},
                         headers=bearer(tok))
    assert [x["registration_number"] for x in r.json()["items"]] == [number]
    r = await public.get("/api/v1/search/dossiers/export", params={"format": "xlsx", "number": number},
                         headers=bearer(tok))
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert ws.freeze_panes == "A2" and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Numéro d'enregistrement"] == number and row["Statut"] == "Accordée"
    assert row["Type d'autorisation"] == "AP-INT" and row["Pays de provenance"] == "BE"
    assert row["Quantité totale"] == 2 and row["Valeur totale (EUR)"] == 2900
    assert isinstance(row["Date de transmission"], datetime) and row["Classements"] == "C-1-c"
    r = await public.get("/api/v1/search/authorisations/export", params={"format": "csv", "number": auth_number},
                         headers=bearer(tok))
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Numéro d'autorisation"] == auth_number and row["Type"] == "AP-INT"
    assert row["Statut"] in ("Valide", "Non encore valide") and row["Numéro de dossier"] == number
    assert row["Quantité autorisée"] == "2" and row["Quantité restante"] == "2"
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", row["Début de validité"]), row

    # --- comments both ways -----------------------------------------------------------------
    r = await public.post(f"/api/v1/dossiers/{d['id']}/messages", headers=bearer(tok),
                          json={"body": "Merci. Puis-je passer la frontière dès lundi ?"})
    assert r.status_code == 201, r.text

    async def officer_sees():  # type: ignore[no-untyped-def]
        r = await internal.get(f"/api/v1/instruction/cases/{cid}", headers=bearer(off))
        return any("dès lundi" in m["body"] for m in r.json()["messages"])
    await eventually(officer_sees)
    r = await internal.post(f"/api/v1/instruction/cases/{cid}/messages", headers=bearer(off),
                            json={"body": "Oui, l'autorisation est valable dès aujourd'hui."})
    assert r.status_code == 201, r.text

    async def thread():  # type: ignore[no-untyped-def]
        r = await public.get(f"/api/v1/dossiers/{d['id']}/messages", headers=bearer(tok))
        items = r.json()["items"]
        return r.json() if any("valable dès aujourd'hui" in m["body"] for m in items) else None
    t = await eventually(thread)
    assert [m["author"]["kind"] for m in t["items"]][-2:] == ["applicant", "officer"] and t["unread"] >= 1

    # --- another applicant: 404 on every id of the first one ---------------------------------
    other = bearer(demo_hunter.token)
    did, pinned = d["id"], d["justificatifs"][0]["pinned_document_id"]
    reads = [f"/api/v1/dossiers/{did}", f"/api/v1/dossiers/{did}/recapitulatif", f"/api/v1/dossiers/{did}/history",
             f"/api/v1/dossiers/{did}/messages", f"/api/v1/authorisations/{auth['id']}",
             f"/api/v1/documents/{permit['id']}", f"/api/v1/documents/{permit['id']}/content",
             f"/api/v1/documents/pinned/{pinned}/content", auth["pdf"]["href"]]
    for path in reads:
        assert_problem(await public.get(path, headers=other), 404)
    writes = [("PUT", f"/api/v1/dossiers/{did}/informations", {"origin_country": "DE"}),
              ("POST", f"/api/v1/dossiers/{did}/lines", RIFLE),
              ("PUT", f"/api/v1/dossiers/{did}/demandeur", {"motive": "vente"}),
              ("PUT", f"/api/v1/dossiers/{did}/justificatifs/PC", {"document_id": permit["id"]}),
              ("POST", f"/api/v1/dossiers/{did}/steps/1/validation", None),
              ("POST", f"/api/v1/dossiers/{did}/transmission", None),
              ("POST", f"/api/v1/dossiers/{did}/withdrawal", {"reason": "intrus"}),
              ("POST", f"/api/v1/dossiers/{did}/messages", {"body": "intrus"}),
              ("POST", f"/api/v1/dossiers/{did}/messages/read", None),
              ("DELETE", f"/api/v1/dossiers/{did}", None)]
    for method, path, body in writes:
        r = await public.request(method, path, json=body, headers=bearer(demo_hunter.token, d["version"]))
        assert_problem(r, 404)
    r = await public.get("/api/v1/search/dossiers", params={"number": number}, headers=other)
    assert r.json()["items"] == []
    r = await public.get("/api/v1/search/authorisations/export", params={"format": "csv", "number": auth_number},
                         headers=other)
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))) == 1  # headers only
    assert (await dossier(public, tok, did))["status"]["code"] == "accordee"  # nothing changed
