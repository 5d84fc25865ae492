"""JSON API handlers for returnees; the other resources' routers are gathered in here.

Handlers are thin: validation in schemas and the domain modules, one transaction each."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, programme
from bot.api import alerts, people, reporting, workshops
from bot.api import schemas as s
from bot.api.deps import MAX_ID, Db, Id, log, returnee_or_404, unprocessable
from bot.clock import utcnow
from bot.db import repo
from bot.db.models import Checkin, Returnee, User
from bot.programme import InvalidField

router = APIRouter()
PAGE = 100


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
    await log(db, "returnee_create", audit.returnee_target(returnee.id))
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
    return await _returnee_out(db, await returnee_or_404(db, returnee_id, view="returnee"))


@router.patch("/returnees/{returnee_id}")
async def patch_returnee(returnee_id: Id, body: s.ReturneePatch, db: Db) -> s.ReturneeOut:
    """Change a returnee's language, channel, caseworker, time zone or name."""
    returnee = await returnee_or_404(db, returnee_id)
    try:
        await programme.update_returnee(db, returnee, body.model_dump(exclude_unset=True))
    except InvalidField as error:
        raise unprocessable(error) from None
    await log(db, "returnee_update", audit.returnee_target(returnee.id))
    return await _returnee_out(db, returnee)


@router.get("/returnees/{returnee_id}/messages")
async def returnee_messages(returnee_id: Id, db: Db) -> list[s.MessageOut]:
    """Every message in and out, oldest first."""
    await returnee_or_404(db, returnee_id, view="messages")
    return [
        s.MessageOut.model_validate(m, from_attributes=True)
        for m in await repo.messages_of(db, returnee_id)
    ]


@router.get("/returnees/{returnee_id}/checkins")
async def returnee_checkins(returnee_id: Id, db: Db) -> list[s.CheckinOut]:
    """Wellbeing check-ins, oldest first."""
    await returnee_or_404(db, returnee_id, view="checkins")
    rows = (
        await db.execute(
            select(Checkin).where(Checkin.returnee_id == returnee_id).order_by(Checkin.created_at)
        )
    ).scalars()
    return [s.CheckinOut.model_validate(c, from_attributes=True) for c in rows]


for _module in (people, workshops, alerts, reporting):
    router.include_router(_module.router)
