"""Exports for programme reporting: attendance and check-ins, CSV or Excel, optionally
pseudonymised; each export is written to the audit log; always within the caseload."""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot import audit
from bot.clock import utcnow
from bot.dashboard.access import scoped, visible_workshops, workshop_for
from bot.dashboard.auth import current_user
from bot.dashboard.sheets import Cell, to_csv, to_xlsx
from bot.dashboard.templating import page
from bot.db.crypto import blind_index
from bot.db.models import Checkin, Enrollment, Returnee, User, Workshop

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
KINDS = ("attendance", "checkins")
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
    db: AsyncSession, user: User, *, pseudo: bool, workshop_id: int | None = None
) -> Table:
    """One line per enrollment: who, which workshop, their answer or attendance, their rating."""
    query = (
        select(Enrollment, Returnee, Workshop)
        .select_from(Returnee)
        .join(Enrollment, Enrollment.returnee_id == Returnee.id)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .order_by(Workshop.starts_at, Workshop.id, Returnee.id)
    )
    query = scoped(query, user)
    if workshop_id is not None:
        query = query.where(Workshop.id == workshop_id)
    header = [*_who_header(pseudo), "workshop_id", "workshop", "starts_at", "status", "rating"]
    rows: list[list[Cell]] = []
    for e, r, w in (await db.execute(query)).all():
        line = [*_who(r, pseudo), w.id, w.title, w.starts_at.isoformat(), e.status, e.rating]
        rows.append([*line, e.feedback] if not pseudo else line)
    return (header if pseudo else [*header, "feedback"]), rows


async def checkins_table(db: AsyncSession, user: User, *, pseudo: bool) -> Table:
    """One line per wellbeing check-in: who, when, the score (and their words, by name only)."""
    query = scoped(
        select(Checkin, Returnee)
        .select_from(Returnee)
        .join(Checkin, Checkin.returnee_id == Returnee.id)
        .order_by(Checkin.created_at, Checkin.id),
        user,
    )
    header = [*_who_header(pseudo), "created_at", "score"]
    rows: list[list[Cell]] = []
    for c, r in (await db.execute(query)).all():
        line = [*_who(r, pseudo), c.created_at.isoformat(), c.score]
        rows.append([*line, c.comment] if not pseudo else line)
    return (header if pseudo else [*header, "comment"]), rows


@router.get("/exports")
async def exports_page(request: Request, user: CurrentUser) -> Response:
    """Choose what to export."""
    async with request.app.state.services.unit_of_work() as db:
        workshops = list((await db.execute(visible_workshops(user))).scalars())
    return page(request, "exports.html", workshops=workshops, forced=user.role == "viewer")


@router.get("/exports/{kind}.{fmt}")
async def download(
    request: Request,
    kind: str,
    fmt: str,
    user: CurrentUser,
    pseudo: bool = False,
    workshop_param: Annotated[str, Query(alias="workshop")] = "",
) -> Response:
    """The file itself; viewers only ever get pseudonymised data."""
    if kind not in KINDS or fmt not in FORMATS:
        raise HTTPException(404, "Introuvable.")
    pseudo = pseudo or user.role == "viewer"
    workshop = _workshop_id(workshop_param)
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        if kind == "attendance":
            if workshop is not None:
                await _visible(db, user, workshop)
            header, rows = await attendance_table(db, user, pseudo=pseudo, workshop_id=workshop)
        else:
            header, rows = await checkins_table(db, user, pseudo=pseudo)
        detail = f"{kind}.{fmt} rows={len(rows)} pseudonymised={pseudo}"
        if workshop is not None and kind == "attendance":
            detail += f" workshop={workshop}"
        await audit.record(db, actor=user.email, action="export", detail=detail, now=now)
    body = _encode(fmt, header, rows, kind)
    name = f"{kind}{'-pseudo' if pseudo else ''}-{now:%Y%m%d}.{fmt}"
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


def _workshop_id(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise HTTPException(404, "Introuvable.")
    return int(value)


async def _visible(db: AsyncSession, user: User, workshop_id: int) -> None:
    await workshop_for(db, user, workshop_id)


def _encode(fmt: str, header: Sequence[str], rows: Sequence[Sequence[Cell]], kind: str) -> bytes:
    return to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, title=kind)
