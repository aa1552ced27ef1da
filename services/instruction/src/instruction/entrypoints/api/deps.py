"""Dependencies shared by the routers: who acts, the handlers' context, one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from eaps_kit.auth import INTERNAL_AUDIENCE, Principal, require, require_officer, require_supervisor
from eaps_kit.service import Runtime
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from instruction.service_layer.context import Actor, Context

require_imputation_client = require(roles=["machine"], audience=INTERNAL_AUDIENCE, scopes=["imputations:write"])


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def context(request: Request) -> Context:
    return request.app.state.runtime.extras["ctx"]  # type: ignore[no-any-return]


@asynccontextmanager
async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction: committed before the route answers, rolled back on any error."""
    async with runtime(request).session_factory() as s, s.begin():
        yield s


def _actor(p: Principal) -> Actor:
    return Actor(p.sub, "supervisor" if p.has_role("supervisor") else "officer")


async def officer(p: Principal = Depends(require_officer)) -> Actor:
    return _actor(p)


async def supervisor(p: Principal = Depends(require_supervisor)) -> Actor:
    return _actor(p)


async def imputation_client(p: Principal = Depends(require_imputation_client)) -> Actor:
    return Actor(p.sub, "machine")
