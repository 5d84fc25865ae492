"""Exports for programme reporting: attendance and check-ins, CSV or Excel, optionally
pseudonymised; each export is written to the audit log; always within the caseload."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot import audit, reports
from bot.clock import utcnow
from bot.dashboard.access import NOT_FOUND, caseload_of, visible_workshops, workshop_for
from bot.dashboard.auth import current_user
from bot.dashboard.templating import page
from bot.dashboard.translation import gettext as _
from bot.db.models import User
from bot.reports import FORMATS

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
KINDS = ("attendance", "checkins")


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
        raise HTTPException(404, _(NOT_FOUND))
    pseudo = pseudo or user.role == "viewer"
    workshop = _workshop_id(workshop_param)
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        if kind == "attendance":
            if workshop is not None:
                await _visible(db, user, workshop)
            table = await reports.attendance_table(
                db, pseudo=pseudo, caseworker_id=caseload_of(user), workshop_id=workshop
            )
        else:
            table = await reports.checkins_table(db, pseudo=pseudo, caseworker_id=caseload_of(user))
        rows = table[1]
        detail = f"{kind}.{fmt} rows={len(rows)} pseudonymised={pseudo}"
        if workshop is not None and kind == "attendance":
            detail += f" workshop={workshop}"
        await audit.record(db, actor=user.email, action="export", detail=detail, now=now)
    body = reports.encode(fmt, table, title=kind)
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
        raise HTTPException(404, _(NOT_FOUND))
    return int(value)


async def _visible(db: AsyncSession, user: User, workshop_id: int) -> None:
    await workshop_for(db, user, workshop_id)
