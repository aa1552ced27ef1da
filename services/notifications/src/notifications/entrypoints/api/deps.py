"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, Principal, current_principal, require
from eaps_kit.problems import ProblemError
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import Settings
from notifications.domain.clock import Clock

OFFICER_ROLES = ("officer", "supervisor", "pae_agent", "admin")

# Other administrations' machine clients, on the internal edge only.
require_machine = require(roles=["machine"], audience=INTERNAL_AUDIENCE, scopes=["decisions:read"])

# Supervisors (and administrators) oversee every administration's subscriptions, read only.
require_oversight = require(roles=["supervisor", "admin"], audience=INTERNAL_AUDIENCE)


async def require_person(principal: Principal = Depends(current_principal)) -> Principal:
    """An applicant on the public edge, or an officer / PAE agent on the internal edge."""
    if principal.audience == PUBLIC_AUDIENCE and principal.has_role("applicant"):
        return principal
    if principal.audience == INTERNAL_AUDIENCE and principal.has_role(*OFFICER_ROLES):
        return principal
    raise ProblemError(403, "Votre profil ne permet pas d'accéder aux notifications.")


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.session_factory() as s, s.begin():
        yield s


def clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]
