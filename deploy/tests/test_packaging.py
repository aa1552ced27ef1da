"""Every data file a package reads at run time (YAML rulesets, templates, static files) is in
the wheel its image installs — an editable install would hide a missing one."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {**{s: REPO / "services" / s / "src" / s for s in
               ("identity", "classification", "dossier", "documents", "instruction", "notifications")},
            "gateway": REPO / "gateway" / "src" / "gateway"}


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_wheel_carries_every_data_file(name: str, tmp_path: Path) -> None:
    src = PACKAGES[name]
    project = src.parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(project)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{name}/{p.relative_to(src).as_posix()}" for p in src.rglob("*")
                if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert expected - names == set(), f"missing from the {name} wheel: {sorted(expected - names)[:10]}"
