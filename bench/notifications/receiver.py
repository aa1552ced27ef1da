"""A webhook receiver for the benchmark, run in its own process: verifies each delivery with the
documented check and records when it arrived. ``BENCH_WEBHOOK_SECRET`` holds the secret (empty:
no verification, for the raw POST baseline too)."""

from __future__ import annotations

import json
import os
import time

from notifications.webhook_signature import WebhookVerificationError, verify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET = os.environ.get("BENCH_WEBHOOK_SECRET", "")
received: dict[str, float] = {}
rejected = 0


async def hook(request: Request) -> Response:
    global rejected
    body = await request.body()
    key = request.headers.get("x-bench-key")
    if key is None:
        secret = request.headers.get("x-bench-secret") or SECRET
        try:
            payload = verify(secret, request.headers, body)
        except WebhookVerificationError:
            rejected += 1
            return Response(status_code=400)
        key = payload["data"]["registration_number"]
    received.setdefault(key, time.time())
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    return JSONResponse({"received": received, "rejected": rejected})


async def reset(request: Request) -> Response:
    global rejected
    received.clear()
    rejected = 0
    return Response(status_code=204)


app = Starlette(routes=[Route("/hooks", hook, methods=["POST"]), Route("/stats", stats),
                        Route("/reset", reset, methods=["POST"])])

if __name__ == "__main__":  # pragma: no cover
    print(json.dumps({"ok": True}))
