"""``python -m <service>``: check the dependencies, then serve with uvicorn.

A wrong database or broker URL stops the process with one clear line, not a loop of
stack traces."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from eaps_kit import telemetry
from eaps_kit.db import StartupError, ensure_database
from eaps_kit.messaging.broker import Broker
from eaps_kit.settings import ServiceSettings


async def preflight(settings: ServiceSettings) -> None:
    # aiormq logs its own connection errors; the one line below says it better.
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)
    await ensure_database(settings.database_url)
    broker = Broker(settings.amqp_url)
    await broker.connect(timeout=5)
    await broker.close()


def serve(app_factory: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    telemetry.setup_logging(settings.log_level, json_logs=settings.log_json, service=settings.service_name)
    try:
        asyncio.run(preflight(settings))
    except StartupError as exc:
        print(f"{settings.service_name}: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(app_factory(), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=30, lifespan="on")
