"""The Jinja2 environment shared by the portals: common layout and form macros, French dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

COMMON_TEMPLATES = Path(__file__).parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


def _parse(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
    return value


def date_fr(value: Any) -> str:
    v = _parse(value)
    if isinstance(v, datetime):
        v = v.astimezone(PARIS).date() if v.tzinfo else v.date()
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    return "" if v is None else str(v)


def datetime_fr(value: Any) -> str:
    v = _parse(value)
    if isinstance(v, datetime):
        v = v.astimezone(PARIS) if v.tzinfo else v
        return v.strftime("%d/%m/%Y à %H:%M")
    return date_fr(v)


def field_id(name: str) -> str:
    """The HTML id of a form field named after its API path (``applicant.address.city``)."""
    return "f-" + "".join(c if c.isalnum() else "-" for c in name)


def size_fr(n: Any) -> str:
    try:
        b = int(n)
    except (TypeError, ValueError):
        return ""
    if b < 1024:
        return f"{b} o"
    if b < 1024 * 1024:
        return f"{b / 1024:.0f} Ko".replace(".", ",")
    return f"{b / 1024 / 1024:.1f} Mo".replace(".", ",")


def nl2br(value: str | None) -> Markup:
    return Markup("<br>".join(str(escape(line)) for line in (value or "").splitlines()))


def make_environment(portal_templates: Path) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(portal_templates)), FileSystemLoader(str(COMMON_TEMPLATES))]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(date_fr=date_fr, datetime_fr=datetime_fr, field_id=field_id, size_fr=size_fr, nl2br=nl2br)
    env.globals.update(field_id=field_id)
    return env
