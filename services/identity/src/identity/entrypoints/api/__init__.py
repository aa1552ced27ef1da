from fastapi import APIRouter, Depends

from identity.bootstrap import Identity
from identity.entrypoints.api.deps import get_identity
from identity.entrypoints.api.internal_edge import oauth, officer, pae
from identity.entrypoints.api.public import router as public

jwks = APIRouter(tags=["clés publiques"])


@jwks.get("/.well-known/jwks.json", summary="Clés publiques de vérification des jetons (JWKS)")
async def read_jwks(ident: Identity = Depends(get_identity)) -> dict[str, object]:
    return await ident.keys.jwks()


routers: list[APIRouter] = [jwks, public, officer, pae, oauth]
