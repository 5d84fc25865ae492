"""Who may see and change what: roles, the caseload, CSRF on every form.

A caseworker sees and acts only on the returnees assigned to them; an admin sees everything; a
viewer reads everything and changes nothing. An object outside the caseload answers 404, so its
existence is not revealed.
"""

from typing import Any, TypeVar

from fastapi import HTTPException, Request
from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.translation import N_
from bot.dashboard.translation import gettext as _
from bot.db.models import Alert, Enrollment, Returnee, User, Workshop
from bot.web.security import csrf_ok

T = TypeVar("T", bound=tuple[Any, ...])
NOT_FOUND = N_("Introuvable.")
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger one is simply not found


def valid_id(value: int) -> bool:
    """True for an id that can exist (so a huge one answers 404, not a database error)."""
    return 0 < value <= MAX_ID


def can_write(user: User) -> bool:
    """True for the roles that may change data (admin, caseworker)."""
    return user.role in ("admin", "caseworker")


def sees_all(user: User) -> bool:
    """True for the roles that see every caseload (admin, viewer)."""
    return user.role in ("admin", "viewer")


def caseload_of(user: User) -> int | None:
    """The caseworker whose caseload the user sees (None: every caseload)."""
    return None if sees_all(user) else user.id


def check_form(request: Request, user: User, csrf: str) -> None:
    """Refuse a form post without the session's CSRF token, or from a read-only account."""
    if not csrf_ok(request, csrf):
        raise HTTPException(403, _("Formulaire expiré ou invalide (CSRF)."))
    if not can_write(user):
        raise HTTPException(403, _("Votre compte est en lecture seule."))


def scoped(query: Select[T], user: User) -> Select[T]:
    """Limit a query that selects from (or joins) returnees to the user's caseload."""
    if sees_all(user):
        return query
    return query.where(Returnee.caseworker_id == user.id)


def in_caseload(user: User, returnee: Returnee) -> bool:
    """True when the user may see this returnee."""
    return sees_all(user) or returnee.caseworker_id == user.id


async def returnee_for(db: AsyncSession, user: User, returnee_id: int) -> Returnee:
    """Return a returnee of the user's caseload, else 404."""
    returnee = await db.get(Returnee, returnee_id) if valid_id(returnee_id) else None
    if returnee is None or not in_caseload(user, returnee):
        raise HTTPException(404, _(NOT_FOUND))
    return returnee


async def alert_for(db: AsyncSession, user: User, alert_id: int) -> tuple[Alert, Returnee]:
    """Return an alert about a returnee of the user's caseload, else 404."""
    alert = await db.get(Alert, alert_id) if valid_id(alert_id) else None
    if alert is None:
        raise HTTPException(404, _(NOT_FOUND))
    return alert, await returnee_for(db, user, alert.returnee_id)


def visible_workshops(user: User) -> Select[tuple[Workshop]]:
    """Workshops the user may see: all for admins and viewers; for a caseworker, those with
    someone of their caseload enrolled, and those nobody is enrolled in yet (to fill them)."""
    query = select(Workshop)
    if sees_all(user):
        return query
    mine = (
        select(Enrollment.id)
        .join(Returnee, Returnee.id == Enrollment.returnee_id)
        .where(Enrollment.workshop_id == Workshop.id, Returnee.caseworker_id == user.id)
    )
    anyone = select(Enrollment.id).where(Enrollment.workshop_id == Workshop.id)
    return query.where(exists(mine) | ~exists(anyone))


async def workshop_for(db: AsyncSession, user: User, workshop_id: int) -> Workshop:
    """Return a workshop the user may see, else 404."""
    query = visible_workshops(user).where(Workshop.id == workshop_id)
    workshop = (await db.execute(query)).scalar_one_or_none() if valid_id(workshop_id) else None
    if workshop is None:
        raise HTTPException(404, _(NOT_FOUND))
    return workshop


async def check_workshop_owner(db: AsyncSession, user: User, workshop: Workshop) -> None:
    """Changing a workshop messages everyone enrolled: a caseworker may do it only when all of
    them are in their caseload; a workshop shared with other caseloads is an admin's job."""
    if sees_all(user):
        return
    others = (
        select(Enrollment.id)
        .join(Returnee, Returnee.id == Enrollment.returnee_id)
        .where(
            Enrollment.workshop_id == workshop.id,
            (Returnee.caseworker_id != user.id) | Returnee.caseworker_id.is_(None),
        )
        .limit(1)
    )
    if (await db.execute(others)).first() is not None:
        raise HTTPException(
            403,
            _("Cet atelier réunit d'autres dossiers : seul un administrateur peut le modifier."),
        )
