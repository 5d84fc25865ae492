"""Programme reporting: attendance and check-in tables (optionally pseudonymised), and the
weekly distribution of wellbeing scores; always over one caseload, or everyone's."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.crypto import blind_index
from bot.db.models import Checkin, Enrollment, Returnee, Workshop
from bot.db.repo import in_caseload
from bot.sheets import Cell, to_csv, to_xlsx

SCORES = (1, 2, 3, 4, 5)
LOW = 2  # a latest score at or under this is listed as low
RECENT = timedelta(days=30)  # how far back a low score is still news
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Table = tuple[list[str], list[list[Cell]]]


def pseudonym(returnee_id: int) -> str:
    """A stable keyed pseudonym: the same person gets the same one in every export."""
    return blind_index(f"pseudo:{returnee_id}")[:10]


def _who(r: Returnee, pseudo: bool) -> list[Cell]:
    if pseudo:
        return [pseudonym(r.id), r.country, r.language]
    return [r.name, r.phone, r.country, r.language]


def _who_header(pseudo: bool) -> list[str]:
    return ["pseudonym", "country", "language"] if pseudo else [
        "name", "phone", "country", "language",
    ]  # fmt: skip


async def attendance_table(
    db: AsyncSession,
    *,
    pseudo: bool,
    caseworker_id: int | None = None,
    workshop_id: int | None = None,
) -> Table:
    """One line per enrollment: who, which workshop, their answer or attendance, their rating."""
    query = (
        select(Enrollment, Returnee, Workshop)
        .select_from(Returnee)
        .join(Enrollment, Enrollment.returnee_id == Returnee.id)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .order_by(Workshop.starts_at, Workshop.id, Returnee.id)
    )
    query = in_caseload(query, caseworker_id)
    if workshop_id is not None:
        query = query.where(Workshop.id == workshop_id)
    header = [*_who_header(pseudo), "workshop_id", "workshop", "starts_at", "status", "rating"]
    rows: list[list[Cell]] = []
    for e, r, w in (await db.execute(query)).all():
        line = [*_who(r, pseudo), w.id, w.title, w.starts_at.isoformat(), e.status, e.rating]
        rows.append([*line, e.feedback] if not pseudo else line)
    return (header if pseudo else [*header, "feedback"]), rows


async def checkins_table(
    db: AsyncSession, *, pseudo: bool, caseworker_id: int | None = None
) -> Table:
    """One line per wellbeing check-in: who, when, the score (and their words, by name only)."""
    query = in_caseload(
        select(Checkin, Returnee)
        .select_from(Returnee)
        .join(Checkin, Checkin.returnee_id == Returnee.id)
        .order_by(Checkin.created_at, Checkin.id),
        caseworker_id,
    )
    header = [*_who_header(pseudo), "created_at", "score"]
    rows: list[list[Cell]] = []
    for c, r in (await db.execute(query)).all():
        line = [*_who(r, pseudo), c.created_at.isoformat(), c.score]
        rows.append([*line, c.comment] if not pseudo else line)
    return (header if pseudo else [*header, "comment"]), rows


def encode(fmt: str, table: Table, *, title: str) -> bytes:
    """A table as a .csv or .xlsx file."""
    header, rows = table
    return to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, title=title)


def monday_of(day: date) -> date:
    """The Monday that starts a day's week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """How many check-ins of each score (1-5) in the week starting `monday`."""

    monday: date
    counts: dict[int, int]


def weekly_counts(
    scores: Iterable[tuple[date, int]], *, last_monday: date, weeks: int
) -> list[WeekCounts]:
    """Count scores per week for the `weeks` weeks ending with `last_monday`'s, oldest first."""
    mondays = [last_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = {m: dict.fromkeys(SCORES, 0) for m in mondays}
    for day, score in scores:
        week = counts.get(monday_of(day))
        if week is not None and score in week:
            week[score] += 1
    return [WeekCounts(m, counts[m]) for m in mondays]


async def scores_since(
    db: AsyncSession, since: datetime, *, caseworker_id: int | None = None
) -> list[tuple[date, int]]:
    """The (day, score) of every check-in since a time, in one caseload (None: everyone)."""
    query = in_caseload(
        select(Checkin.created_at, Checkin.score)
        .select_from(Returnee)
        .join(Checkin, Checkin.returnee_id == Returnee.id)
        .where(Checkin.created_at >= since),
        caseworker_id,
    )
    return [(at.date(), score) for at, score in (await db.execute(query)).all()]


async def low_scores(
    db: AsyncSession, *, since: datetime, caseworker_id: int | None = None
) -> list[tuple[Returnee, Checkin]]:
    """People whose latest check-in since `since` is low, lowest and oldest first."""
    latest = (
        select(Checkin.returnee_id, func.max(Checkin.id).label("last_id"))
        .where(Checkin.created_at >= since)
        .group_by(Checkin.returnee_id)
        .subquery()
    )
    query = (
        in_caseload(select(Returnee, Checkin), caseworker_id)
        .join(latest, latest.c.returnee_id == Returnee.id)
        .join(Checkin, Checkin.id == latest.c.last_id)
        .where(Checkin.score <= LOW)
        .order_by(Checkin.score, Checkin.created_at)
    )
    return [(r, c) for r, c in (await db.execute(query)).all()]
