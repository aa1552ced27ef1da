"""Dependencies shared by the routers: the service, the acting applicant, paging and sorting."""

from __future__ import annotations

from eaps_kit.auth import Principal, require_applicant
from eaps_kit.problems import ProblemError
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dossier.adapters.repository import Scope
from dossier.domain.reference import Reference, reference
from dossier.service_layer.handlers import Actor, DossierService


def service(request: Request) -> DossierService:
    return request.app.state.runtime.extras["dossier_service"]  # type: ignore[no-any-return]


def sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.runtime.session_factory  # type: ignore[no-any-return]


def ref() -> Reference:
    return reference()


def scope_of(p: Principal) -> Scope:
    if p.access_level == "OPPD":
        if p.operator_id is None:
            raise ProblemError(403, "Votre jeton OPPD ne précise pas la société pour laquelle vous agissez.")
        return Scope(p.account_id, p.operator_id)
    return Scope(p.account_id)


def actor(request: Request, p: Principal = Depends(require_applicant)) -> Actor:
    try:
        account = p.account_id
    except ValueError:
        raise ProblemError(403, "Votre jeton d'accès ne désigne pas un compte valide.") from None
    scope = scope_of(p)
    return Actor(account_id=account, scope=scope, operator_id=scope.operator_id,
                 authorization=request.headers.get("authorization", ""), name=p.name, email=p.email)
