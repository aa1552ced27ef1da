"""Forwarding one request to a service with httpx, bodies streamed both ways (nothing buffered)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from eaps_kit.problems import ProblemError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger("eaps.gateway.proxy")

# RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones proxies still meet.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
# Never taken from the client: the edge sets these itself, or they belong to service-to-service calls.
REQUEST_DROP = HOP_BY_HOP | {
    "host", "x-internal-token", "x-request-id", "x-forwarded-for", "x-forwarded-host",
    "x-forwarded-proto", "forwarded", "traceparent", "tracestate",
    "expect",  # the edge's server already answered any 100-continue; httpx sends the body at once
}
# The edge's own uvicorn writes these on the way out.
RESPONSE_DROP = HOP_BY_HOP | {"date", "server"}


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.decode("latin-1").split(",") if t.strip())
    return tokens


def request_headers(scope: Scope, *, request_id: str, forwarded_for: str, scheme: str) -> list[tuple[bytes, bytes]]:
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    extra_drop = _connection_tokens(raw)
    out = [(k, v) for k, v in raw
           if (name := k.decode("latin-1").lower()) not in REQUEST_DROP and name not in extra_drop]
    host = next((v for k, v in raw if k.lower() == b"host"), None)
    out.append((b"x-request-id", request_id.encode("latin-1")))
    out.append((b"x-forwarded-for", forwarded_for.encode("latin-1")))
    out.append((b"x-forwarded-proto", scheme.encode("latin-1")))
    if host:
        out.append((b"x-forwarded-host", host))
    return out


def response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    raw = upstream.headers.raw
    extra_drop = _connection_tokens(raw)
    return [(k.lower(), v) for k, v in raw
            if (name := k.decode("latin-1").lower()) not in RESPONSE_DROP and name not in extra_drop]


class UpstreamResponse(Response):
    """Relays the service's status, headers and body chunk by chunk as they arrive."""

    def __init__(self, upstream: httpx.Response, service: str) -> None:
        self.upstream = upstream
        self.service = service
        self.status_code = upstream.status_code
        self.raw_headers = response_headers(upstream)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.upstream.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError as exc:
            # Status already sent: the only honest signal left is a cut connection.
            log.warning("%s: response body interrupted: %r", self.service, exc)
            raise
        finally:
            await self.upstream.aclose()


class BodyTooLarge(Exception):
    """The client sent more than the edge forwards."""


async def _body(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        if chunk:
            received += len(chunk)
            if received > limit:
                raise BodyTooLarge
            yield chunk


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"Le contenu envoyé dépasse la taille maximale acceptée ({limit // (1024 * 1024)} Mo).",
                        headers={"Connection": "close"})


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        n = name.lower()
        if n == b"transfer-encoding":
            return True
        if n == b"content-length":
            return value.strip() not in (b"", b"0")
    return False


async def forward(client: httpx.AsyncClient, request: Request, *, service: str, base_url: str,
                  request_id: str, forwarded_for: str, max_body_bytes: int) -> Response:
    scope = request.scope
    declared = _declared_length(scope)
    if declared is not None and declared > max_body_bytes:
        # Refused before a byte of the body is read or forwarded.
        raise _too_large(max_body_bytes)
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string") or b""
    target = base_url + raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
    headers = request_headers(scope, request_id=request_id, forwarded_for=forwarded_for,
                              scheme=scope.get("scheme", "http"))
    content: Any = _body(request, max_body_bytes) if _has_body(scope) else None
    upstream_request = client.build_request(scope["method"], httpx.URL(target), headers=headers, content=content)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except BodyTooLarge:
        log.info("request body to %s over %d bytes: refused", service, max_body_bytes)
        raise _too_large(max_body_bytes) from None
    except ClientDisconnect:
        log.info("client went away while sending its body to %s", service)
        return Response(status_code=400)
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        log.warning("%s: connect timeout: %r", service, exc)
        raise ProblemError(504, f"Le service « {service} » n'a pas répondu à temps. Veuillez réessayer.",
                           headers={"Retry-After": "5"}) from exc
    except httpx.TimeoutException as exc:
        log.warning("%s: timeout: %r", service, exc)
        raise ProblemError(504, f"Le service « {service} » n'a pas répondu à temps. Veuillez réessayer.") from exc
    except httpx.HTTPError as exc:
        log.warning("%s: unreachable: %r", service, exc)
        raise ProblemError(502, f"Le service « {service} » est momentanément injoignable. Veuillez réessayer.",
                           headers={"Retry-After": "5"}) from exc
    return UpstreamResponse(upstream, service)
