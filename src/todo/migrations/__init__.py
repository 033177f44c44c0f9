"""Run the schema migrations from code: the CLI, `todo serve` and the tests use these."""

from __future__ import annotations

import io
import sqlite3
import sys
from typing import TYPE_CHECKING, TextIO

from todo.core.config import Settings

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision, written down so that `todo serve` can see an up-to-date SQLite file
# without importing Alembic and loading every migration script (about half a second of each
# start-up). A test fails when a new migration is added and this is not moved along.
HEAD = "0019_ical"


def alembic_config(settings: Settings, stdout: TextIO = sys.stdout) -> Config:
    from alembic.config import Config

    config = Config(stdout=stdout)
    config.set_main_option("script_location", "todo:migrations")
    config.attributes["settings"] = settings
    return config


def sqlite_at_head(settings: Settings) -> bool:
    """Whether an embedded SQLite database already stands at HEAD (read without Alembic)."""
    path = settings.database.sqlite_path
    if path is None or not path.exists():
        return False
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return rows == [(HEAD,)]


async def revision(settings: Settings) -> str | None:
    """The revision the database stands at, None when it has no schema (read without Alembic)."""
    from sqlalchemy import inspect, text

    from todo.core.db import create_engine

    engine = create_engine(settings, for_migrations=True)
    try:
        async with engine.connect() as connection:
            exists = await connection.run_sync(
                lambda sync: inspect(sync).has_table("alembic_version")
            )
            if not exists:
                return None
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar_one_or_none()
    finally:
        await engine.dispose()


def is_known(settings: Settings, at: str) -> bool:
    """Whether `at` is one of this version's revisions (not one from a newer todo)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(settings))
    return any(script.revision == at for script in scripts.walk_revisions())


def schema_problem(settings: Settings, at: str | None) -> str | None:
    """What is wrong with a database schema standing at revision `at`, in one line."""
    if at == HEAD:
        return None
    if at is None:
        return "the database has no schema yet: run `todo db upgrade` first"
    if is_known(settings, at):
        return f"the database schema is at revision {at}, behind {HEAD}: run `todo db upgrade`"
    return (
        f"the database schema is at revision {at}, which this version of todo does not "
        f"know (it needs {HEAD}): was it upgraded by a newer todo?"
    )


def upgrade(settings: Settings, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "-1") -> None:
    from alembic import command

    command.downgrade(alembic_config(settings), revision)


def current(settings: Settings) -> str:
    from alembic import command

    out = io.StringIO()
    command.current(alembic_config(settings, stdout=out))
    return out.getvalue().strip()


def check(settings: Settings) -> None:
    """Raise when the models and the migrations disagree."""
    from alembic import command

    command.check(alembic_config(settings, stdout=io.StringIO()))
