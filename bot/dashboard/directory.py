"""The returnee list: filters in SQL, the name search in Python (names are encrypted at rest)."""

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bot.dashboard.access import scoped, sees_all, valid_id
from bot.db.models import Alert, Enrollment, Message, Returnee, User
from bot.programme import COUNTRIES, InvalidField, normalize_phone

PAGE = 100


@dataclass(frozen=True, slots=True)
class Filters:
    """What the list is narrowed to; empty strings mean "any"."""

    q: str = ""
    country: str = ""
    language: str = ""
    channel: str = ""
    caseworker: str = ""  # a user id
    workshop: str = ""  # a workshop id
    opted_out: str = ""  # "yes", "no" or ""


@dataclass(slots=True)
class Listing:
    """One page of the list, with the counts the columns show."""

    rows: list[Returnee]
    total: int
    open_alerts: dict[int, int] = field(default_factory=dict)
    last_inbound: dict[int, datetime] = field(default_factory=dict)


def fold(text: str) -> str:
    """Lower case without accents, so "Benali" finds "bénali" and the other way round."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _id(value: str) -> int:
    """A filter's id, or 0 for none (or one that cannot exist)."""
    number = int(value) if value.isascii() and value.isdigit() else 0
    return number if valid_id(number) else 0


def _phones(q: str) -> list[str]:
    """E.164 forms of what looks like a phone number, read with each programme country."""
    found = set()
    for country in COUNTRIES:
        try:
            found.add(normalize_phone(q, country))
        except InvalidField:
            continue
    return sorted(found)


async def search(db: AsyncSession, user: User, filters: Filters, *, page: int = 1) -> Listing:
    """Return a page of the caseload's returnees matching the filters, sorted by name."""
    query = scoped(select(Returnee), user).options(defer(Returnee.phone))
    for column, value in (
        (Returnee.country, filters.country),
        (Returnee.language, filters.language),
        (Returnee.channel, filters.channel),
    ):
        if value:
            query = query.where(column == value)
    if sees_all(user) and (caseworker := _id(filters.caseworker)):
        query = query.where(Returnee.caseworker_id == caseworker)
    if workshop := _id(filters.workshop):
        enrolled = select(Enrollment.returnee_id).where(Enrollment.workshop_id == workshop)
        query = query.where(Returnee.id.in_(enrolled))
    if filters.opted_out in ("yes", "no"):
        query = query.where(Returnee.opted_out.is_(filters.opted_out == "yes"))
    q = filters.q.strip()
    if sum(c.isdigit() for c in q) >= 6:
        query = query.where(Returnee.phone_index.in_(_phones(q)))
        q = ""
    people = list((await db.execute(query)).scalars())
    if q:
        words = fold(q).split()
        people = [p for p in people if all(w in fold(p.name) for w in words)]
    people.sort(key=lambda p: (fold(p.name), p.id))
    shown = people[(page - 1) * PAGE : page * PAGE]
    listing = Listing(rows=shown, total=len(people))
    await _counts(db, listing)
    return listing


async def _counts(db: AsyncSession, listing: Listing) -> None:
    ids = [r.id for r in listing.rows]
    if not ids:
        return
    alerts = await db.execute(
        select(Alert.returnee_id, func.count(Alert.id))
        .where(Alert.returnee_id.in_(ids), Alert.status == "open")
        .group_by(Alert.returnee_id)
    )
    listing.open_alerts = {rid: int(n) for rid, n in alerts.all()}
    inbound = await db.execute(
        select(Message.returnee_id, func.max(Message.created_at))
        .where(Message.returnee_id.in_(ids), Message.direction == "in")
        .group_by(Message.returnee_id)
    )
    listing.last_inbound = {rid: at for rid, at in inbound.all() if rid is not None}


async def caseworkers(db: AsyncSession) -> list[User]:
    """Accounts a returnee can be assigned to."""
    query = (
        select(User)
        .where(User.role.in_(("caseworker", "admin")), User.active.is_(True))
        .order_by(User.name, User.email)
    )
    return list((await db.execute(query)).scalars())
