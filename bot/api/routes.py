"""JSON API handlers: thin; validation in schemas and bot.programme, one transaction each."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import accounts, audit, programme
from bot.api import schemas as s
from bot.clock import utcnow
from bot.db import repo
from bot.db.models import Alert, Checkin, Enrollment, Returnee, User, Workshop
from bot.programme import InvalidField

router = APIRouter()
bearer = HTTPBearer(auto_error=False)
MAX_ID = 2**63 - 1  # beyond a BIGINT: refused with 422, not passed to the database
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE = 100


async def db_session(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> AsyncIterator[AsyncSession]:
    """Check the bearer token, then give the handler one transaction."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    async with request.app.state.services.unit_of_work() as db:
        token = await accounts.check_token(db, credentials.credentials)
        if token is None:
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        db.info["actor"] = f"api:{token.name}"  # who the audit log names for this request
        yield db


Db = Annotated[AsyncSession, Depends(db_session)]


def unprocessable(error: InvalidField) -> HTTPException:
    """Turn a domain validation error into the API's 422 shape, naming the field."""
    return HTTPException(
        422, [{"loc": ["body", error.field], "msg": error.message, "type": "value_error"}]
    )


async def _returnee_out(db: AsyncSession, r: Returnee) -> s.ReturneeOut:
    caseworker = await db.get(User, r.caseworker_id) if r.caseworker_id else None
    tz = r.timezone or programme.COUNTRIES[r.country]
    return s.ReturneeOut(
        id=r.id,
        name=r.name,
        phone=r.phone,
        country=r.country,
        language=r.language,
        channel=r.channel,
        timezone=tz,
        opted_out=r.opted_out,
        consent=r.consent,
        caseworker=caseworker.email if caseworker else None,
        created_at=r.created_at,
    )


async def _returnee(db: AsyncSession, returnee_id: int, *, view: str | None = None) -> Returnee:
    returnee = await repo.returnee(db, returnee_id)
    if returnee is None:
        raise HTTPException(404, f"no returnee {returnee_id}")
    if view is not None:  # every view of a person's data is in the audit log
        await audit.record(
            db,
            actor=str(db.info.get("actor", "api")),
            action=f"view_{view}",
            target=f"returnee:{returnee_id}",
            now=utcnow(),
        )
    return returnee


async def _workshop(db: AsyncSession, workshop_id: int) -> Workshop:
    workshop = await repo.workshop(db, workshop_id)
    if workshop is None:
        raise HTTPException(404, f"no workshop {workshop_id}")
    return workshop


@router.post("/returnees", status_code=201)
async def create_returnee(body: s.ReturneeIn, db: Db) -> s.ReturneeOut:
    """Register a returnee; the phone is stored in E.164."""
    new = programme.NewReturnee(
        name=body.name,
        phone=body.phone,
        country=body.country,
        language=body.language,
        channel=body.channel,
        timezone=body.timezone,
        caseworker_email=body.caseworker,
        consent=body.consent,
        telegram_chat_id=body.telegram_chat_id,
    )
    try:
        returnee = await programme.create_returnee(db, new, now=utcnow())
    except InvalidField as error:
        raise unprocessable(error) from None
    return await _returnee_out(db, returnee)


@router.get("/returnees")
async def list_returnees(
    db: Db,
    country: str | None = None,
    language: str | None = None,
    channel: str | None = None,
    caseworker: str | None = None,
    cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> s.ReturneePage:
    """List returnees by filters, a page at a time (`next` is the cursor of the next page)."""
    query = select(Returnee).where(Returnee.id > cursor).order_by(Returnee.id).limit(PAGE + 1)
    if country:
        query = query.where(Returnee.country == country)
    if language:
        query = query.where(Returnee.language == language)
    if channel:
        query = query.where(Returnee.channel == channel)
    if caseworker:
        query = query.join(User, User.id == Returnee.caseworker_id).where(
            User.email == caseworker.lower()
        )
    rows = list((await db.execute(query)).scalars())
    items = [await _returnee_out(db, r) for r in rows[:PAGE]]
    return s.ReturneePage(items=items, next=str(rows[PAGE - 1].id) if len(rows) > PAGE else None)


@router.get("/returnees/{returnee_id}")
async def get_returnee(returnee_id: Id, db: Db) -> s.ReturneeOut:
    """Return one returnee."""
    return await _returnee_out(db, await _returnee(db, returnee_id, view="returnee"))


@router.patch("/returnees/{returnee_id}")
async def patch_returnee(returnee_id: Id, body: s.ReturneePatch, db: Db) -> s.ReturneeOut:
    """Change a returnee's language, channel, caseworker, time zone or name."""
    returnee = await _returnee(db, returnee_id)
    try:
        await programme.update_returnee(db, returnee, body.model_dump(exclude_unset=True))
    except InvalidField as error:
        raise unprocessable(error) from None
    return await _returnee_out(db, returnee)


@router.get("/returnees/{returnee_id}/messages")
async def returnee_messages(returnee_id: Id, db: Db) -> list[s.MessageOut]:
    """Every message in and out, oldest first."""
    await _returnee(db, returnee_id, view="messages")
    return [
        s.MessageOut.model_validate(m, from_attributes=True)
        for m in await repo.messages_of(db, returnee_id)
    ]


@router.get("/returnees/{returnee_id}/checkins")
async def returnee_checkins(returnee_id: Id, db: Db) -> list[s.CheckinOut]:
    """Wellbeing check-ins, oldest first."""
    await _returnee(db, returnee_id, view="checkins")
    rows = (
        await db.execute(
            select(Checkin).where(Checkin.returnee_id == returnee_id).order_by(Checkin.created_at)
        )
    ).scalars()
    return [s.CheckinOut.model_validate(c, from_attributes=True) for c in rows]


@router.post("/workshops", status_code=201)
async def create_workshop(body: s.WorkshopIn, db: Db) -> s.WorkshopOut:
    """Schedule a workshop."""
    new = programme.NewWorkshop(
        title=body.title,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        timezone=body.timezone,
        location=body.location,
        country=body.country,
    )
    try:
        workshop = await programme.create_workshop(db, new, now=utcnow())
    except InvalidField as error:
        raise unprocessable(error) from None
    return s.WorkshopOut.model_validate(workshop, from_attributes=True)


@router.patch("/workshops/{workshop_id}")
async def patch_workshop(workshop_id: Id, body: s.WorkshopPatch, db: Db) -> s.WorkshopOut:
    """Reschedule, move or cancel a workshop; its reminders are re-planned or dropped."""
    workshop = await _workshop(db, workshop_id)
    try:
        await programme.change_workshop(
            db, workshop, body.model_dump(exclude_unset=True), now=utcnow()
        )
    except InvalidField as error:
        raise unprocessable(error) from None
    return s.WorkshopOut.model_validate(workshop, from_attributes=True)


@router.post("/workshops/{workshop_id}/enrollments", status_code=201)
async def enroll(workshop_id: Id, body: s.EnrollmentIn, db: Db) -> s.EnrollmentOut:
    """Invite a returnee; the invitation goes out at the next scheduler pass."""
    workshop = await _workshop(db, workshop_id)
    returnee = await repo.returnee(db, body.returnee_id)
    if returnee is None:
        raise unprocessable(InvalidField("returnee_id", f"no returnee {body.returnee_id}"))
    try:
        enrollment = await programme.enroll(db, workshop, returnee, now=utcnow())
    except InvalidField as error:
        raise unprocessable(error) from None
    return s.EnrollmentOut.model_validate(enrollment, from_attributes=True)


@router.get("/workshops/{workshop_id}/enrollments")
async def enrollments(workshop_id: Id, db: Db) -> list[s.EnrollmentOut]:
    """The roster of a workshop."""
    await _workshop(db, workshop_id)
    rows = (
        await db.execute(
            select(Enrollment).where(Enrollment.workshop_id == workshop_id).order_by(Enrollment.id)
        )
    ).scalars()
    return [s.EnrollmentOut.model_validate(e, from_attributes=True) for e in rows]


@router.get("/alerts")
async def alerts(db: Db, status: str | None = None) -> list[s.AlertOut]:
    """Alerts, most urgent first."""
    query = select(Alert).order_by(Alert.priority, Alert.created_at)
    if status:
        query = query.where(Alert.status == status)
    return [
        s.AlertOut.model_validate(a, from_attributes=True)
        for a in (await db.execute(query)).scalars()
    ]
