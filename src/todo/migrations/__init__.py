"""Run the schema migrations from code: the CLI, `todo serve` and the tests use these."""

from __future__ import annotations

import io
import sys
from typing import TextIO

from alembic import command
from alembic.config import Config

from todo.core.config import Settings


def alembic_config(settings: Settings, stdout: TextIO = sys.stdout) -> Config:
    config = Config(stdout=stdout)
    config.set_main_option("script_location", "todo:migrations")
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "-1") -> None:
    command.downgrade(alembic_config(settings), revision)


def current(settings: Settings) -> str:
    out = io.StringIO()
    command.current(alembic_config(settings, stdout=out))
    return out.getvalue().strip()


def check(settings: Settings) -> None:
    """Raise when the models and the migrations disagree."""
    command.check(alembic_config(settings, stdout=io.StringIO()))
