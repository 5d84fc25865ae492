"""Workshop pages: list, create, edit or reschedule, cancel, enroll, roster and attendance."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from bot import audit, enrollments, programme
from bot.clock import utcnow
from bot.dashboard import roster as rosters
from bot.dashboard.access import (
    NOT_FOUND,
    check_form,
    check_workshop_owner,
    returnee_for,
    valid_id,
    visible_workshops,
    workshop_for,
)
from bot.dashboard.auth import current_user
from bot.dashboard.forms import errors_of, input_value, local_datetime
from bot.dashboard.templating import flash, page
from bot.dashboard.translation import gettext as _
from bot.dashboard.translation import ngettext
from bot.db.models import Enrollment, User, Workshop
from bot.programme import InvalidField

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]
ZONES = ("Africa/Casablanca", "Africa/Tunis", "Africa/Dakar")
MARKS = ("attended", "absent")


async def _audit(
    db: AsyncSession, user: User, action: str, workshop_id: int, detail: str | None = None
) -> None:
    await audit.record(
        db,
        actor=user.email,
        action=action,
        target=f"workshop:{workshop_id}",
        detail=detail,
        now=utcnow(),
    )


@router.get("/workshops")
async def workshop_list(request: Request, user: CurrentUser) -> Response:
    """Upcoming workshops first, then past and cancelled ones, with the caseload's funnel."""
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        shown = list((await db.execute(visible_workshops(user))).scalars())
        funnels = await rosters.funnels(db, user, [w.id for w in shown])
    upcoming = sorted(
        (w for w in shown if w.status == "scheduled" and w.ends_at >= now),
        key=lambda w: w.starts_at,
    )
    past = sorted((w for w in shown if w not in upcoming), key=lambda w: w.starts_at, reverse=True)
    return page(request, "workshops.html", upcoming=upcoming, past=past, funnels=funnels)


def _form(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    workshop: Workshop | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "workshop_form.html",
        status_code=status,
        values=values,
        errors=errors,
        workshop=workshop,
        zones=ZONES,
        countries=programme.COUNTRIES,
    )


@router.get("/workshops/new")
async def new_workshop(request: Request, user: CurrentUser) -> Response:
    """The form to plan a workshop."""
    return _form(request, values={"timezone": ZONES[0]}, errors={})


@router.post("/workshops/new")
async def create_workshop(
    request: Request,
    user: CurrentUser,
    csrf: FormStr = "",
    title: FormStr = "",
    starts: FormStr = "",
    ends: FormStr = "",
    timezone: FormStr = "",
    location: FormStr = "",
    country: FormStr = "",
) -> Response:
    """Plan a workshop; times are read in its own time zone."""
    check_form(request, user, csrf)
    values = {"title": title, "starts": starts, "ends": ends, "timezone": timezone,
              "location": location, "country": country}  # fmt: skip
    try:
        zone = programme.check_timezone(timezone.strip() or ZONES[0])
        new = programme.NewWorkshop(
            title=title,
            starts_at=local_datetime(starts, zone, "starts_at"),
            ends_at=local_datetime(ends, zone, "ends_at"),
            timezone=zone,
            location=location.strip()[:200],
            country=country or None,
        )
        async with request.app.state.services.unit_of_work() as db:
            workshop = await programme.create_workshop(db, new, now=utcnow())
            await _audit(db, user, "workshop_create", workshop.id)
    except InvalidField as error:
        return _form(request, values=values, errors=errors_of(error), status=422)
    flash(request, _("Atelier créé."))
    return RedirectResponse(f"/workshops/{workshop.id}", status_code=303)


@router.get("/workshops/{workshop_id:int}")
async def show_workshop(request: Request, workshop_id: int, user: CurrentUser) -> Response:
    """The roster of the caseload with each answer, attendance marks, and the funnel."""
    async with request.app.state.services.unit_of_work() as db:
        workshop = await workshop_for(db, user, workshop_id)
        people = await rosters.roster(db, user, workshop_id)
        funnel = (await rosters.funnels(db, user, [workshop_id]))[workshop_id]
    values = {
        "title": workshop.title,
        "starts": input_value(workshop.starts_at, workshop.timezone),
        "ends": input_value(workshop.ends_at, workshop.timezone),
        "location": workshop.location,
    }
    return page(
        request, "workshop.html", w=workshop, people=people, funnel=funnel, values=values, errors={}
    )


@router.post("/workshops/{workshop_id:int}/edit")
async def edit_workshop(
    request: Request,
    workshop_id: int,
    user: CurrentUser,
    csrf: FormStr = "",
    title: FormStr = "",
    starts: FormStr = "",
    ends: FormStr = "",
    location: FormStr = "",
) -> Response:
    """Rename, move or reschedule; a new time re-plans reminders and tells those enrolled."""
    check_form(request, user, csrf)
    uow = request.app.state.services.unit_of_work
    try:
        async with uow() as db:
            workshop = await workshop_for(db, user, workshop_id)
            await check_workshop_owner(db, user, workshop)
            if not title.strip():
                raise InvalidField("title", "must not be empty")
            workshop.title = title.strip()[:200]
            changes = {
                "starts_at": local_datetime(starts, workshop.timezone, "starts_at"),
                "ends_at": local_datetime(ends, workshop.timezone, "ends_at"),
                "location": location.strip()[:200],
            }
            await programme.change_workshop(db, workshop, changes, now=utcnow())
            await _audit(db, user, "workshop_update", workshop_id, f"version {workshop.version}")
    except InvalidField as error:
        async with uow() as db:
            workshop = await workshop_for(db, user, workshop_id)
            people = await rosters.roster(db, user, workshop_id)
            funnel = (await rosters.funnels(db, user, [workshop_id]))[workshop_id]
        values = {"title": title, "starts": starts, "ends": ends, "location": location}
        return page(
            request,
            "workshop.html",
            status_code=422,
            w=workshop,
            people=people,
            funnel=funnel,
            values=values,
            errors=errors_of(error),
        )
    flash(request, _("Atelier enregistré."))
    return RedirectResponse(f"/workshops/{workshop_id}", status_code=303)


@router.post("/workshops/{workshop_id:int}/cancel")
async def cancel_workshop(
    request: Request, workshop_id: int, user: CurrentUser, csrf: FormStr = ""
) -> Response:
    """Cancel: planned reminders are dropped and everyone still enrolled is told."""
    check_form(request, user, csrf)
    async with request.app.state.services.unit_of_work() as db:
        workshop = await workshop_for(db, user, workshop_id)
        await check_workshop_owner(db, user, workshop)
        if workshop.status != "cancelled":
            await programme.change_workshop(db, workshop, {"status": "cancelled"}, now=utcnow())
            await _audit(db, user, "workshop_cancel", workshop_id)
    flash(request, _("Atelier annulé ; les personnes inscrites sont prévenues."))
    return RedirectResponse(f"/workshops/{workshop_id}", status_code=303)


@router.get("/workshops/{workshop_id:int}/enroll")
async def enroll_form(
    request: Request, workshop_id: int, user: CurrentUser, q: str = "", country: str = ""
) -> Response:
    """Pick several people of the caseload to invite."""
    async with request.app.state.services.unit_of_work() as db:
        workshop = await workshop_for(db, user, workshop_id)
        people, total = await rosters.candidates(db, user, workshop_id, q=q, country=country)
    return page(
        request,
        "workshop_enroll.html",
        w=workshop,
        people=people,
        total=total,
        q=q,
        country=country,
        countries=programme.COUNTRIES,
    )


@router.post("/workshops/{workshop_id:int}/enroll")
async def enroll(
    request: Request,
    workshop_id: int,
    user: CurrentUser,
    csrf: FormStr = "",
    returnee_id: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Invite the checked people; the scheduler sends each an invitation."""
    check_form(request, user, csrf)
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        workshop = await workshop_for(db, user, workshop_id)
        if workshop.status == "cancelled":
            raise HTTPException(409, _("L'atelier est annulé."))
        # one stranger among them: a 404, and nobody is enrolled
        people = [await returnee_for(db, user, rid) for rid in dict.fromkeys(returnee_id or [])]
        done = await enrollments.enroll_many(db, workshop, people, actor=user.email, now=now)
    flash(request, enrolled_text(len(done.created), len(done.already)))
    return RedirectResponse(f"/workshops/{workshop_id}", status_code=303)


def enrolled_text(done: int, skipped: int) -> str:
    """The confirmation after enrolling: how many were, and how many already were."""
    text = ngettext("{n} personne inscrite.", "{n} personnes inscrites.", done).format(n=done)
    if skipped:
        already = ngettext(
            "{n} personne était déjà inscrite.", "{n} personnes étaient déjà inscrites.", skipped
        )
        text += " " + already.format(n=skipped)
    return text


@router.post("/workshops/{workshop_id:int}/attendance")
async def attendance(
    request: Request,
    workshop_id: int,
    user: CurrentUser,
    csrf: FormStr = "",
    enrollment_id: Annotated[int, Form()] = 0,
    status: FormStr = "",
) -> Response:
    """Mark someone present or absent by hand."""
    check_form(request, user, csrf)
    if status not in MARKS:
        raise HTTPException(422, _("Statut de présence inconnu."))
    async with request.app.state.services.unit_of_work() as db:
        await workshop_for(db, user, workshop_id)
        enrollment = await db.get(Enrollment, enrollment_id) if valid_id(enrollment_id) else None
        if enrollment is None or enrollment.workshop_id != workshop_id:
            raise HTTPException(404, _(NOT_FOUND))
        await returnee_for(db, user, enrollment.returnee_id)
        await enrollments.mark(db, enrollment, status, actor=user.email, now=utcnow())
    return RedirectResponse(f"/workshops/{workshop_id}#e{enrollment_id}", status_code=303)
