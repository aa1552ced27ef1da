from documents.adapters.orm import metadata
from eaps_kit.migrations import run_env

run_env(metadata)
