from eaps_kit.migrations import run_env

from classification.adapters.orm import metadata

run_env(metadata)
