"""Wellbeing across the caseload: scores per week as stacked bars, and who scored low lately."""

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from bot import reports
from bot.clock import utcnow
from bot.dashboard.access import caseload_of
from bot.dashboard.auth import current_user
from bot.dashboard.charts import weekly_bars
from bot.dashboard.templating import page
from bot.db.models import User

router = APIRouter()


@router.get("/wellbeing")
async def wellbeing(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    weeks: Annotated[int, Query(ge=4, le=52)] = 12,
) -> Response:
    """The distribution of the caseload's scores, week by week."""
    now = utcnow()
    last_monday = reports.monday_of(now.date())
    start = datetime.combine(last_monday - timedelta(weeks=weeks - 1), time(), now.tzinfo)
    async with request.app.state.services.unit_of_work() as db:
        mine = caseload_of(user)
        scores = await reports.scores_since(db, start, caseworker_id=mine)
        low = await reports.low_scores(db, since=now - reports.RECENT, caseworker_id=mine)
    chart = weekly_bars(scores, last_monday=last_monday, weeks=weeks)
    return page(request, "wellbeing.html", chart=chart, low=low, weeks=weeks, total=len(scores))
