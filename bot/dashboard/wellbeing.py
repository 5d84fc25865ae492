"""Wellbeing across the caseload: scores per week as stacked bars, and who scored low lately."""

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot.clock import utcnow
from bot.dashboard.access import scoped
from bot.dashboard.auth import current_user
from bot.dashboard.charts import monday_of, weekly_bars
from bot.dashboard.templating import page
from bot.db.models import Checkin, Returnee, User

router = APIRouter()
LOW = 2  # a latest score at or under this is listed
RECENT = timedelta(days=30)


async def low_scores(
    db: AsyncSession, user: User, *, since: datetime
) -> list[tuple[Returnee, Checkin]]:
    """People whose latest check-in since `since` is low, lowest and oldest first."""
    latest = (
        select(Checkin.returnee_id, func.max(Checkin.id).label("last_id"))
        .where(Checkin.created_at >= since)
        .group_by(Checkin.returnee_id)
        .subquery()
    )
    query = (
        scoped(select(Returnee, Checkin), user)
        .join(latest, latest.c.returnee_id == Returnee.id)
        .join(Checkin, Checkin.id == latest.c.last_id)
        .where(Checkin.score <= LOW)
        .order_by(Checkin.score, Checkin.created_at)
    )
    return [(r, c) for r, c in (await db.execute(query)).all()]


@router.get("/wellbeing")
async def wellbeing(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    weeks: Annotated[int, Query(ge=4, le=52)] = 12,
) -> Response:
    """The distribution of the caseload's scores, week by week."""
    now = utcnow()
    last_monday = monday_of(now.date())
    start = datetime.combine(last_monday - timedelta(weeks=weeks - 1), time(), now.tzinfo)
    async with request.app.state.services.unit_of_work() as db:
        query = scoped(
            select(Checkin.created_at, Checkin.score)
            .select_from(Returnee)
            .join(Checkin, Checkin.returnee_id == Returnee.id)
            .where(Checkin.created_at >= start),
            user,
        )
        scores = [(at.date(), score) for at, score in (await db.execute(query)).all()]
        low = await low_scores(db, user, since=now - RECENT)
    chart = weekly_bars(scores, last_monday=last_monday, weeks=weeks)
    return page(request, "wellbeing.html", chart=chart, low=low, weeks=weeks, total=len(scores))
