"""The inbox: open alerts, the most urgent and the longest waiting first; assign, note, resolve."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from bot import alerts
from bot.clock import utcnow
from bot.dashboard.access import alert_for, check_form, scoped
from bot.dashboard.auth import current_user
from bot.dashboard.labels import ALERT_RANK
from bot.dashboard.templating import page
from bot.db.models import Alert, Returnee, User

router = APIRouter()
PAGE = 100
VIEWS = ("all", "mine", "free")
RANK = case(ALERT_RANK, value=Alert.kind, else_=Alert.priority)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert with the person it is about and who handles it."""

    alert: Alert
    returnee: Returnee
    rank: int
    assignee: str | None


async def open_alerts(
    db: AsyncSession, user: User, *, view: str = "all", offset: int = 0, limit: int = PAGE
) -> tuple[list[AlertRow], int]:
    """Open alerts in the caseload, by priority then age, and how many there are in all."""
    query = scoped(
        select(Alert, Returnee, RANK)
        .select_from(Returnee)
        .join(Alert, Alert.returnee_id == Returnee.id)
        .where(Alert.status == "open"),
        user,
    )
    if view == "mine":
        query = query.where(Alert.assigned_to == user.id)
    elif view == "free":
        query = query.where(Alert.assigned_to.is_(None))
    counted = query.with_only_columns(func.count(Alert.id), maintain_column_froms=True)
    total = (await db.execute(counted)).scalar_one()
    rows = (
        await db.execute(
            query.order_by(RANK, Alert.created_at, Alert.id).offset(offset).limit(limit)
        )
    ).all()
    names = await user_names(db, {a.assigned_to for a, _, _ in rows if a.assigned_to})
    return [AlertRow(a, r, rank, names.get(a.assigned_to or 0)) for a, r, rank in rows], total


async def alerts_of(db: AsyncSession, returnee_id: int) -> list[AlertRow]:
    """A returnee's alerts, open ones first (for the timeline)."""
    rows = (
        await db.execute(
            select(Alert, Returnee, RANK)
            .join(Returnee, Returnee.id == Alert.returnee_id)
            .where(Alert.returnee_id == returnee_id)
            .order_by(Alert.status != "open", RANK, Alert.created_at.desc())
        )
    ).all()
    names = await user_names(db, {a.assigned_to for a, _, _ in rows if a.assigned_to})
    return [AlertRow(a, r, rank, names.get(a.assigned_to or 0)) for a, r, rank in rows]


async def user_names(db: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    """Display names of accounts by id."""
    if not ids:
        return {}
    rows = await db.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {uid: name or email for uid, name, email in rows.all()}


@router.get("/inbox")
async def inbox(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    view: str = "all",
    number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    """The open alerts of the caseload, most urgent first, with how long each has waited."""
    view = view if view in VIEWS else "all"
    async with request.app.state.services.unit_of_work() as db:
        rows, total = await open_alerts(db, user, view=view, offset=(number - 1) * PAGE)
    return page(
        request,
        "inbox.html",
        rows=rows,
        total=total,
        view=view,
        page_no=number,
        pages=max(1, -(-total // PAGE)),
        now=utcnow(),
    )


def _back(alert: Alert, back: str) -> RedirectResponse:
    target = f"/returnees/{alert.returnee_id}#alertes" if back == "timeline" else "/inbox"
    return RedirectResponse(target, status_code=303)


async def _act(request: Request, user: User, alert_id: int, csrf: str, action: str) -> Alert:
    """Check the form and the caseload, then change one alert and log who did it."""
    check_form(request, user, csrf)
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        alert, _ = await alert_for(db, user, alert_id)
        await alerts.act(db, alert, action, actor=user.email, now=now, assignee_id=user.id)
    return alert


@router.post("/alerts/{alert_id:int}/assign")
async def assign(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(current_user)],
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "inbox",
) -> Response:
    """Take the alert: automated messages to the person pause until it is resolved."""
    return _back(await _act(request, user, alert_id, csrf, "assign"), back)


@router.post("/alerts/{alert_id:int}/release")
async def release(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(current_user)],
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "inbox",
) -> Response:
    """Give the alert back to the team."""
    return _back(await _act(request, user, alert_id, csrf, "release"), back)


@router.post("/alerts/{alert_id:int}/resolve")
async def resolve(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(current_user)],
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "inbox",
) -> Response:
    """Close the alert; automated messages resume."""
    return _back(await _act(request, user, alert_id, csrf, "resolve"), back)


@router.post("/alerts/{alert_id:int}/note")
async def note(
    request: Request,
    alert_id: int,
    user: Annotated[User, Depends(current_user)],
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "inbox",
) -> Response:
    """Add a dated, signed line to the alert's note (encrypted at rest)."""
    check_form(request, user, csrf)
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        alert, _ = await alert_for(db, user, alert_id)
        author = user.name or user.email
        await alerts.add_note(db, alert, text, author=author, actor=user.email, now=now)
    return _back(alert, back)
