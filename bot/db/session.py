"""Async engine and unit of work; the URL from settings picks the async driver."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.db.sqlite_inline import inline_creator


class _NoRows(logging.Filter):
    """SQL echo may show statements (parameters hidden), never rows: they hold decrypted data."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoRows())

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
BUSY_TIMEOUT = 30.0  # seconds another process may hold SQLite's write lock before we fail


def async_url(url: str) -> str:
    """Map sqlite:/// and postgresql:// to their async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; SQLite gets WAL, a busy timeout and foreign keys."""
    aurl = async_url(url)
    parsed = make_url(aurl)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        database = parsed.database or ":memory:"
        engine = create_async_engine(
            aurl,
            async_creator=inline_creator(database, timeout=BUSY_TIMEOUT),
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        aurl, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # The driver's own BEGIN handling breaks savepoints (a RELEASE would commit), so
    # transactions are begun explicitly by _sqlite_begin.
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE: take the write lock up front, so concurrent writers wait their turn
    # (bot.db.sqlite_inline) instead of failing when a reading transaction later tries to write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def unit_of_work_factory(engine: AsyncEngine) -> UnitOfWork:
    """Return a factory of transactions: commit on success, roll back on error."""
    maker = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[AsyncSession]:
        async with maker() as session, session.begin():
            yield session

    return unit_of_work
