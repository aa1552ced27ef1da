"""A minimal service for the gateway benchmark: /health/live, a JWKS read from a file, and a ping under
every prefix the public edge routes. ``python -m bench.gateway.stub PORT JWKS_FILE``"""

from __future__ import annotations

import json
import sys

import uvicorn
from fastapi import FastAPI


def build(jwks_file: str) -> FastAPI:
    app = FastAPI(openapi_url=None)
    with open(jwks_file, encoding="utf-8") as fh:
        jwks = json.load(fh)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/.well-known/jwks.json")
    async def keys() -> dict[str, object]:
        return jwks

    @app.get("/api/v1/{area}/ping")
    async def ping(area: str) -> dict[str, str]:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    uvicorn.run(build(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
