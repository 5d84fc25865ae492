"""SQLite for the async engine without a thread hop per call, and one writer at a time.

aiosqlite runs every call (cursor, execute, fetch, close: four per statement) on its own thread
and wakes the event loop for each answer; on a 2-core machine that costs about 0.1 ms a call,
which is most of a webhook's time. SQLite itself answers in microseconds here (WAL, no fsync at
commit), so the statements run at once, on the event loop. The only call that may wait is the
one that takes the write lock (`BEGIN IMMEDIATE`, every transaction here begins with it): it
waits, first, for the other transactions of this process, in order (an asyncio lock, FIFO, so no
request starves behind a busy sender), then, only if another process holds the lock, on a
thread (SQLite's busy timeout), so the event loop never blocks on another process.
"""

import asyncio
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BEGIN = "BEGIN IMMEDIATE"


class WriterLock:
    """One asyncio lock per event loop: the process's turn to hold SQLite's write lock."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> asyncio.Lock:
        """The lock of the running loop."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


async def take_turn(lock: asyncio.Lock, *, timeout: float) -> None:  # noqa: ASYNC109
    """Acquire the lock in arrival order, or fail as SQLite would after `timeout` seconds.

    Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives just as the
    lock is granted (the task then runs on, holding the lock). asyncio.timeout cancels inside
    Lock.acquire, which hands the lock on when it is cancelled, so nothing leaks.
    """
    try:
        async with asyncio.timeout(timeout):  # a unit of work nested in another would wait forever
            await lock.acquire()
    except TimeoutError:
        raise sqlite3.OperationalError("database is locked (waited for this process)") from None


class InlineCursor:
    """An aiosqlite-shaped cursor whose calls complete at once."""

    def __init__(self, owner: "InlineConnection", cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> "InlineCursor":
        """Run one statement; `BEGIN IMMEDIATE` waits its turn first."""
        if sql.lstrip().upper().startswith(BEGIN):
            await self._owner.begin(self._cursor, sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> "InlineCursor":
        """Run one statement for many rows."""
        self._cursor.executemany(sql, rows)
        return self

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next rows."""
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    @property
    def description(self) -> Any:
        """Column descriptions of the last query."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row."""
        return self._cursor.lastrowid


class _RunNow:
    """Stands in for aiosqlite's job queue (SQLAlchemy queues its isolation-level change)."""

    def put_nowait(self, job: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = job
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class InlineConnection:
    """An aiosqlite-shaped connection that runs calls on the event loop (see the module)."""

    def __init__(self, conn: sqlite3.Connection, writer: WriterLock, busy_ms: int) -> None:
        self._conn = conn
        self._busy_ms = busy_ms
        self._writer = writer
        self._held: asyncio.Lock | None = None
        self._tx = _RunNow()

    async def begin(self, cursor: sqlite3.Cursor, sql: str) -> None:
        """Take this process's turn, then SQLite's write lock (waiting on a thread if busy)."""
        lock = self._writer.get()
        await take_turn(lock, timeout=self._busy_ms / 1000)
        try:
            if not self._begin_now(cursor, sql):  # another process holds it: wait off the loop
                await asyncio.to_thread(cursor.execute, sql)
        except BaseException:
            lock.release()
            raise
        self._held = lock

    def _begin_now(self, cursor: sqlite3.Cursor, sql: str) -> bool:
        """Try to take the write lock without waiting; False if another process holds it."""
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(sql)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            cursor.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        return True

    def _release(self) -> None:
        if self._held is not None and not self._conn.in_transaction:
            self._give_back()

    def _give_back(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.release()

    async def cursor(self) -> InlineCursor:
        """A new cursor."""
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        return await InlineCursor(self, self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        """Commit, and give the turn to the next transaction."""
        try:
            self._conn.commit()
        finally:
            self._release()

    async def rollback(self) -> None:
        """Roll back, and give the turn to the next transaction."""
        try:
            self._conn.rollback()
        finally:
            self._release()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        """Close the connection (a transaction still open is rolled back by SQLite)."""
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        self._conn.close()
        self._give_back()

    @property
    def isolation_level(self) -> str | None:
        """The driver's isolation level (None: we issue BEGIN ourselves)."""
        return self._conn.isolation_level


def inline_creator(database: str, *, timeout: float) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: inline connections sharing one writer lock."""
    writer = WriterLock()

    async def connect() -> InlineConnection:
        # check_same_thread off: BEGIN runs on a worker thread, everything else on the loop.
        conn = sqlite3.connect(database, timeout=timeout, check_same_thread=False)
        return InlineConnection(conn, writer, busy_ms=int(timeout * 1000))

    return connect
