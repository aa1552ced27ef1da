"""French labels of the codes the services answer (data in labels.yaml, not if-chains)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LABELS_FILE = Path(__file__).with_name("labels.yaml")


@cache
def labels() -> dict[str, dict[str, str]]:
    with LABELS_FILE.open(encoding="utf-8") as f:
        data: dict[str, dict[str, str]] = yaml.safe_load(f)
    return data


def label(kind: str, code: Any) -> str:
    """The French label of ``code`` in the table ``kind``; the code itself when unknown."""
    if code is None:
        return ""
    return labels().get(kind, {}).get(str(code), str(code))
