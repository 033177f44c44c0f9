from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from tests.conftest import NewDatabase, make_settings
from todo import migrations
from todo.core.config import Settings
from todo.core.db import create_engine


async def _tables(settings: Settings) -> set[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_and_models_agree(new_database: NewDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(new_database.url(), tmp_path)
    migrations.upgrade(settings)
    assert asyncio.run(_tables(settings)) == {"users", "tasks"}
    migrations.check(settings)
    migrations.downgrade(settings, "base")
    assert asyncio.run(_tables(settings)) == set()
    migrations.upgrade(settings)
    assert asyncio.run(_tables(settings)) == {"users", "tasks"}
    assert "(head)" in migrations.current(settings)
