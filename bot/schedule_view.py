"""A returnee's schedule as people read it: local times, what happened, and why."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Returnee, ScheduledSend
from bot.programme import COUNTRIES

FORMAT = "%a %d %b %H:%M"


@dataclass(frozen=True, slots=True)
class Line:
    """One planned send."""

    due: str
    at: str
    purpose: str
    status: str
    reason: str


async def timeline(db: AsyncSession, returnee_id: int) -> list[Line] | None:
    """Return the returnee's planned sends, oldest first; None if there is no such returnee."""
    returnee = await db.get(Returnee, returnee_id)
    if returnee is None:
        return None
    zone = ZoneInfo(returnee.timezone or COUNTRIES[returnee.country])
    rows = (
        await db.execute(
            select(ScheduledSend)
            .where(ScheduledSend.returnee_id == returnee_id)
            .order_by(ScheduledSend.due_at, ScheduledSend.id)
        )
    ).scalars()
    return [
        Line(
            due=r.due_at.astimezone(zone).strftime(FORMAT),
            at=(r.decided_at if r.status == "sent" and r.decided_at else r.send_at)
            .astimezone(zone)
            .strftime(FORMAT),
            purpose=r.purpose,
            status=r.status,
            reason=r.reason or _default_reason(r),
        )
        for r in rows
    ]


def _default_reason(send: ScheduledSend) -> str:
    if send.status == "planned" and send.send_at != send.due_at:
        return "moved out of quiet hours"
    return ""
