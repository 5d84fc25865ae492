"""JSON API: workshops, their enrollments (one or many at once), attendance and the funnel."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import enrollments, programme
from bot.api import schemas as s
from bot.api.deps import (
    ROW_MAX_ID,
    Db,
    Id,
    actor,
    log,
    returnee_or_404,
    unprocessable,
    workshop_or_404,
)
from bot.clock import utcnow
from bot.db.models import Enrollment, Returnee, Workshop
from bot.programme import InvalidField

router = APIRouter()


def _out(workshop: Workshop) -> s.WorkshopOut:
    return s.WorkshopOut.model_validate(workshop, from_attributes=True)


def _enrollment(enrollment: Enrollment) -> s.EnrollmentOut:
    return s.EnrollmentOut.model_validate(enrollment, from_attributes=True)


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
    await log(db, "workshop_create", f"workshop:{workshop.id}")
    return _out(workshop)


@router.get("/workshops")
async def list_workshops(
    db: Db,
    status: Literal["scheduled", "cancelled"] | None = None,
    country: s.Country | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
) -> list[s.WorkshopOut]:
    """Workshops by start time; filters narrow the list (times need their UTC offset)."""
    query = select(Workshop).order_by(Workshop.starts_at, Workshop.id)
    if status:
        query = query.where(Workshop.status == status)
    if country:
        query = query.where(Workshop.country == country)
    for name, bound in (("starts_after", starts_after), ("starts_before", starts_before)):
        if bound is not None and bound.tzinfo is None:
            raise unprocessable(InvalidField(name, "needs a UTC offset"), where="query")
    if starts_after is not None:
        query = query.where(Workshop.starts_at >= starts_after)
    if starts_before is not None:
        query = query.where(Workshop.starts_at < starts_before)
    return [_out(w) for w in (await db.execute(query)).scalars()]


@router.get("/workshops/{workshop_id}")
async def get_workshop(workshop_id: Id, db: Db) -> s.WorkshopDetail:
    """One workshop with its funnel: invited, confirmed, attended."""
    workshop = await workshop_or_404(db, workshop_id)
    funnel = (await enrollments.funnels(db, [workshop.id]))[workshop.id]
    return s.WorkshopDetail(
        **_out(workshop).model_dump(),
        funnel=s.Funnel(
            invited=funnel.invited,
            confirmed=funnel.confirmed,
            attended=funnel.attended,
            by_status=funnel.counts,
        ),
    )


@router.patch("/workshops/{workshop_id}")
async def patch_workshop(workshop_id: Id, body: s.WorkshopPatch, db: Db) -> s.WorkshopOut:
    """Reschedule, move or cancel a workshop; its reminders are re-planned or dropped."""
    workshop = await workshop_or_404(db, workshop_id)
    changes = body.model_dump(exclude_unset=True)
    try:
        await programme.change_workshop(db, workshop, changes, now=utcnow())
    except InvalidField as error:
        raise unprocessable(error) from None
    cancelled = changes.get("status") == "cancelled"
    await log(db, "workshop_cancel" if cancelled else "workshop_update", f"workshop:{workshop.id}")
    return _out(workshop)


@router.post("/workshops/{workshop_id}/enrollments", status_code=201)
async def enroll(
    workshop_id: Id, body: s.EnrollmentIn, db: Db
) -> s.EnrollmentOut | s.BulkEnrollmentOut:
    """Invite one returnee (`returnee_id`) or several (`returnee_ids`: those already enrolled
    are listed, not invited twice; one unknown id and nobody is enrolled). The invitations go
    out at the next scheduler pass."""
    workshop = await workshop_or_404(db, workshop_id)
    if (body.returnee_id is None) == (body.returnee_ids is None):
        raise unprocessable(InvalidField("returnee_id", "give returnee_id or returnee_ids"))
    if body.returnee_id is not None:
        people = [await _enrollee(db, body.returnee_id, "returnee_id")]
    else:
        people = [await _enrollee(db, rid, "returnee_ids") for rid in body.returnee_ids or []]
    try:
        if body.returnee_id is not None:
            enrollment = await programme.enroll(db, workshop, people[0], now=utcnow())
            await log(db, "enroll", f"workshop:{workshop.id}", "1 enrolled")
            return _enrollment(enrollment)
        done = await enrollments.enroll_many(db, workshop, people, actor=actor(db), now=utcnow())
    except InvalidField as error:
        raise unprocessable(error) from None
    return s.BulkEnrollmentOut(
        enrolled=[_enrollment(e) for e in done.created], already_enrolled=done.already
    )


async def _enrollee(db: AsyncSession, returnee_id: int, field: str) -> Returnee:
    """A returnee named in an enrollment request; an unknown one is bad input (422)."""
    try:
        return await returnee_or_404(db, returnee_id)
    except HTTPException:
        raise unprocessable(InvalidField(field, f"no returnee {returnee_id}")) from None


@router.get("/workshops/{workshop_id}/enrollments")
async def list_enrollments(workshop_id: Id, db: Db) -> list[s.EnrollmentOut]:
    """The roster of a workshop."""
    await workshop_or_404(db, workshop_id)
    rows = (
        await db.execute(
            select(Enrollment).where(Enrollment.workshop_id == workshop_id).order_by(Enrollment.id)
        )
    ).scalars()
    return [_enrollment(e) for e in rows]


@router.patch("/workshops/{workshop_id}/enrollments/{returnee_id}")
async def mark(
    workshop_id: Id, returnee_id: Id, body: s.EnrollmentPatch, db: Db
) -> s.EnrollmentOut:
    """Mark a returnee present or absent, or record the answer they gave by phone."""
    await workshop_or_404(db, workshop_id)
    enrollment = (
        await enrollments.enrollment_of(db, workshop_id, returnee_id)
        if returnee_id <= ROW_MAX_ID
        else None
    )
    if enrollment is None:
        raise HTTPException(
            404, f"returnee {returnee_id} is not enrolled in workshop {workshop_id}"
        )
    await enrollments.mark(db, enrollment, body.status, actor=actor(db), now=utcnow())
    return _enrollment(enrollment)
