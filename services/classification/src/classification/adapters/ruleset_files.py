"""Reading ruleset versions from YAML directories.

A version is a directory holding ``ruleset.yaml`` (version, effective date, title, optional
``extends``) and the data files. A directory that ``extends`` another inherits every file it
does not provide itself (file-level override), so a change of the law is a small new directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from classification.domain.reference import Reference
from classification.domain.ruleset import Ruleset, RulesetHeader

PACKAGED_RULESETS = Path(__file__).resolve().parents[1] / "rulesets"
HEADER_FILE = "ruleset.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~40 times faster


class RulesetFileError(ValueError):
    pass


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        raise RulesetFileError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RulesetFileError(f"{path}: a mapping is expected at the top level")
    return data


def _collect_files(directory: Path, root: Path, seen: tuple[str, ...] = ()) -> dict[str, Path]:
    header = RulesetHeader.model_validate(_read_yaml(directory / HEADER_FILE))
    files: dict[str, Path] = {}
    if header.extends:
        if header.extends in seen:
            raise RulesetFileError(f"{directory}: circular 'extends' through {header.extends}")
        base = root / header.extends
        if not (base / HEADER_FILE).is_file():
            raise RulesetFileError(f"{directory}: extends unknown version directory {header.extends}")
        files.update(_collect_files(base, root, (*seen, directory.name)))
    for path in sorted(directory.glob("*.yaml")):
        if path.name != HEADER_FILE:
            files[path.name] = path
    return files


def load_directory(directory: Path) -> Reference:
    """Load and validate one version directory (raises RulesetFileError or pydantic ValidationError)."""
    directory = Path(directory)
    if not (directory / HEADER_FILE).is_file():
        raise RulesetFileError(f"{directory}: no {HEADER_FILE}")
    header = _read_yaml(directory / HEADER_FILE)
    merged: dict[str, Any] = {k: v for k, v in header.items() if k != "extends"}
    for path in _collect_files(directory, directory.parent).values():
        for key, value in _read_yaml(path).items():
            if key in merged:
                raise RulesetFileError(f"{path}: key {key!r} is defined in two files")
            merged[key] = value
    return Reference.build(Ruleset.model_validate(merged))


def load_all(roots: list[Path]) -> list[Reference]:
    refs: list[Reference] = []
    for root in roots:
        if not root.is_dir():
            raise RulesetFileError(f"{root}: rulesets directory not found")
        for directory in sorted(p for p in root.iterdir() if (p / HEADER_FILE).is_file()):
            refs.append(load_directory(directory))
    return refs
