"""Access-token verification (EdDSA/RS256 JWT from identity's JWKS) and FastAPI dependencies.

Both edges and every service verify signature, issuer, audience and expiry. Roles:
``applicant``, ``officer`` (instructing officer), ``supervisor`` (signs decisions),
``pae_agent``, ``admin``; machine clients carry ``machine`` and OAuth2 ``scope``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from fastapi import Depends, Request
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, Field

from eaps_kit.problems import ProblemError

PUBLIC_AUDIENCE = "eaps-public"
INTERNAL_AUDIENCE = "eaps-internal"
# Ed25519 is EdDSA under its fully-specified name (RFC 9864).
ALLOWED_ALGORITHMS = ["Ed25519", "RS256"]


class Principal(BaseModel):
    sub: str
    roles: list[str] = Field(default_factory=list)
    audience: str
    access_level: str | None = None  # "AS" | "OPPD" for applicants
    operator_id: uuid.UUID | None = None
    teleservices: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    amr: list[str] = Field(default_factory=list)
    name: str | None = None
    email: str | None = None
    token_id: str | None = None

    @property
    def account_id(self) -> uuid.UUID:
        return uuid.UUID(self.sub)

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class TokenVerifier:
    def __init__(self, *, issuer: str, audiences: Iterable[str], jwks_url: str | None = None,
                 keyset: KeySet | None = None, refresh_interval: float = 30.0, leeway: int = 5) -> None:
        self.issuer = issuer
        self.audiences = list(audiences)
        self.jwks_url = jwks_url
        self._keyset = keyset
        self._fetched_at = 0.0
        self.refresh_interval = refresh_interval
        self.leeway = leeway
        self._lock = asyncio.Lock()

    async def _keys(self, force: bool = False) -> KeySet:
        if self._keyset is not None and (self.jwks_url is None or not force):
            return self._keyset
        async with self._lock:
            if self._keyset is not None and time.monotonic() - self._fetched_at < self.refresh_interval:
                return self._keyset
            if self.jwks_url is None:
                raise _unauthorized("Aucune clé de vérification n'est disponible.")
            try:
                async with httpx.AsyncClient(timeout=3.0) as client:
                    resp = await client.get(self.jwks_url)
                    resp.raise_for_status()
                self._keyset = KeySet.import_key_set(resp.json())
                self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError) as exc:
                if self._keyset is None:
                    raise ProblemError(503, "Le service d'authentification est momentanément indisponible.",
                                       headers={"Retry-After": "5"}) from exc
            return self._keyset

    async def verify(self, token: str, audience: str | None = None) -> Principal:
        try:
            header = jws.extract_compact(token.encode()).headers() if token else {}
        except (JoseError, ValueError, TypeError) as exc:
            raise _unauthorized("Le jeton d'accès est illisible.") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise _unauthorized("L'algorithme de signature du jeton n'est pas accepté.")
        keys = await self._keys()
        kid = header.get("kid")
        if kid is not None and not any(k.kid == kid for k in keys.keys):
            keys = await self._keys(force=True)
        try:
            decoded = jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise _unauthorized("La signature du jeton d'accès est invalide.") from exc
        claims = decoded.claims
        accepted = [audience] if audience else self.audiences
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "values": accepted},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise _unauthorized("Votre session a expiré. Veuillez vous reconnecter.") from exc
        except InvalidClaimError as exc:
            if exc.claim == "aud":
                raise _unauthorized("Ce jeton d'accès n'est pas destiné à ce portail.") from exc
            raise _unauthorized("Le jeton d'accès est invalide.") from exc
        except JoseError as exc:
            raise _unauthorized("Le jeton d'accès est invalide.") from exc
        aud: str | list[str] = claims["aud"]  # essential: validated above
        aud_value = aud if isinstance(aud, str) else next(a for a in aud if a in accepted)
        scope = claims.get("scope") or ""
        return Principal(
            sub=str(claims["sub"]), roles=list(claims.get("roles") or []), audience=aud_value,
            access_level=claims.get("access_level"), operator_id=claims.get("operator_id"),
            teleservices=list(claims.get("teleservices") or []),
            scopes=scope.split() if isinstance(scope, str) else list(scope),
            amr=list(claims.get("amr") or []), name=claims.get("name"), email=claims.get("email"),
            token_id=claims.get("jti"),
        )


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def get_verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise ProblemError(503, "La vérification des jetons n'est pas configurée.")
    return verifier  # type: ignore[no-any-return]


async def current_principal(request: Request, verifier: TokenVerifier = Depends(get_verifier)) -> Principal:
    token = bearer_token(request)
    if not token:
        raise _unauthorized("Vous devez être connecté pour accéder à cette ressource.")
    principal = await verifier.verify(token)
    request.state.principal = principal
    return principal


def require(*, roles: Iterable[str] = (), audience: str | None = None, scopes: Iterable[str] = (),
            access_levels: Iterable[str] = ()) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through only the given roles (any), audience, scopes (all) and access levels."""
    roles, scopes, levels = list(roles), list(scopes), list(access_levels)

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if audience and principal.audience != audience:
            raise ProblemError(403, "Ce jeton d'accès n'est pas destiné à ce portail.")
        if roles and not principal.has_role(*roles):
            raise ProblemError(403, "Votre profil ne permet pas d'accéder à cette ressource.")
        if scopes and not all(s in principal.scopes for s in scopes):
            raise ProblemError(403, "Le client n'a pas le droit d'accès requis (scope).")
        if levels and principal.access_level not in levels:
            raise ProblemError(403, "Ce téléservice nécessite le statut d'Opérateur ProDou@ne (OPPD).")
        return principal

    return dependency


require_applicant = require(roles=["applicant"], audience=PUBLIC_AUDIENCE)
require_officer = require(roles=["officer", "supervisor"], audience=INTERNAL_AUDIENCE)
require_supervisor = require(roles=["supervisor"], audience=INTERNAL_AUDIENCE)
require_pae_agent = require(roles=["pae_agent"], audience=INTERNAL_AUDIENCE)


def claims_for(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}
