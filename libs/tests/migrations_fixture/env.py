import sqlalchemy as sa
from eaps_kit.migrations import run_env

run_env(sa.MetaData())
