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
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Integer, LargeBinary, column, select, table, update

from bot import audit
from bot.clock import utcnow
from bot.db import crypto
from bot.db.base import Base
from bot.db.session import UnitOfWork
from bot.db.types import EncryptedText

BATCH = 200


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
    pause: float = 0.0,
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
    raw = table(table_name, column("id", Integer), column(column_name, LargeBinary))
    value = raw.c[column_name]
    seen, last_id = 0, 0
    while True:
        async with unit_of_work() as db:
            rows = (
                await db.execute(
                    select(raw.c.id, value)
                    .where(raw.c.id > last_id, value.is_not(None))
                    .order_by(raw.c.id)
                    .limit(batch)
                )
            ).all()
            for row_id, token in rows:
                new = _rotated(bytes(token), newest, report)
                if new is not None:
                    result = await db.execute(
                        update(raw).where(raw.c.id == row_id, value == token).values({value: new})
                    )
                    changed = int(getattr(result, "rowcount", 0) or 0)
                    report.rotated += changed
                    report.conflicts += 1 - changed
        seen += len(rows)
        if len(rows) < batch:
            return seen
        last_id = rows[-1][0]
        await asyncio.sleep(pause)  # let the service's own transactions in


def _rotated(token: bytes, newest: Fernet, report: RotationReport) -> bytes | None:
    """The token under the newest key, or None when it already is (or cannot be read)."""
    try:
        newest.decrypt(token)
    except InvalidToken:
        pass
    else:
        report.current += 1
        return None
    try:
        return crypto.rotate(token)
    except InvalidToken:
        report.unreadable += 1
        return None
