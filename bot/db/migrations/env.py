"""Alembic environment: the URL comes from the caller (bot.db.migrate) or DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.db import models  # noqa: F401  (registers the tables)
from bot.db.base import Base
from bot.db.session import make_engine

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", "sqlite:///var/returnee-bot.db"
    )
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_online())
