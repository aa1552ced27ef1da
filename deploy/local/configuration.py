"""Write docs/configuration.md: every setting of every service and of the gateway, read from
their Settings classes (so the table cannot drift from the code).

    .venv/bin/python deploy/local/configuration.py          # rewrite the file
    .venv/bin/python deploy/local/configuration.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "configuration.md"
COMPONENTS = [
    ("identity", "identity.config", "Settings"),
    ("classification", "classification.config", "Settings"),
    ("dossier", "dossier.config", "Settings"),
    ("documents", "documents.config", "Settings"),
    ("instruction", "instruction.config", "Settings"),
    ("notifications", "notifications.config", "Settings"),
    ("gateway", "gateway.config", "GatewaySettings"),
]


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is None:
        return "—"
    text = str(value)
    if str(ROOT) in text:
        text = text.replace(str(ROOT), "<repo>")
    if "/site-packages/" in text or "/.venv/" in text:
        text = "(packaged)"
    return f"`{text}`" if text else "empty"


def _comments(cls: type) -> dict[str, str]:
    """The comment above (or beside) each field in the class bodies of ``cls`` and its bases:
    the code's own explanation of the setting."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#"):
                pending.append(stripped.lstrip("# ").strip())
                continue
            match = re.match(r"^\s+([a-z_][a-z0-9_]*)\s*:", line)
            if match and not stripped.startswith(("def ", "return")):
                inline = line.split("#", 1)[1].strip() if "#" in line and "://" not in line.split("#", 1)[1] else ""
                text = " ".join(pending + ([inline] if inline else []))
                if text:
                    found[match.group(1)] = text
            pending = []
    return found


def render() -> str:
    out = [
        "# Configuration",
        "",
        "Generated from the Settings classes by `deploy/local/configuration.py`; do not edit by hand.",
        "Each variable is the setting's name in upper case after the component's prefix",
        "(for example `DOCUMENTS_S3_ENDPOINT`). Secrets keep a `dev-` placeholder that the",
        "services refuse when `ENVIRONMENT=prod`.",
        "",
    ]
    for name, module, cls_name in COMPONENTS:
        cls: type[BaseSettings] = getattr(importlib.import_module(module), cls_name)
        prefix = cls.model_config.get("env_prefix", "")
        out += [f"## {name}", "", "| variable | default | description |", "|---|---|---|"]
        comments = _comments(cls)
        for field_name, field in cls.model_fields.items():
            desc = (field.description or comments.get(field_name, "")).replace("|", "\\|")
            out.append(f"| `{prefix}{field_name.upper()}` | {_default(field)} | {desc} |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("docs/configuration.md is stale: run .venv/bin/python deploy/local/configuration.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
