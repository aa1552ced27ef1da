"""``python -m gateway public`` (port 8000) or ``python -m gateway internal`` (port 8001)."""

from __future__ import annotations

import sys

import uvicorn
from eaps_kit import telemetry

from gateway.app import create_edge_app
from gateway.config import GatewaySettings

USAGE = "usage: python -m gateway {public|internal}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("public", "internal"):
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)
    edge = args[0]
    settings = GatewaySettings()
    telemetry.setup_logging(settings.log_level, json_logs=settings.log_json, service=f"gateway-{edge}")
    uvicorn.run(create_edge_app(edge, settings), host=settings.host, port=settings.port_for(edge),  # type: ignore[arg-type]
                log_config=None, access_log=False, proxy_headers=False, timeout_graceful_shutdown=30,
                lifespan="on")


if __name__ == "__main__":
    main()
