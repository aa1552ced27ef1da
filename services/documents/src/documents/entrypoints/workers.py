"""Background loops: re-scan what waits for the antivirus, reconcile storage and rows."""

from __future__ import annotations

import asyncio
import logging

from documents.bootstrap import Deps
from documents.service_layer import handlers

log = logging.getLogger("documents.workers")


async def rescan_loop(deps: Deps) -> None:
    """Documents « en cours d'analyse » are scanned as soon as clamd answers again."""
    while True:
        try:
            await handlers.rescan_pending(deps)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("re-scan round failed")
        await asyncio.sleep(deps.settings.rescan_interval_seconds)


async def reconcile_loop(deps: Deps) -> None:
    while True:
        await asyncio.sleep(deps.settings.reconcile_interval_seconds)
        try:
            report = await handlers.reconcile(deps, grace_seconds=deps.settings.reconcile_grace_seconds)
            if any(report.values()):
                log.warning("reconciliation: %s", report)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconciliation round failed")
