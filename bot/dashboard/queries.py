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
    upcoming = await _next_enrollments(db, unrelated, now=now)
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


async def _next_enrollments(
    db: AsyncSession, ids: set[int], *, now: datetime
) -> dict[int, tuple[str, str]]:
    """Per returnee, the soonest workshop not over, else the last (as repo.next_enrollment)."""
    if not ids:
        return {}
    query = (
        select(Enrollment.returnee_id, Workshop.title, Enrollment.status, Workshop.ends_at)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .where(Enrollment.returnee_id.in_(ids))
        .order_by(Workshop.starts_at)
    )
    chosen: dict[int, tuple[str, str]] = {}
    settled: set[int] = set()
    for returnee_id, title, status, ends_at in (await db.execute(query)).all():
        if returnee_id not in settled:
            chosen[returnee_id] = (title, status)  # the last one so far, kept if none is ahead
            if ends_at >= now:
                settled.add(returnee_id)
    return chosen
