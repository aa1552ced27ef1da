from eaps_kit.migrations import run_env

from documents.adapters.orm import metadata

run_env(metadata)
