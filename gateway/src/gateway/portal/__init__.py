"""The web portals, served by the edges themselves.

``mount(app, edge, settings)`` is called by ``gateway.app.create_edge_app`` before its catch-all
route, so that the API's own paths (/api/..., /.well-known/..., /health/...) keep priority:
the applicant portal on the public edge at /. The officer portal (gateway.agent) mounts itself
at /agent on the internal edge with the same foundation (``gateway.portal.common``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from gateway.config import Edge, GatewaySettings


def mount(app: FastAPI, edge: Edge, settings: GatewaySettings) -> None:
    from gateway.portal.common.settings import PortalSettings

    portal_settings = PortalSettings(environment=settings.environment)
    if edge == "public":
        from gateway.portal.applicant import mount_applicant_portal

        mount_applicant_portal(app, portal_settings)
