"""Dependencies of the identity routes: the composition root, the caller's IP, token verification
against identity's own keys (no HTTP round trip to itself)."""

from __future__ import annotations

import ipaddress

from eaps_kit.auth import TokenVerifier
from fastapi import Request
from joserfc.jwk import KeySet

from identity.bootstrap import Identity


def get_identity(request: Request) -> Identity:
    return request.app.state.runtime.extras["identity"]  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    """The client's address; behind a trusted edge, the last hop it added to X-Forwarded-For."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break
            if hop not in trusted:
                return hop
    return peer


class LocalKeysVerifier(TokenVerifier):
    """Verifies with the key store of this process (bound at start)."""

    identity: Identity | None = None

    async def _keys(self, force: bool = False) -> KeySet:
        if self.identity is None:
            return KeySet([])
        if force:
            await self.identity.keys.reload()
        return await self.identity.keys.public_keyset()
