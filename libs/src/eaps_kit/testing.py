"""Helpers for tests: a signing key that stands in for identity's, fresh databases, bus prefixes."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeVar, cast

from joserfc import jwt
from joserfc.jwk import KeySet, KeySetSerialization, OKPKey

from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, TokenVerifier

TEST_ISSUER = "https://identity.eaps.local"


class TestKeys:
    """An Ed25519 key pair that signs tokens like identity does."""

    __test__ = False  # not a pytest class

    def __init__(self, kid: str | None = None, issuer: str = TEST_ISSUER) -> None:
        self.kid = kid or f"test-{uuid.uuid4().hex[:8]}"
        self.issuer = issuer
        self.key = OKPKey.generate_key("Ed25519", parameters={"kid": self.kid, "alg": "Ed25519", "use": "sig"},
                                       private=True)
        self.keyset = KeySet([self.key])

    def jwks(self) -> KeySetSerialization:
        return self.keyset.as_dict(private=False)

    def verifier(self) -> TokenVerifier:
        public = KeySet.import_key_set(self.jwks())
        return TokenVerifier(issuer=self.issuer, audiences=[PUBLIC_AUDIENCE, INTERNAL_AUDIENCE], keyset=public)

    def token(self, sub: str | uuid.UUID | None = None, *, roles: list[str] | None = None,
              audience: str = PUBLIC_AUDIENCE, access_level: str | None = "AS", operator_id: uuid.UUID | None = None,
              teleservices: list[str] | None = None, scope: str | None = None, ttl: int = 600,
              issuer: str | None = None, extra: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": issuer or self.issuer, "sub": str(sub or uuid.uuid4()), "aud": audience,
            "iat": now, "nbf": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
            "roles": roles if roles is not None else ["applicant"],
            "teleservices": teleservices if teleservices is not None else ["e-APS"],
        }
        if access_level:
            payload["access_level"] = access_level
        if operator_id:
            payload["operator_id"] = str(operator_id)
        if scope:
            payload["scope"] = scope
        payload.update(claims)
        payload.update(extra or {})
        return jwt.encode({"alg": "Ed25519", "kid": self.kid, "typ": "JWT"}, payload, self.key, algorithms=["Ed25519"])

    def applicant(self, sub: uuid.UUID | None = None, **kw: Any) -> str:
        return self.token(sub, roles=["applicant"], audience=PUBLIC_AUDIENCE, **kw)

    def officer(self, sub: uuid.UUID | None = None, *, roles: list[str] | None = None, **kw: Any) -> str:
        return self.token(sub, roles=roles or ["officer"], audience=INTERNAL_AUDIENCE, access_level=None,
                          amr=["pwd", "otp"], **kw)


def unique_suffix() -> str:
    return uuid.uuid4().hex[:10]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- running apps in tests -------------------------------------------------------------

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import socket  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_url(service: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_{service}_test_{unique_suffix()}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@contextlib.asynccontextmanager
async def app_client(app: FastAPI, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an httpx client speaking ASGI to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve the app with uvicorn on loopback inside the test's event loop; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


_T = TypeVar("_T")


async def eventually(check: Callable[[], _T | Awaitable[_T]], *, timeout: float = 20.0, interval: float = 0.1) -> _T:
    """Poll ``check`` (sync or async) until it returns a truthy value; return it.

    Raises AssertionError with the last value or error when the bound is reached; this bounds
    the wait, it asserts nothing about speed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while True:
        try:
            produced = check()
            value = cast(_T, await produced if asyncio.iscoroutine(produced) else produced)
            if value:
                return value
            last = value
        except AssertionError as exc:
            last = exc
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


class TcpProxy:
    """A loopback TCP proxy that a fault test can cut and restore, so that a shared service
    (RabbitMQ, PostgreSQL) looks unreachable to one client without being stopped."""

    def __init__(self, target_host: str, target_port: int, listen_port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port or free_port()
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        for t in (asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))):
            self._pipes.add(t)
            t.add_done_callback(self._pipes.discard)

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()
        for t in list(self._pipes):
            t.cancel()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()
