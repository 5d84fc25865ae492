"""Returnee pages: the list with search and filters, the create and edit forms."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from bot import audit, programme
from bot.clock import utcnow
from bot.dashboard import directory
from bot.dashboard.access import check_form, returnee_for, sees_all, visible_workshops
from bot.dashboard.auth import current_user
from bot.dashboard.forms import errors_of
from bot.dashboard.templating import page
from bot.db.models import Returnee, User
from bot.programme import InvalidField

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]


@router.get("/returnees")
async def returnee_list(
    request: Request,
    user: CurrentUser,
    filters: Annotated[directory.Filters, Depends()],
    number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    """Search the caseload by name or phone; filter by country, language, channel, workshop."""
    async with request.app.state.services.unit_of_work() as db:
        listing = await directory.search(db, user, filters, page=number)
        workers = await directory.caseworkers(db) if sees_all(user) else []
        workshops = list((await db.execute(visible_workshops(user))).scalars())
    return page(
        request,
        "returnees.html",
        listing=listing,
        filters=filters,
        caseworkers=workers,
        workshops=workshops,
        page_no=number,
        pages=max(1, -(-listing.total // directory.PAGE)),
        query=urlencode([i for i in request.query_params.multi_items() if i[0] != "page"]),
    )


async def _form(
    request: Request,
    db: AsyncSession,
    user: User,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    returnee: Returnee | None = None,
    status: int = 200,
) -> Response:
    workers = await directory.caseworkers(db) if user.role == "admin" else []
    return page(
        request,
        "returnee_form.html",
        status_code=status,
        values=values,
        errors=errors,
        returnee=returnee,
        caseworkers=workers,
        countries=programme.COUNTRIES,
    )


@router.get("/returnees/new")
async def new_returnee(request: Request, user: CurrentUser) -> Response:
    """The registration form."""
    async with request.app.state.services.unit_of_work() as db:
        return await _form(request, db, user, values={"caseworker": user.email}, errors={})


@router.post("/returnees/new")
async def create_returnee(
    request: Request,
    user: CurrentUser,
    csrf: FormStr = "",
    name: FormStr = "",
    phone: FormStr = "",
    country: FormStr = "",
    language: FormStr = "",
    channel: FormStr = "",
    timezone: FormStr = "",
    caseworker: FormStr = "",
    consent: FormStr = "",
    telegram_chat_id: FormStr = "",
) -> Response:
    """Register a returnee in the caseload; a caseworker's new people are theirs."""
    check_form(request, user, csrf)
    values = {
        "name": name, "phone": phone, "country": country, "language": language,
        "channel": channel, "timezone": timezone, "consent": consent,
        "telegram_chat_id": telegram_chat_id,
        "caseworker": caseworker if user.role == "admin" else user.email,
    }  # fmt: skip
    new = programme.NewReturnee(
        name=name,
        phone=phone.strip() or None,
        country=country,
        language=language,
        channel=channel,
        timezone=timezone.strip() or None,
        caseworker_email=values["caseworker"] or None,
        consent=bool(consent),
        telegram_chat_id=telegram_chat_id.strip() or None,
    )
    uow = request.app.state.services.unit_of_work
    try:
        async with uow() as db:
            returnee = await programme.create_returnee(db, new, now=utcnow())
            await _audit(db, user, "returnee_create", returnee)
    except InvalidField as error:  # the transaction is rolled back: nothing is stored
        async with uow() as db:
            return await _form(
                request, db, user, values=values, errors=errors_of(error), status=422
            )
    return RedirectResponse(f"/returnees/{returnee.id}", status_code=303)


async def _audit(db: AsyncSession, user: User, action: str, returnee: Returnee) -> None:
    await audit.record(
        db, actor=user.email, action=action, target=audit.returnee_target(returnee.id), now=utcnow()
    )


@router.get("/returnees/{returnee_id:int}/edit")
async def edit_returnee(request: Request, returnee_id: int, user: CurrentUser) -> Response:
    """The edit form: name, language, channel, time zone (and caseworker, for admins)."""
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        worker = await db.get(User, returnee.caseworker_id) if returnee.caseworker_id else None
        values = {
            "name": returnee.name,
            "language": returnee.language,
            "channel": returnee.channel,
            "timezone": returnee.timezone or "",
            "caseworker": worker.email if worker else "",
        }
        return await _form(request, db, user, values=values, errors={}, returnee=returnee)


@router.post("/returnees/{returnee_id:int}/edit")
async def update_returnee(
    request: Request,
    returnee_id: int,
    user: CurrentUser,
    csrf: FormStr = "",
    name: FormStr = "",
    language: FormStr = "",
    channel: FormStr = "",
    timezone: FormStr = "",
    caseworker: FormStr = "",
) -> Response:
    """Save the changes; only an admin moves a returnee to another caseload."""
    check_form(request, user, csrf)
    values = {"name": name, "language": language, "channel": channel, "timezone": timezone}
    changes: dict[str, object] = {**values, "timezone": timezone.strip() or None}
    if user.role == "admin":
        changes["caseworker"] = values["caseworker"] = caseworker
    uow = request.app.state.services.unit_of_work
    try:
        async with uow() as db:
            returnee = await returnee_for(db, user, returnee_id)
            if not name.strip():
                raise InvalidField("name", "must not be empty")
            await programme.update_returnee(db, returnee, changes)
            await _audit(db, user, "returnee_update", returnee)
    except InvalidField as error:  # rolled back: the record keeps its old values
        async with uow() as db:
            returnee = await returnee_for(db, user, returnee_id)
            return await _form(
                request,
                db,
                user,
                values=values,
                errors=errors_of(error),
                returnee=returnee,
                status=422,
            )
    return RedirectResponse(f"/returnees/{returnee_id}", status_code=303)
