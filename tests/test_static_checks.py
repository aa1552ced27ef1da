"""Static quality gates (style.md: "ruff and mypy (strict on src/) run in CI").

Both tools read their settings from the root pyproject.toml: ruff's rule set, and mypy's
strict mode with the list of src packages (`files`) and the one untyped third-party import.
A failure shows the tool's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_ruff_finds_nothing_in_the_repository() -> None:
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout=120)
    assert proc.returncode == 0, f"ruff check:\n{proc.stdout}{proc.stderr}"


def test_mypy_strict_finds_nothing_in_the_src_packages() -> None:
    # The cache (.mypy_cache, git-ignored) makes a second run take seconds; a cold run is under two minutes.
    proc = _run("mypy", "--strict", timeout=280)
    assert proc.returncode == 0, f"mypy --strict:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.startswith("Success: no issues found"), proc.stdout
