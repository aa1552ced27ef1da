"""Helpers of the applicant pages: the layout's counters and form value plumbing."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from gateway.portal.common import ApiError, Ctx, SessionExpired


async def page(ctx: Ctx, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render with what the applicant layout shows on every page (unread notifications)."""
    unread = 0
    if ctx.signed_in:
        try:
            unread = int((await ctx.api.get("/api/v1/notifications/unread-count")).get("unread", 0))
        except SessionExpired:
            raise
        except ApiError:
            unread = 0  # the bell is not worth failing a page for
    values.setdefault("errors", {})
    return await ctx.render(template, status_code=status_code, unread_notifications=unread, **values)


def text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def nested(form: FormData, prefix: str, names: list[str]) -> dict[str, Any] | None:
    """``applicant.address.city`` style fields → nested dicts (empty ones dropped)."""
    out: dict[str, Any] = {}
    for name in names:
        value = text(form, f"{prefix}.{name}")
        if value is None:
            continue
        cursor = out
        parts = name.split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
    return out or None


def flatten(data: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (data or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def is_xhr(ctx: Ctx) -> bool:
    return ctx.request.headers.get("x-requested-with") == "XMLHttpRequest"
