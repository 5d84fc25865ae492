"""Retention: free text older than RETENTION_DAYS is erased; the facts around it stay.

Message texts become empty (direction, channel, status, purpose, intent and times are kept for the
programme's figures); check-in comments and workshop feedback become NULL. The scores, the
enrollment statuses and the consent ledger are coded data and stay. Running it again changes
nothing more: the report of a second run at the same `now` is all zeros.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.db.models import Checkin, Enrollment, Message
from bot.db.session import UnitOfWork

BATCH = 500


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run did: its cutoff and how many texts it erased, per kind."""

    cutoff: datetime
    messages: int
    checkin_comments: int
    enrollment_feedback: int

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form (the CLI prints it)."""
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}


def cutoff_for(now: datetime, days: int) -> datetime:
    """The instant before which free text is erased."""
    return now - timedelta(days=days)


async def run(
    unit_of_work: UnitOfWork, *, days: int, now: datetime, actor: str, batch: int = BATCH
) -> RetentionReport:
    """Erase old free text in short transactions (the service keeps answering), then audit."""
    cutoff = cutoff_for(now, days)
    messages = await _erase_messages(unit_of_work, cutoff, batch)
    async with unit_of_work() as db:
        await _secure_delete(db)
        comments = await db.execute(
            update(Checkin)
            .where(Checkin.created_at < cutoff, Checkin.comment.is_not(None))
            .values(comment=None)
        )
        feedback = await db.execute(
            update(Enrollment)
            .where(Enrollment.updated_at < cutoff, Enrollment.feedback.is_not(None))
            .values(feedback=None)
        )
        report = RetentionReport(cutoff, messages, _rowcount(comments), _rowcount(feedback))
        await audit.record(
            db,
            actor=actor,
            action="retention_run",
            detail=" ".join(f"{k}={v}" for k, v in report.as_dict().items()),
            now=now,
        )
    return report


async def _erase_messages(unit_of_work: UnitOfWork, cutoff: datetime, batch: int) -> int:
    """Blank the text of messages created before the cutoff, a batch per transaction."""
    erased, last_id = 0, 0
    while True:
        async with unit_of_work() as db:
            await _secure_delete(db)
            query = (
                select(Message)
                .where(Message.created_at < cutoff, Message.id > last_id)
                .order_by(Message.id)
                .limit(batch)
            )
            rows = list((await db.execute(query)).scalars())
            for message in rows:
                if message.text:
                    message.text = ""
                    erased += 1
        if len(rows) < batch:
            return erased
        last_id = rows[-1].id


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _secure_delete(db: AsyncSession) -> None:
    """On SQLite, overwrite replaced content with zeros instead of leaving it in free pages."""
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(text("PRAGMA secure_delete = ON"))
