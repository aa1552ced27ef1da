"""Portal overhead: a signed-in dossier page (session in Redis, in-process call through the public
edge's rules and token check, Jinja2 rendering) against the same API read made directly through
the edge with a bearer token (baseline). Upstream: a loopback stand-in answering a fixed dossier.

    .venv/bin/python -m bench.portal.page_latency [requests]
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import sys
import time
import uuid
from typing import Any

import httpx
from eaps_kit.testing import TestKeys, serve_app
from fastapi import FastAPI


def upstream(keys: TestKeys, owner: uuid.UUID, dossier_id: uuid.UUID) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/identity/sessions")
    async def sign_in() -> dict[str, Any]:
        return {"access_token": keys.applicant(owner, ttl=3600), "expires_in": 3600,
                "refresh_token": secrets.token_urlsafe(24), "token_type": "Bearer"}

    @app.get("/api/v1/identity/me")
    async def me() -> dict[str, Any]:
        return {"id": str(owner), "first_name": "Jeanne", "last_name": "Martin", "kind": "individual"}

    @app.get("/api/v1/notifications/unread-count")
    async def unread() -> dict[str, int]:
        return {"unread": 1}

    @app.get("/api/v1/dossiers/{d}")
    async def dossier(d: uuid.UUID) -> dict[str, Any]:
        return {"id": str(d), "registration_number": "EAPS-2026-000042", "status": {"code": "en_etude",
                "label": "En étude"}, "basket": {"code": "en_attente", "label": "En attente"}, "version": 3,
                "editable": False, "actions": [{"code": "comment", "label": "Ajouter un commentaire"}],
                "completion_request": None, "informations": {"profile_fields": []},
                "lines": [{"classification_code": "C-1-c", "designation": "Fusil", "quantity": 1}] * 5,
                "authorisation": None, "demandeur": {"applicant": {}, "sender": None, "recipient": None},
                "justificatifs": []}

    @app.get("/api/v1/dossiers/{d}/history")
    async def history(d: uuid.UUID) -> dict[str, Any]:
        return {"items": []}

    @app.get("/api/v1/dossiers/{d}/messages")
    async def messages(d: uuid.UUID) -> dict[str, Any]:
        return {"items": [], "unread": 0}

    return app


def summary(name: str, samples: list[float]) -> str:
    s = sorted(samples)
    p = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return f"{name:<40} median {statistics.median(s) * 1000:6.2f} ms   p95 {p(0.95):6.2f} ms   n={len(s)}"


async def main(n: int) -> None:
    from gateway.app import create_edge_app
    from gateway.config import GatewaySettings

    keys, owner, dossier_id = TestKeys(), uuid.uuid4(), uuid.uuid4()
    tag = secrets.token_hex(4)
    os.environ["GATEWAY_PORTAL_SESSION_PREFIX"] = f"bench{tag}:portal:"
    async with serve_app(upstream(keys, owner, dossier_id)) as url:
        settings = GatewaySettings(environment="test", rate_limit_enabled=False, log_json=False,
                                   **{f"{s}_url": url for s in ("identity", "classification", "dossier", "documents",
                                                                "instruction", "notifications")})
        edge = create_edge_app("public", settings, token_verifier=keys.verifier())
        async with serve_app(edge) as edge_url, httpx.AsyncClient(base_url=edge_url) as c:
            page = await c.get("/connexion")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            await c.post("/connexion", data={"csrf_token": token, "email": "a@b.fr", "password": "x"})
            bearer = {"Authorization": f"Bearer {keys.applicant(owner, ttl=3600)}"}
            for _ in range(20):  # warm-up
                await c.get(f"/eaps/dossiers/{dossier_id}")
                await c.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer)
            api, portal = [], []
            for _ in range(n):
                t = time.perf_counter()
                r = await c.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer)
                api.append(time.perf_counter() - t)
                assert r.status_code == 200
                t = time.perf_counter()
                r = await c.get(f"/eaps/dossiers/{dossier_id}")
                portal.append(time.perf_counter() - t)
                assert r.status_code == 200 and "EAPS-2026-000042" in r.text
    print(summary("baseline: GET /api/v1/dossiers/{id} (edge)", api))
    print(summary("portal: GET /eaps/dossiers/{id} (page)", portal))
    print("the page: a Redis session read, 4 in-process API calls (unread count, dossier, history, messages), Jinja2")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
