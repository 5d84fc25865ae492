"""JSON API: alerts, and what a caseworker does with them (assign, note, resolve)."""

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import alerts, programme
from bot.api import schemas as s
from bot.api.deps import MAX_ID, ROW_MAX_ID, Db, Id, actor, alert_or_404, log, unprocessable
from bot.clock import utcnow
from bot.db.models import Alert, User
from bot.programme import InvalidField

router = APIRouter()
UNASSIGNED = "none"  # the assignee filter's value for alerts nobody has taken


async def _emails(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {uid: email for uid, email in rows.all()}


def _out(alert: Alert, emails: dict[int, str]) -> s.AlertOut:
    out = s.AlertOut.model_validate(alert, from_attributes=True)
    out.assignee = emails.get(alert.assigned_to or 0)
    return out


async def _detail(db: AsyncSession, alert: Alert) -> s.AlertDetail:
    out = _out(alert, await _emails(db, [alert.assigned_to]))
    return s.AlertDetail(**out.model_dump(), notes=alerts.note_lines(alert))


@router.get("/alerts")
async def list_alerts(
    db: Db,
    status: str | None = None,
    kind: str | None = None,
    returnee_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    assignee: Annotated[str | None, Query(max_length=254)] = None,
) -> list[s.AlertOut]:
    """Alerts, most urgent first; `assignee` is an email, or "none" for alerts nobody took."""
    query = select(Alert).order_by(Alert.priority, Alert.created_at)
    if status:
        query = query.where(Alert.status == status)
    if kind:
        query = query.where(Alert.kind == kind)
    if returnee_id is not None:
        if returnee_id > ROW_MAX_ID:  # no such row; and PostgreSQL refuses the comparison
            return []
        query = query.where(Alert.returnee_id == returnee_id)
    if assignee == UNASSIGNED:
        query = query.where(Alert.assigned_to.is_(None))
    elif assignee:
        query = query.join(User, User.id == Alert.assigned_to).where(
            User.email == assignee.strip().lower()
        )
    rows = list((await db.execute(query)).scalars())
    emails = await _emails(db, (a.assigned_to for a in rows))
    return [_out(a, emails) for a in rows]


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: Id, db: Db) -> s.AlertDetail:
    """One alert with its note (the note is personal data: the view is logged)."""
    alert = await alert_or_404(db, alert_id)
    await log(db, "view_alert", f"alert:{alert.id}")
    return await _detail(db, alert)


@router.post("/alerts/{alert_id}/assign")
async def assign(alert_id: Id, body: s.AlertAssign, db: Db) -> s.AlertDetail:
    """Give the alert to a caseworker (automated messages to the person pause until it is
    resolved), or back to the team with null. 409 when the alert is closed."""
    alert = await alert_or_404(db, alert_id)
    try:
        account = await programme.caseworker_account(db, body.caseworker)
    except InvalidField as error:
        raise unprocessable(error) from None
    action = "assign" if account is not None else "release"
    assignee = account.id if account is not None else None
    if not await alerts.act(db, alert, action, actor=actor(db), now=utcnow(), assignee_id=assignee):
        raise HTTPException(409, f"alert {alert_id} is {alert.status}")
    return await _detail(db, alert)


@router.post("/alerts/{alert_id}/notes", status_code=201)
async def add_note(alert_id: Id, body: s.NoteIn, db: Db) -> s.AlertDetail:
    """Add a dated line, signed with the token's name, to the alert's note."""
    alert = await alert_or_404(db, alert_id)
    if not body.text.strip():
        raise unprocessable(InvalidField("text", "must not be empty"))
    await alerts.add_note(db, alert, body.text, author=actor(db), actor=actor(db), now=utcnow())
    return await _detail(db, alert)


@router.post("/alerts/{alert_id}/resolve")
async def resolve(alert_id: Id, db: Db, body: s.ResolveIn | None = None) -> s.AlertDetail:
    """Close the alert, with a last note if given; automated messages resume. 409 when it is
    closed already."""
    alert = await alert_or_404(db, alert_id)
    now = utcnow()
    if alert.status != "open":
        raise HTTPException(409, f"alert {alert_id} is {alert.status}")
    if body is not None and body.note and body.note.strip():
        await alerts.add_note(db, alert, body.note, author=actor(db), actor=actor(db), now=now)
    await alerts.act(db, alert, "resolve", actor=actor(db), now=now)
    return await _detail(db, alert)
