from eaps_kit.migrations import run_env

from dossier.adapters.orm import metadata

run_env(metadata)
