"""JSON API: exports for programme reporting (CSV or Excel) and the wellbeing distribution."""

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from bot import reports
from bot.api import schemas as s
from bot.api.deps import MAX_ID, Db, log, workshop_or_404
from bot.clock import utcnow

router = APIRouter()
Format = Literal["csv", "xlsx"]
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {media: {} for media in reports.FORMATS.values()},
        "description": "the file; `pseudonymised` replaces names and numbers with a keyed "
        "pseudonym and leaves out free text",
    }
}


def _file(kind: str, fmt: str, table: reports.Table, *, pseudo: bool) -> Response:
    name = f"{kind}{'-pseudo' if pseudo else ''}-{utcnow():%Y%m%d}.{fmt}"
    return Response(
        reports.encode(fmt, table, title=kind),
        media_type=reports.FORMATS[fmt],
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


@router.get("/exports/attendance.{fmt}", response_class=Response, responses=FILE)
async def export_attendance(
    fmt: Format,
    db: Db,
    pseudonymised: bool = False,
    workshop_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """One line per enrollment: who, which workshop, their answer or attendance, their rating."""
    if workshop_id is not None:
        await workshop_or_404(db, workshop_id)
    table = await reports.attendance_table(db, pseudo=pseudonymised, workshop_id=workshop_id)
    detail = f"attendance.{fmt} rows={len(table[1])} pseudonymised={pseudonymised}"
    await log(db, "export", None, detail + (f" workshop={workshop_id}" if workshop_id else ""))
    return _file("attendance", fmt, table, pseudo=pseudonymised)


@router.get("/exports/checkins.{fmt}", response_class=Response, responses=FILE)
async def export_checkins(fmt: Format, db: Db, pseudonymised: bool = False) -> Response:
    """One line per wellbeing check-in: who, when, the score (and their words, by name only)."""
    table = await reports.checkins_table(db, pseudo=pseudonymised)
    await log(
        db, "export", None, f"checkins.{fmt} rows={len(table[1])} pseudonymised={pseudonymised}"
    )
    return _file("checkins", fmt, table, pseudo=pseudonymised)


@router.get("/wellbeing")
async def wellbeing(db: Db, weeks: Annotated[int, Query(ge=1, le=52)] = 12) -> s.WellbeingOut:
    """Wellbeing scores (1-5) of every returnee, counted week by week (Monday first, UTC), and
    who scored low (2 or less) in their latest check-in of the last 30 days."""
    now = utcnow()
    last_monday = reports.monday_of(now.date())
    start = datetime.combine(last_monday - timedelta(weeks=weeks - 1), time(), now.tzinfo)
    scores = await reports.scores_since(db, start)
    low = await reports.low_scores(db, since=now - reports.RECENT)
    await log(db, "view_wellbeing", None, f"low={len(low)}")
    return s.WellbeingOut(
        weeks=[
            s.WellbeingWeek(
                week_of=w.monday,
                counts={str(k): n for k, n in w.counts.items()},
                total=sum(w.counts.values()),
            )
            for w in reports.weekly_counts(scores, last_monday=last_monday, weeks=weeks)
        ],
        total=len(scores),
        low=[s.LowScore(returnee_id=r.id, score=c.score, created_at=c.created_at) for r, c in low],
    )
