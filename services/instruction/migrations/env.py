from eaps_kit.migrations import run_env
from instruction.adapters.orm import metadata

run_env(metadata)
