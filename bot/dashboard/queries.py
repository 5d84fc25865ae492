"""Read models for the dashboard pages, scoped to the caseworker's caseload."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.access import scoped
from bot.db.models import Enrollment, Message, Returnee, User, Workshop


@dataclass(frozen=True, slots=True)
class ReplyRow:
    """One reply as the inbox lists it."""

    returnee_id: int
    returnee: str
    text: str
    intent: str | None
    received_at: datetime
    workshop: str | None
    enrollment_status: str | None


async def recent_replies(db: AsyncSession, user: User, *, limit: int = 100) -> list[ReplyRow]:
    """Return the latest replies with their returnee and enrollment status."""
    query = (
        scoped(select(Returnee, Message), user)
        .join(Message, Message.returnee_id == Returnee.id)
        .where(Message.direction == "in")
    )
    rows = (
        await db.execute(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
    ).all()
    enrollments = await _latest_enrollments(db, {r.id for r, _ in rows})
    out = []
    for returnee, message in rows:
        workshop, status = enrollments.get(returnee.id, (None, None))
        out.append(
            ReplyRow(
                returnee.id,
                returnee.name,
                message.text,
                message.intent,
                message.created_at,
                workshop,
                status,
            )
        )
    return out


async def _latest_enrollments(db: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    query = (
        select(Enrollment.returnee_id, Workshop.title, Enrollment.status)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .where(Enrollment.returnee_id.in_(ids))
        .order_by(Workshop.starts_at)
    )
    latest: dict[int, tuple[str, str]] = {}
    for returnee_id, title, status in (await db.execute(query)).all():
        latest.setdefault(returnee_id, (title, status))  # the earliest workshop: the next one
    return latest
