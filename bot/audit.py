"""The audit log: append-only facts of who did what to whose data, and the admins' query.

There is deliberately no update or delete here, and the ORM refuses both on AuditEvent rows
(see `_refuse`). Entries name people by id only ("returnee:42"), never by name or number, so the
log can outlive an erasure. On PostgreSQL, also revoke UPDATE and DELETE on `audit_log` from the
application's role (docs/security.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from bot.db.models import AuditEvent

MAX_DETAIL = 255
MAX_ACTOR = 254


class AuditTamperingError(RuntimeError):
    """Something tried to change or remove an audit entry."""


async def record(
    db: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    now: datetime,
) -> AuditEvent:
    """Append one entry in the caller's transaction (it commits, or rolls back, with the change)."""
    entry = AuditEvent(
        actor=(_clean(actor.strip().lower(), MAX_ACTOR) or "?"),
        action=_clean(action, 64) or "?",
        target=_clean(target, 64),
        detail=_clean(detail, MAX_DETAIL),
        created_at=now,
    )
    db.add(entry)
    await db.flush()
    return entry


def returnee_target(returnee_id: int) -> str:
    """How the log names a returnee: by id only."""
    return f"returnee:{returnee_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditQuery:
    """What an admin asks of the log; every field narrows it (None: any)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


async def search(db: AsyncSession, query: AuditQuery) -> Sequence[AuditEvent]:
    """Entries matching the query, newest first (e.g. "what did account X see between t1, t2")."""
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if query.actor is not None:
        stmt = stmt.where(AuditEvent.actor == query.actor.strip().lower())
    if query.action is not None:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.target is not None:
        stmt = stmt.where(AuditEvent.target == query.target)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.created_at < query.until)
    result = await db.execute(stmt.limit(max(1, min(query.limit, 10_000))))
    return result.scalars().all()


def as_dict(entry: AuditEvent) -> dict[str, Any]:
    """An entry as JSON-safe data."""
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "created_at": entry.created_at.isoformat(),
    }


def _clean(value: str | None, size: int) -> str | None:
    """One line, printable, bounded: an entry cannot forge another line of a log (ASVS 16.4.1)."""
    if value is None:
        return None
    flat = "".join(ch if ch.isprintable() else " " for ch in value)
    return flat[:size]


def _refuse_flush(session: Session, flush_context: object, instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTamperingError("audit entries are append-only")


def _refuse_statement(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is AuditEvent:
        raise AuditTamperingError("audit entries are append-only")


event.listen(Session, "before_flush", _refuse_flush)
event.listen(Session, "do_orm_execute", _refuse_statement)
