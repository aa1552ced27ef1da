"""French (and later other languages') Jinja2 templates.

Each notification ``<name>`` has ``<lang>/<name>.txt.j2`` (plain text, not escaped) whose blocks
are ``subject``, ``text``, ``in_app_title``, ``in_app_body`` and ``sms`` (each optional), and for
emails ``<lang>/<name>.html.j2`` (HTML, autoescaped) extending ``<lang>/_layout.html.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
DEFAULT_LANGUAGE = "fr"


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str | None
    html: str | None
    in_app_title: str | None
    in_app_body: str | None
    sms: str | None


def _date_fr(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else ""


def _datetime_fr(value: Any) -> str:
    return value.strftime("%d/%m/%Y à %H:%M") + " (UTC)" if value is not None else ""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["date_fr"] = _date_fr
    env.filters["datetime_fr"] = _datetime_fr
    return env


def _language(lang: str | None) -> str:
    if lang and (TEMPLATES_DIR / lang).is_dir():
        return lang
    return DEFAULT_LANGUAGE


def _block(template: jinja2.Template, name: str, context: dict[str, Any]) -> str | None:
    block = template.blocks.get(name)
    if block is None:
        return None
    out = "".join(block(template.new_context(context))).strip()
    return out or None


def render(name: str, context: dict[str, Any], language: str | None = None) -> Rendered:
    env = environment()
    lang = _language(language)
    text_tmpl = env.get_template(f"{lang}/{name}.txt.j2")
    html: str | None = None
    if (TEMPLATES_DIR / lang / f"{name}.html.j2").exists():
        html = env.get_template(f"{lang}/{name}.html.j2").render(context)
    return Rendered(
        subject=_block(text_tmpl, "subject", context),
        text=_block(text_tmpl, "text", context),
        html=html,
        in_app_title=_block(text_tmpl, "in_app_title", context),
        in_app_body=_block(text_tmpl, "in_app_body", context),
        sms=_block(text_tmpl, "sms", context),
    )


def template_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".txt.j2")
        for p in (TEMPLATES_DIR / DEFAULT_LANGUAGE).glob("*.txt.j2")
        if not p.name.startswith("_")
    )
