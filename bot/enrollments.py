"""Who is in a workshop: inviting several people at once, marking answers and attendance by hand,
and the funnel (invited -> confirmed -> attended); changes are logged."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, programme
from bot.db import repo
from bot.db.models import Enrollment, Returnee, Workshop
from bot.programme import InvalidField

# What a caseworker may record by hand: attendance, or an answer given to them by phone.
MARKS = ("attended", "absent", "confirmed", "declined", "unsure")


@dataclass(frozen=True, slots=True)
class Funnel:
    """Invited -> confirmed -> attended, counted over enrollments.

    Everyone enrolled was invited; "confirmed" counts those whose answer is yes, including
    those later marked present (someone marked absent may or may not have confirmed first).
    """

    counts: dict[str, int]

    @property
    def invited(self) -> int:
        """Everyone enrolled."""
        return sum(self.counts.values())

    @property
    def confirmed(self) -> int:
        """Said yes (and those who came)."""
        return self.counts.get("confirmed", 0) + self.counts.get("attended", 0)

    @property
    def attended(self) -> int:
        """Came."""
        return self.counts.get("attended", 0)


async def funnels(
    db: AsyncSession, workshop_ids: list[int], *, caseworker_id: int | None = None
) -> dict[int, Funnel]:
    """Status counts per workshop, over one caseload (None: everyone)."""
    if not workshop_ids:
        return {}
    query = repo.in_caseload(
        select(Enrollment.workshop_id, Enrollment.status, func.count(Enrollment.id))
        .select_from(Returnee)
        .join(Enrollment, Enrollment.returnee_id == Returnee.id)
        .where(Enrollment.workshop_id.in_(workshop_ids))
        .group_by(Enrollment.workshop_id, Enrollment.status),
        caseworker_id,
    )
    counts: dict[int, Counter[str]] = {w: Counter() for w in workshop_ids}
    for workshop_id, status, n in (await db.execute(query)).all():
        counts[workshop_id][status] += int(n)
    return {w: Funnel(dict(c)) for w, c in counts.items()}


@dataclass
class Enrolled:
    """What a bulk enrollment did: the new enrollments, and who was already enrolled."""

    created: list[Enrollment] = field(default_factory=list)
    already: list[int] = field(default_factory=list)


async def enroll_many(
    db: AsyncSession,
    workshop: Workshop,
    returnees: Sequence[Returnee],
    *,
    actor: str,
    now: datetime,
) -> Enrolled:
    """Invite each returnee once (those already enrolled are skipped); the scheduler sends the
    invitations. A cancelled workshop takes nobody."""
    if workshop.status == "cancelled":
        raise InvalidField("workshop", "is cancelled")
    done = Enrolled()
    for returnee in {r.id: r for r in returnees}.values():
        try:
            async with db.begin_nested():
                done.created.append(await programme.enroll(db, workshop, returnee, now=now))
        except InvalidField:
            done.already.append(returnee.id)
    await audit.record(
        db,
        actor=actor,
        action="enroll",
        target=f"workshop:{workshop.id}",
        detail=f"{len(done.created)} enrolled",
        now=now,
    )
    return done


async def enrollment_of(db: AsyncSession, workshop_id: int, returnee_id: int) -> Enrollment | None:
    """A returnee's enrollment in a workshop."""
    query = select(Enrollment).where(
        Enrollment.workshop_id == workshop_id, Enrollment.returnee_id == returnee_id
    )
    return (await db.execute(query)).scalar_one_or_none()


async def mark(
    db: AsyncSession, enrollment: Enrollment, status: str, *, actor: str, now: datetime
) -> None:
    """Record attendance, or an answer given by phone; a "declined" drops what was planned."""
    if status not in MARKS:
        raise InvalidField("status", f"must be one of {', '.join(MARKS)}")
    enrollment.status, enrollment.updated_at = status, now
    if status == "declined":  # as when the returnee says no in the chat (bot.effects)
        await repo.cancel_planned(
            db, enrollment.returnee_id, reason="declined", now=now, enrollment_id=enrollment.id
        )
    await audit.record(
        db,
        actor=actor,
        action=f"mark_{status}",
        target=f"workshop:{enrollment.workshop_id}",
        detail=f"enrollment:{enrollment.id}",
        now=now,
    )
