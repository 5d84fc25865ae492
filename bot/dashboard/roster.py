"""Workshop read models: the roster and the funnel of the caseload, and who could still join."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bot import enrollments
from bot.dashboard.access import caseload_of, scoped
from bot.dashboard.directory import fold
from bot.db.models import Enrollment, Returnee, User
from bot.enrollments import Funnel

CANDIDATES_SHOWN = 200


async def funnels(db: AsyncSession, user: User, workshop_ids: list[int]) -> dict[int, Funnel]:
    """Status counts per workshop, over the user's caseload only."""
    return await enrollments.funnels(db, workshop_ids, caseworker_id=caseload_of(user))


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
