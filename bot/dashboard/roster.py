"""Workshop read models: the roster and the funnel of the caseload, and who could still join."""

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bot.dashboard.access import scoped
from bot.dashboard.directory import fold
from bot.db.models import Enrollment, Returnee, User

CANDIDATES_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Funnel:
    """Invited -> confirmed -> attended, counted over the caseload's enrollments.

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


async def funnels(db: AsyncSession, user: User, workshop_ids: list[int]) -> dict[int, Funnel]:
    """Status counts per workshop, over the user's caseload only."""
    if not workshop_ids:
        return {}
    query = scoped(
        select(Enrollment.workshop_id, Enrollment.status, func.count(Enrollment.id))
        .select_from(Returnee)
        .join(Enrollment, Enrollment.returnee_id == Returnee.id)
        .where(Enrollment.workshop_id.in_(workshop_ids))
        .group_by(Enrollment.workshop_id, Enrollment.status),
        user,
    )
    counts: dict[int, Counter[str]] = {w: Counter() for w in workshop_ids}
    for workshop_id, status, n in (await db.execute(query)).all():
        counts[workshop_id][status] += int(n)
    return {w: Funnel(dict(c)) for w, c in counts.items()}


async def roster(
    db: AsyncSession, user: User, workshop_id: int
) -> list[tuple[Enrollment, Returnee]]:
    """The caseload's enrollments in a workshop, by name."""
    query = scoped(
        select(Enrollment, Returnee)
        .select_from(Returnee)
        .join(Enrollment, Enrollment.returnee_id == Returnee.id)
        .where(Enrollment.workshop_id == workshop_id)
        .options(defer(Returnee.phone)),
        user,
    )
    rows = [(e, r) for e, r in (await db.execute(query)).all()]
    return sorted(rows, key=lambda row: fold(row[1].name))


async def candidates(
    db: AsyncSession, user: User, workshop_id: int, *, q: str = "", country: str = ""
) -> tuple[list[Returnee], int]:
    """Caseload returnees not yet enrolled (and not opted out), by name; the first ones shown."""
    enrolled = select(Enrollment.returnee_id).where(Enrollment.workshop_id == workshop_id)
    query = (
        scoped(select(Returnee), user)
        .where(Returnee.id.not_in(enrolled), Returnee.opted_out.is_(False))
        .options(defer(Returnee.phone))
    )
    if country:
        query = query.where(Returnee.country == country)
    people = list((await db.execute(query)).scalars())
    words = fold(q).split()
    people = [p for p in people if all(w in fold(p.name) for w in words)]
    people.sort(key=lambda p: fold(p.name))
    return people[:CANDIDATES_SHOWN], len(people)
