"""Query functions per aggregate. They take an AsyncSession and never commit."""

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.models import (
    Address,
    Alert,
    Checkin,
    Conversation,
    Enrollment,
    InboundReceipt,
    Message,
    Returnee,
    ScheduledSend,
    Workshop,
)

T = TypeVar("T", bound=tuple[Any, ...])


def in_caseload(query: Select[T], caseworker_id: int | None) -> Select[T]:
    """Limit a query that selects from (or joins) returnees to one caseload (None: everyone)."""
    return query if caseworker_id is None else query.where(Returnee.caseworker_id == caseworker_id)


async def insert_ignoring_conflicts(
    db: AsyncSession, table: Table, rows: list[dict[str, object]], *, key: list[str]
) -> int:
    """Insert rows with Core, skipping those whose `key` columns exist already; the count added."""
    if not rows:
        return 0
    statement = _insert_ignoring(db.get_bind().dialect.name, table, tuple(key))
    result = await db.execute(statement, rows)
    return int(result.rowcount)  # type: ignore[attr-defined]


@functools.cache
def _insert_ignoring(dialect: str, table: Table, key: tuple[str, ...]) -> Insert:
    # Built once per table: on SQLite, building a statement costs more than running it.
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return make(table).on_conflict_do_nothing(index_elements=list(key))


_RECEIPTS = cast(Table, InboundReceipt.__table__)


async def claim_receipt(db: AsyncSession, source: str, external_id: str, now: datetime) -> bool:
    """Record a provider id; False when it was already processed (a retry or a replay)."""
    statement = _insert_ignoring(db.get_bind().dialect.name, _RECEIPTS, ("source", "external_id"))
    row = {"source": source, "external_id": external_id, "created_at": now}
    result = await db.execute(statement, row)  # one row, not a list: no executemany
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


# The webhook's queries, built once with bound parameters (see _insert_ignoring).
_ADDRESS_WITH_RETURNEE = (
    select(Address, Returnee)
    .join(Returnee, Returnee.id == Address.returnee_id)
    .where(Address.channel == bindparam("channel"), Address.address_index == bindparam("address"))
)
_RETURNEE_LOCK = select(Returnee.id).where(Returnee.id == bindparam("id")).with_for_update()
_CONVERSATION_OF = select(Conversation).where(Conversation.returnee_id == bindparam("id"))


_MESSAGES = cast(Table, Message.__table__)
_ADDRESSES = cast(Table, Address.__table__)
_INSERT_MESSAGE = insert(_MESSAGES)
_NOTE_INBOUND = (
    update(_ADDRESSES)
    .where(_ADDRESSES.c.id == bindparam("address_id"))
    .values(last_inbound_at=bindparam("at"))
)


async def record_inbound(
    db: AsyncSession, row: dict[str, object], address: Address, *, now: datetime
) -> int:
    """Insert a received message and note when its address last wrote; the message's id.

    Core statements, not ORM objects: on the webhook's path, cheaper than two more objects in
    the commit's flush (README, "What is not done": function calls per webhook).
    """
    result = await db.execute(_INSERT_MESSAGE, row)
    await db.execute(_NOTE_INBOUND, {"address_id": address.id, "at": now})
    set_committed_value(address, "last_inbound_at", now)  # the loaded object agrees, unflushed
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


async def address_with_returnee(
    db: AsyncSession, channel: str, address: str
) -> tuple[Address, Returnee] | None:
    """Find the channel address (through its blind index) and its returnee, in one query."""
    result = await db.execute(_ADDRESS_WITH_RETURNEE, {"channel": channel, "address": address})
    row = result.one_or_none()
    return (row[0], row[1]) if row else None


async def addresses_of(db: AsyncSession, returnee_id: int) -> list[Address]:
    """Return every channel address of a returnee."""
    result = await db.execute(select(Address).where(Address.returnee_id == returnee_id))
    return list(result.scalars())


async def address_for(db: AsyncSession, returnee_id: int, channel: str) -> Address | None:
    """Return a returnee's address on a channel."""
    result = await db.execute(
        select(Address).where(Address.returnee_id == returnee_id, Address.channel == channel)
    )
    return result.scalars().first()


async def conversation_of(db: AsyncSession, returnee_id: int) -> Conversation | None:
    """Return the returnee's conversation, holding the returnee's row lock for this transaction.

    The lock is taken on the returnee (which always exists), not on the conversation (which may
    not exist yet), so two workers never both create a returnee's first conversation.
    """
    if db.get_bind().dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE holds the whole file
        await db.execute(_RETURNEE_LOCK, {"id": returnee_id})
    result = await db.execute(_CONVERSATION_OF, {"id": returnee_id})
    return result.scalar_one_or_none()


async def enrollment(db: AsyncSession, enrollment_id: int) -> Enrollment | None:
    """Return an enrollment by id."""
    return await db.get(Enrollment, enrollment_id)


async def workshop(db: AsyncSession, workshop_id: int) -> Workshop | None:
    """Return a workshop by id."""
    return await db.get(Workshop, workshop_id)


async def returnee(db: AsyncSession, returnee_id: int) -> Returnee | None:
    """Return a returnee by id."""
    return await db.get(Returnee, returnee_id)


async def next_enrollments(
    db: AsyncSession, returnee_ids: Collection[int], *, now: datetime
) -> dict[int, tuple[Enrollment, Workshop]]:
    """Per returnee, the enrollment a new flow is about: the soonest workshop not over, else
    the last one."""
    if not returnee_ids:
        return {}
    rows = await db.execute(
        select(Enrollment, Workshop)
        .join(Workshop, Workshop.id == Enrollment.workshop_id)
        .where(Enrollment.returnee_id.in_(returnee_ids))
        .order_by(Workshop.starts_at, Workshop.id)
    )
    chosen: dict[int, tuple[Enrollment, Workshop]] = {}
    settled: set[int] = set()
    for enrollment, workshop in rows.tuples():
        if enrollment.returnee_id not in settled:
            chosen[enrollment.returnee_id] = (enrollment, workshop)  # kept if none is ahead
            if workshop.ends_at >= now:
                settled.add(enrollment.returnee_id)
    return chosen


async def next_enrollment(
    db: AsyncSession, returnee_id: int, *, now: datetime
) -> Enrollment | None:
    """Return the enrollment a new flow is about (see next_enrollments)."""
    found = (await next_enrollments(db, [returnee_id], now=now)).get(returnee_id)
    return found[0] if found else None


async def open_alert(db: AsyncSession, returnee_id: int, kind: str) -> Alert | None:
    """Return the returnee's open alert of a kind, so a repeat does not pile up duplicates."""
    result = await db.execute(
        select(Alert).where(
            Alert.returnee_id == returnee_id, Alert.kind == kind, Alert.status == "open"
        )
    )
    return result.scalars().first()


async def handled_among(db: AsyncSession, returnee_ids: Collection[int]) -> set[int]:
    """Return which of these returnees a caseworker handles (an open alert assigned to someone)."""
    result = await db.execute(
        select(Alert.returnee_id).where(
            Alert.returnee_id.in_(list(returnee_ids)),
            Alert.status == "open",
            Alert.assigned_to.is_not(None),
        )
    )
    return set(result.scalars())


async def handled_by_caseworker(db: AsyncSession, returnee_id: int) -> bool:
    """True while an open alert about the returnee is assigned to a caseworker."""
    return returnee_id in await handled_among(db, [returnee_id])


async def cancel_planned(
    db: AsyncSession,
    returnee_id: int,
    *,
    reason: str,
    now: datetime,
    enrollment_id: int | None = None,
) -> int:
    """Cancel what is still planned for a returnee (or one enrollment of theirs)."""
    query = update(ScheduledSend).where(
        ScheduledSend.returnee_id == returnee_id, ScheduledSend.status == "planned"
    )
    if enrollment_id is not None:
        query = query.where(ScheduledSend.enrollment_id == enrollment_id)
    result = await db.execute(query.values(status="cancelled", reason=reason, decided_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def latest_checkin(db: AsyncSession, returnee_id: int) -> Checkin | None:
    """Return the returnee's latest check-in."""
    result = await db.execute(
        select(Checkin)
        .where(Checkin.returnee_id == returnee_id)
        .order_by(Checkin.created_at.desc(), Checkin.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def messages_of(db: AsyncSession, returnee_id: int) -> Sequence[Message]:
    """Return a returnee's messages, oldest first."""
    result = await db.execute(
        select(Message)
        .where(Message.returnee_id == returnee_id)
        .order_by(Message.created_at, Message.id)
    )
    return result.scalars().all()
