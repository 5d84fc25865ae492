"""SQLite runs statements on the event loop and hands out its write lock in turn, never stalling."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.db.session import make_engine, unit_of_work_factory
from bot.db.sqlite_inline import InlineConnection, take_turn


async def _table(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE events (who TEXT)"))
    await engine.dispose()


async def test_transactions_of_one_process_take_turns_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    await _table(url)
    polled: list[bool] = []  # False: SQLite said busy, so the BEGIN waited in its busy handler
    begin_now = InlineConnection._begin_now

    def recording(self: InlineConnection, cursor: sqlite3.Cursor, sql: str) -> bool:
        polled.append(begin_now(self, cursor, sql))
        return polled[-1]

    monkeypatch.setattr(InlineConnection, "_begin_now", recording)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    order: list[int] = []

    async def write(n: int) -> None:
        async with uow() as db:
            await db.execute(text("SELECT 1"))  # the transaction begins: it takes the lock
            order.append(n)
            await asyncio.sleep(0.01)  # hold the lock across an await, as a real request does
            await db.execute(text("INSERT INTO events VALUES (:w)"), {"w": str(n)})

    await asyncio.gather(*(write(n) for n in range(40)))
    async with uow() as db:
        stored = (await db.execute(text("SELECT who FROM events"))).scalars().all()
    await engine.dispose()
    assert order == list(range(40))  # first come, first served: nobody starves
    # Each one got SQLite's lock at once, when its turn came: none polled in the busy handler,
    # which sleeps up to 100 ms between tries and lets newcomers overtake (a stall under load).
    assert polled == [True] * 41
    assert stored == [str(n) for n in range(40)]


async def test_waiting_for_another_process_does_not_block_the_event_loop(tmp_path: Path) -> None:
    db_path = tmp_path / "other.db"
    url = f"sqlite:///{db_path}"
    await _table(url)
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with uow() as db:
            await db.execute(text("INSERT INTO events VALUES ('us')"))

    beat = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()  # still waiting for the lock...
    assert ticks >= 20  # ...while the loop kept serving others
    other.execute("COMMIT")
    await asyncio.wait_for(writing, timeout=10)
    beat.cancel()
    other.close()
    await engine.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.db.session.BUSY_TIMEOUT", 0.2)
    db_path = tmp_path / "held.db"
    url = f"sqlite:///{db_path}"
    await _table(url)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        async with uow() as db:
            await db.execute(text("INSERT INTO events VALUES ('late')"))
    assert time.monotonic() - started >= 0.2  # it did wait, for the timeout
    other.execute("ROLLBACK")
    async with uow() as db:  # and the next transaction gets its turn
        await db.execute(text("INSERT INTO events VALUES ('next')"))
    other.close()
    await engine.dispose()


async def test_a_transaction_opened_inside_another_fails_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.db.session.BUSY_TIMEOUT", 0.2)
    url = f"sqlite:///{tmp_path / 'nested.db'}"
    await _table(url)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    async with uow() as outer:
        await outer.execute(text("INSERT INTO events VALUES ('outer')"))
        with pytest.raises(OperationalError, match="locked"):
            async with uow() as inner:
                await inner.execute(text("INSERT INTO events VALUES ('inner')"))
    async with uow() as db:
        stored = (await db.execute(text("SELECT who FROM events"))).scalars().all()
    await engine.dispose()
    assert stored == ["outer"]


@pytest.mark.parametrize("steps", range(8))
async def test_a_transaction_cancelled_as_its_turn_comes_is_cancelled_and_leaks_no_turn(
    tmp_path: Path, steps: int
) -> None:
    url = f"sqlite:///{tmp_path / 'cancel.db'}"
    await _table(url)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    entered = asyncio.Event()

    async def waiter() -> None:
        async with uow() as db:
            await db.execute(text("SELECT 1"))
            entered.set()
            await asyncio.sleep(1)

    async with uow() as db:
        await db.execute(text("SELECT 1"))  # holds the turn
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)  # the waiter queues for its turn
    for _ in range(steps):  # the turn is handed over around now...
        await asyncio.sleep(0)
    task.cancel()  # ...and the waiter is cancelled
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)  # a cancel is never swallowed
    async with asyncio.timeout(5), uow() as db:  # and the turn was not kept by anyone
        await db.execute(text("INSERT INTO events VALUES ('after')"))
    await engine.dispose()


@pytest.mark.parametrize("steps", range(6))
async def test_a_turn_granted_as_its_waiter_is_cancelled_is_never_kept(steps: int) -> None:
    lock = asyncio.Lock()
    await lock.acquire()  # another transaction has the turn
    waiting = asyncio.create_task(take_turn(lock, timeout=5))
    await asyncio.sleep(0)  # queued
    lock.release()  # the turn is handed over...
    for _ in range(steps):
        await asyncio.sleep(0)
    if waiting.done():  # it got the turn before the cancel: it holds the lock, rightly
        assert lock.locked()
        return
    waiting.cancel()  # ...while the waiter is being cancelled
    (outcome,) = await asyncio.gather(waiting, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError), "the cancellation was swallowed"
    assert not lock.locked()  # the turn was handed on, not kept
