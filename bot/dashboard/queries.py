"""Read models for the dashboard pages, scoped to the caseworker's caseload."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.access import scoped
from bot.db import repo
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


async def recent_replies(
    db: AsyncSession, user: User, *, now: datetime, limit: int = 100
) -> list[ReplyRow]:
    """Return the latest replies, each with the workshop it answered (else the next one)."""
    query = (
        scoped(select(Returnee, Message), user)
        .join(Message, Message.returnee_id == Returnee.id)
        .where(Message.direction == "in")
    )
    rows = (
        await db.execute(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
    ).all()
    answered = await _enrollments(db, {m.enrollment_id for _, m in rows if m.enrollment_id})
    unrelated = {r.id for r, m in rows if m.enrollment_id not in answered}
    upcoming = {
        rid: (workshop.title, enrollment.status)
        for rid, (enrollment, workshop) in (
            await repo.next_enrollments(db, unrelated, now=now)
        ).items()
    }
    out = []
    for returnee, message in rows:
        about = answered.get(message.enrollment_id) or upcoming.get(returnee.id)
        workshop, status = about if about else (None, None)
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


async def _enrollments(db: AsyncSession, ids: set[int]) -> dict[int | None, tuple[str, str]]:
    """Workshop title and status of each enrollment."""
    if not ids:
        return {}
    query = (
        select(Enrollment.id, Workshop.title, Enrollment.status)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .where(Enrollment.id.in_(ids))
    )
    return {id_: (title, status) for id_, title, status in (await db.execute(query)).all()}
