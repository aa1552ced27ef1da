"""Every route against every kind of caller: only officers (and supervisors where a signature or
an administrative act is needed) reach the instruction routes; only machine clients with the
imputations:write scope report quantities; applicants and PAE agents reach nothing."""

import uuid
from typing import Any

import pytest
from eaps_kit.testing import bearer

API = "/api/v1/instruction"
X = "00000000-0000-4000-8000-000000000001"

OFFICER_ROUTES = [
    ("GET", "/cases", None), ("GET", "/cases/counts", None), ("GET", f"/cases/{X}", None),
    ("GET", f"/cases/{X}/audit", None), ("GET", f"/cases/{X}/validity", None),
    ("POST", f"/cases/{X}/take", None), ("POST", f"/cases/{X}/admissibility", {"decision": "recevable"}),
    ("POST", f"/cases/{X}/completion-requests", {"missing": [{"kind": "other", "label": "x"}], "message": "x"}),
    ("POST", f"/cases/{X}/notes", {"body": "x"}),
    ("POST", f"/cases/{X}/consultations", {"ministry": "interieur"}),
    ("POST", f"/cases/{X}/consultations/{X}/opinion", {"opinion": "favorable"}),
    ("POST", f"/cases/{X}/messages", {"body": "x"}),
    ("POST", f"/cases/{X}/proposals", {"outcome": "refused", "reasons": "x"}),
    ("GET", "/authorisations", None), ("GET", f"/authorisations/{X}", None),
    ("GET", f"/authorisations/{X}/audit", None),
]
SUPERVISOR_ROUTES = [
    ("POST", f"/cases/{X}/assignment", {"officer_id": X}),
    ("POST", f"/cases/{X}/deadline-extension", {"reason": "x"}),
    ("POST", f"/cases/{X}/proposals/{X}/signature", None),
    ("POST", f"/cases/{X}/proposals/{X}/send-back", {"comment": "x"}),
    ("POST", f"/authorisations/{X}/suspension", {"reason": "x"}),
    ("POST", f"/authorisations/{X}/suspension/lift", {"reason": "x"}),
    ("POST", f"/authorisations/{X}/revocation", {"reason": "x"}),
]
MACHINE_ROUTES = [
    ("POST", "/imputations", {"authorisation_number": "AIMG-2026-999999", "declaration_reference": "MRN1",
                              "crossing_date": "2026-03-02", "office": "FR000690", "flow": "IMP", "country": "US",
                              "line_no": 1, "quantity": 1}),
    ("POST", f"/imputations/{X}/reversal", {"reason": "x"}),
]
ALL = OFFICER_ROUTES + SUPERVISOR_ROUTES + MACHINE_ROUTES


def callers(keys: Any) -> dict[str, dict[str, str]]:
    machine = dict(roles=["machine"], audience="eaps-internal", access_level=None)
    return {
        "anonymous": {},
        "garbage": {"Authorization": "Bearer abc.def.ghi"},
        "applicant": bearer(keys.applicant()),
        "applicant_oppd": bearer(keys.applicant(access_level="OPPD", operator_id=uuid.uuid4())),
        # An applicant token forged for the internal audience is still an applicant.
        "applicant_internal": bearer(keys.token(roles=["applicant"], audience="eaps-internal")),
        "officer_public_audience": bearer(keys.token(roles=["officer"], audience="eaps-public")),
        "pae_agent": bearer(keys.officer(roles=["pae_agent"])),
        "officer": bearer(keys.officer()),
        "supervisor": bearer(keys.officer(roles=["supervisor"])),
        "machine": bearer(keys.token(**machine, scope="imputations:write")),
        "other_issuer": bearer(keys.officer(issuer="https://evil.example")),
        "expired": bearer(keys.officer(ttl=-60)),
    }


ALLOWED = {
    "officer": OFFICER_ROUTES, "supervisor": OFFICER_ROUTES + SUPERVISOR_ROUTES, "machine": MACHINE_ROUTES,
}


@pytest.mark.parametrize("caller", ["anonymous", "garbage", "applicant", "applicant_oppd", "applicant_internal",
                                    "officer_public_audience", "pae_agent", "officer", "supervisor", "machine",
                                    "other_issuer", "expired"])
async def test_every_route_against_every_caller(client: Any, keys: Any, caller: str) -> None:
    headers = callers(keys)[caller]
    allowed = ALLOWED.get(caller, [])
    for method, path, body in ALL:
        r = await client.request(method, f"{API}{path}", json=body, headers=headers)
        assert r.headers["content-type"].startswith("application/"), r.text
        if (method, path, body) in allowed:
            # Allowed through: the ids do not exist (404) or the listing answers (200).
            assert r.status_code in (200, 404), (caller, method, path, r.status_code, r.text)
            if r.status_code == 404:
                assert r.headers["content-type"] == "application/problem+json"
        else:
            expected = 401 if caller in ("anonymous", "garbage", "other_issuer", "expired") else 403
            assert r.status_code == expected, (caller, method, path, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"]  # a French sentence for people


async def test_bad_input_answers_problem_json_in_french(client: Any, keys: Any) -> None:
    headers = bearer(keys.officer())
    r = await client.get(f"{API}/cases/pas-un-uuid", headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "UUID" in r.json()["errors"][0]["message"]
    r = await client.post(f"{API}/cases/{X}/admissibility", content=b"{", headers={
        **headers, "content-type": "application/json"})
    assert r.status_code == 422
    r = await client.post(f"{API}/cases/{X}/admissibility", json={"decision": "peut-etre"}, headers=headers)
    assert r.status_code == 422 and "valeurs possibles" in r.json()["errors"][0]["message"]
    r = await client.post(f"{API}/cases/{X}/notes", json={"body": "x", "extra": 1}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "Ce champ n'est pas attendu."
    r = await client.get(f"{API}/cases", params={"limit": 10000}, headers=headers)
    assert r.status_code == 422
    r = await client.get(f"{API}/cases", params={"assigned": "quelqu'un"}, headers=headers)
    assert r.status_code == 422
    r = await client.get(f"{API}/cases", params={"assigned": "-" * 36}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assigned"
