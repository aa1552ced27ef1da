"""Checks on the repository itself: generated documentation is current, the newcomer's
contract (README's two commands, CI calling `make test`) holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_doc_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "local" / "configuration.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_gives_the_two_commands_and_ci_runs_make_test() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_service_has_the_same_layout() -> None:
    for service in ("identity", "classification", "dossier", "documents", "instruction", "notifications"):
        base = ROOT / "services" / service
        for part in ("pyproject.toml", "Dockerfile", "migrations/env.py", f"src/{service}/main.py",
                     f"src/{service}/config.py", f"src/{service}/entrypoints/api/__init__.py"):
            assert (base / part).exists(), f"{service}: {part} missing"
