"""The rights of the people in the data: export everything about one returnee, erase them.

Both are written to the audit log in the same transaction as what they do. An erasure removes the
returnee's row; the foreign keys cascade to every row about them (addresses and their blind index,
consent ledger, messages and their outbox rows, check-ins, enrollments, alerts, scheduled sends,
the conversation, link codes). What is left is one audit entry naming an id that no longer exists.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import audit, effects
from bot.db import repo
from bot.db.base import Base
from bot.db.models import (
    Address,
    Alert,
    Checkin,
    ConsentEvent,
    Conversation,
    Enrollment,
    LinkCode,
    Message,
    OutboxItem,
    Returnee,
    ScheduledSend,
    User,
    Workshop,
)

FORMAT_VERSION = 1


class UnknownReturneeError(LookupError):
    """No returnee has this id."""


async def export_returnee(
    db: AsyncSession, returnee_id: int, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Everything held about one returnee, as JSON-safe data (subject access, portability)."""
    person = await _returnee(db, returnee_id)
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "exported_at": now.isoformat(),
        "profile": await _profile(db, person),
        "addresses": [_address(a) for a in await _rows(db, Address, returnee_id)],
        "consent": [_consent(c) for c in await _rows(db, ConsentEvent, returnee_id)],
        "messages": [_message(m) for m in await _rows(db, Message, returnee_id)],
        "checkins": [_checkin(c) for c in await _rows(db, Checkin, returnee_id)],
        "enrollments": [await _enrollment(db, e) for e in await _rows(db, Enrollment, returnee_id)],
        "alerts": [_alert(a) for a in await _rows(db, Alert, returnee_id)],
        "scheduled_sends": [_send(s) for s in await _rows(db, ScheduledSend, returnee_id)],
        "conversation": [_conversation(c) for c in await _rows(db, Conversation, returnee_id)],
        "link_codes": [_link(c) for c in await _rows(db, LinkCode, returnee_id)],
    }
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    await audit.record(
        db,
        actor=actor,
        action="returnee_exported",
        target=audit.returnee_target(returnee_id),
        detail=_summary(counts),
        now=now,
    )
    return data


async def erase_returnee(
    db: AsyncSession, returnee_id: int, *, actor: str, now: datetime
) -> dict[str, int]:
    """Delete the returnee and every row about them; return how many rows went, per table."""
    await _returnee(db, returnee_id)
    counts = {table: n for table, n in (await count_rows_about(db, returnee_id)).items() if n}
    await _secure_delete(db)
    # The foreign keys cascade, but each table is emptied explicitly, children first, so that
    # a table added later without ON DELETE CASCADE fails loudly here instead of keeping data.
    await db.execute(delete(OutboxItem).where(OutboxItem.message_id.in_(_messages_of(returnee_id))))
    for table in reversed(Base.metadata.sorted_tables):
        column = table.columns.get("returnee_id")
        if column is not None:
            await db.execute(table.delete().where(column == returnee_id))
    await db.execute(delete(Returnee).where(Returnee.id == returnee_id))
    db.expunge_all()  # nothing cached of the erased person survives in this session
    await audit.record(
        db,
        actor=actor,
        action="returnee_erased",
        target=audit.returnee_target(returnee_id),
        detail=_summary(counts),
        now=now,
    )
    return counts


async def withdraw_consent(
    db: AsyncSession, returnee_id: int, *, actor: str, method: str, now: datetime
) -> None:
    """Record a withdrawal of consent (cancels every planned send at once) and audit it."""
    person = await _returnee(db, returnee_id)
    await effects.record_consent(db, person, given=False, method=method, now=now)
    await audit.record(
        db,
        actor=actor,
        action="consent_withdrawn",
        target=audit.returnee_target(returnee_id),
        detail=f"method={method}",
        now=now,
    )


async def count_rows_about(db: AsyncSession, returnee_id: int) -> dict[str, int]:
    """Rows that name the returnee, per table: their own, every `returnee_id` row, the outbox."""
    counts = {"returnees": await _count(db, Returnee.__table__, Returnee.id == returnee_id)}
    for table in Base.metadata.sorted_tables:
        column = table.columns.get("returnee_id")
        if column is not None:
            counts[table.name] = await _count(db, table, column == returnee_id)
    counts["outbox"] = await _count(
        db, OutboxItem.__table__, OutboxItem.message_id.in_(_messages_of(returnee_id))
    )
    return counts


def _messages_of(returnee_id: int) -> Select[tuple[int]]:
    return select(Message.id).where(Message.returnee_id == returnee_id)


async def _count(db: AsyncSession, table: Any, condition: Any) -> int:
    result = await db.execute(select(func.count()).select_from(table).where(condition))
    return int(result.scalar_one())


async def _secure_delete(db: AsyncSession) -> None:
    """On SQLite, overwrite deleted content with zeros instead of leaving it in free pages."""
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(text("PRAGMA secure_delete = ON"))


async def checkpoint(engine: AsyncEngine) -> None:
    """On SQLite, fold the write-ahead log into the file and empty it (after an erasure)."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()  # outside any transaction, as it must be
            if raw.driver_connection is not None:
                await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _returnee(db: AsyncSession, returnee_id: int) -> Returnee:
    person = await repo.returnee(db, returnee_id)
    if person is None:
        raise UnknownReturneeError(f"no returnee {returnee_id}")
    return person


async def _rows(db: AsyncSession, model: Any, returnee_id: int) -> Sequence[Any]:
    result = await db.execute(
        select(model).where(model.returnee_id == returnee_id).order_by(model.id)
    )
    return result.scalars().all()


def _summary(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _profile(db: AsyncSession, r: Returnee) -> dict[str, Any]:
    caseworker = await db.get(User, r.caseworker_id) if r.caseworker_id else None
    return {
        "id": r.id,
        "name": r.name,
        "phone": r.phone,
        "country": r.country,
        "language": r.language,
        "channel": r.channel,
        "timezone": r.timezone,
        "caseworker": caseworker.email if caseworker else None,
        "consent": r.consent,
        "opted_out": r.opted_out,
        "created_at": _iso(r.created_at),
        "first_enrolled_at": _iso(r.first_enrolled_at),
        "wellbeing_planned_until": _iso(r.wellbeing_planned_until),
    }


def _address(a: Address) -> dict[str, Any]:
    return {
        "channel": a.channel,
        "address": a.address,
        "opted_out": a.opted_out,
        "last_inbound_at": _iso(a.last_inbound_at),
    }


def _consent(c: ConsentEvent) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "notice_version": c.notice_version,
        "method": c.method,
        "channel": c.channel,
        "created_at": _iso(c.created_at),
    }


def _message(m: Message) -> dict[str, Any]:
    return {
        "direction": m.direction,
        "channel": m.channel,
        "text": m.text,
        "intent": m.intent,
        "status": m.status,
        "error_code": m.error_code,
        "purpose": m.purpose,
        "enrollment_id": m.enrollment_id,
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
    }


def _checkin(c: Checkin) -> dict[str, Any]:
    return {"score": c.score, "comment": c.comment, "created_at": _iso(c.created_at)}


async def _enrollment(db: AsyncSession, e: Enrollment) -> dict[str, Any]:
    workshop = await db.get(Workshop, e.workshop_id)
    return {
        "id": e.id,
        "workshop": {
            "id": e.workshop_id,
            "title": workshop.title if workshop else None,
            "starts_at": _iso(workshop.starts_at) if workshop else None,
            "location": workshop.location if workshop else None,
        },
        "status": e.status,
        "rating": e.rating,
        "feedback": e.feedback,
        "created_at": _iso(e.created_at),
        "updated_at": _iso(e.updated_at),
    }


def _alert(a: Alert) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "priority": a.priority,
        "reason": a.reason,
        "status": a.status,
        "note": a.note,
        "created_at": _iso(a.created_at),
        "resolved_at": _iso(a.resolved_at),
    }


def _send(s: ScheduledSend) -> dict[str, Any]:
    return {
        "purpose": s.purpose,
        "enrollment_id": s.enrollment_id,
        "due_at": _iso(s.due_at),
        "send_at": _iso(s.send_at),
        "status": s.status,
        "reason": s.reason,
        "decided_at": _iso(s.decided_at),
    }


def _conversation(c: Conversation) -> dict[str, Any]:
    return {
        "flow_id": c.flow_id,
        "status": c.status,
        "session": c.session,
        "updated_at": _iso(c.updated_at),
    }


def _link(c: LinkCode) -> dict[str, Any]:
    return {"expires_at": _iso(c.expires_at), "used_at": _iso(c.used_at)}
