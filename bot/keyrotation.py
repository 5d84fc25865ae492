"""Key rotation: re-encrypt every encrypted column with the newest data key, while serving.

The procedure (docs/security.md): put the new key first in DATA_ENCRYPTION_KEY, restart every
process (new writes use it at once, old values still decrypt with the older keys), then run
`returnee-bot keys rotate`. It walks each encrypted column by id, a small batch per transaction,
and swaps a value only if it is still the one it read (compare-and-set), so a concurrent write is
never overwritten. Values already under the newest key are left alone, so it can be stopped and
run again. The blind index does not change: it is keyed by DATA_INDEX_KEY, or by the oldest data
key, which must be pinned as DATA_INDEX_KEY before that key leaves the ring.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Integer, LargeBinary, Select, bindparam, column, select, table, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.expression import ColumnClause, TableClause

from bot import audit
from bot.clock import utcnow
from bot.db import crypto
from bot.db.base import Base
from bot.db.session import UnitOfWork
from bot.db.types import EncryptedText

BATCH = 200
PAUSE = 0.1  # seconds between batches: longer than SQLite's busy-wait step, so waiters get in
RETRIES = 5
T = TypeVar("T")


@dataclass
class RotationReport:
    """What a rotation did: values re-encrypted, already current, unreadable, lost races."""

    rotated: int = 0
    current: int = 0
    unreadable: int = 0
    conflicts: int = 0  # changed by someone else between read and write: written with the ring
    seconds: float = 0.0
    columns: dict[str, int] = field(default_factory=dict)  # "table.column" -> values seen

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form (the CLI prints it)."""
        return {
            "rotated": self.rotated,
            "current": self.current,
            "unreadable": self.unreadable,
            "conflicts": self.conflicts,
            "seconds": round(self.seconds, 3),
            "columns": dict(self.columns),
        }


def encrypted_columns() -> list[tuple[str, str]]:
    """Every (table, column) stored with EncryptedText, found from the models."""
    return [
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, EncryptedText)
    ]


async def rotate_all(
    unit_of_work: UnitOfWork,
    *,
    newest_key: str,
    actor: str,
    batch: int = BATCH,
    pause: float = PAUSE,
) -> RotationReport:
    """Re-encrypt every encrypted value that the newest key did not make; audit the run."""
    started = time.monotonic()
    report = RotationReport()
    newest = Fernet(newest_key.encode())
    for table_name, column_name in encrypted_columns():
        seen = await _rotate_column(
            unit_of_work, table_name, column_name, newest, report, batch=batch, pause=pause
        )
        report.columns[f"{table_name}.{column_name}"] = seen
    report.seconds = time.monotonic() - started
    async with unit_of_work() as db:
        detail = (
            f"rotated={report.rotated} current={report.current} "
            f"unreadable={report.unreadable} conflicts={report.conflicts}"
        )
        await audit.record(db, actor=actor, action="keys_rotated", detail=detail, now=utcnow())
    return report


async def _rotate_column(
    unit_of_work: UnitOfWork,
    table_name: str,
    column_name: str,
    newest: Fernet,
    report: RotationReport,
    *,
    batch: int,
    pause: float,
) -> int:
    """Walk one column by id: read a batch, re-encrypt outside any transaction, write it back.

    Both transactions are short (no cryptography inside), so the service's own transactions,
    which on SQLite all wait for the one write lock, get in between the batches.
    """
    raw = table(table_name, column("id", Integer), column(column_name, LargeBinary))
    value = raw.c[column_name]
    seen, last_id = 0, 0
    while True:
        query = (
            select(raw.c.id, value)
            .where(raw.c.id > last_id, value.is_not(None))
            .order_by(raw.c.id)
            .limit(batch)
        )
        rows = await _patiently(partial(_read, unit_of_work, query))
        work = await asyncio.to_thread(_rotate_batch, rows, newest)
        report.current += work.current
        report.unreadable += work.unreadable
        if work.changes:
            changed = await _patiently(partial(_write_back, unit_of_work, raw, value, work))
            report.rotated += changed
            report.conflicts += len(work.changes) - changed
        seen += len(rows)
        if len(rows) < batch:
            return seen
        last_id = rows[-1][0]
        await asyncio.sleep(pause)  # let the service's transactions in


async def _read(unit_of_work: UnitOfWork, query: Select[Any]) -> list[tuple[int, bytes]]:
    async with unit_of_work() as db:
        return [(int(row_id), bytes(token)) for row_id, token in await db.execute(query)]


async def _write_back(
    unit_of_work: UnitOfWork, raw: TableClause, value: ColumnClause[bytes], work: "_Batch"
) -> int:
    """One statement for the batch (executemany): the write lock is held for milliseconds.

    Each row changes only if it still holds the token that was read (compare-and-set); returns
    how many did.
    """
    swap = (
        update(raw)
        .where(raw.c.id == bindparam("row_id"), value == bindparam("old"))
        .values({value: bindparam("new")})
    )
    params = [{"row_id": row_id, "old": old, "new": new} for row_id, old, new in work.changes]
    wanted = {row_id: new for row_id, _, new in work.changes}
    async with unit_of_work() as db:
        await db.execute(swap, params)
        # Count by reading back: asyncpg reports no row count for an executemany.
        now_held = await db.execute(select(raw.c.id, value).where(raw.c.id.in_(list(wanted))))
        return sum(1 for row_id, token in now_held if bytes(token) == wanted[int(row_id)])


async def _patiently(operation: Callable[[], Awaitable[T]]) -> T:
    """Retry a short transaction that could not get the database (SQLite busy past its timeout,
    a PostgreSQL connection dropped): a long maintenance job must not die of one bad moment."""
    for attempt in range(1, RETRIES + 1):
        try:
            return await operation()
        except OperationalError:
            if attempt == RETRIES:
                raise
            await asyncio.sleep(attempt)
    raise AssertionError("unreachable")


@dataclass
class _Batch:
    changes: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # id, old, new
    current: int = 0
    unreadable: int = 0


def _rotate_batch(rows: list[tuple[int, bytes]], newest: Fernet) -> _Batch:
    """Re-encrypt the tokens the newest key did not make (runs in a worker thread)."""
    work = _Batch()
    for row_id, token in rows:
        try:
            newest.decrypt(token)
        except InvalidToken:
            pass
        else:
            work.current += 1
            continue
        try:
            work.changes.append((row_id, token, crypto.rotate(token)))
        except InvalidToken:
            work.unreadable += 1
    return work
