"""What a caseworker does with an alert: take it, give it back, note, resolve; each one logged.

While an open alert is assigned, automated messages to the person pause (repo.handled_among).
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.db.models import Alert

ACTIONS = ("assign", "release", "resolve")
NOTE_MAX = 8000  # the whole note; the oldest lines go first
NOTE_LINE_MAX = 2000


async def act(
    db: AsyncSession,
    alert: Alert,
    action: str,
    *,
    actor: str,
    now: datetime,
    assignee_id: int | None = None,
) -> bool:
    """Assign (to `assignee_id`), release or resolve an open alert; False if it is closed."""
    if action not in ACTIONS:
        raise ValueError(f"unknown alert action {action!r}")
    if alert.status != "open":
        return False
    detail = None
    if action == "assign":
        alert.assigned_to, detail = assignee_id, f"user:{assignee_id}"
    elif action == "release":
        alert.assigned_to = None
    else:
        alert.status, alert.resolved_at = "resolved", now
    await audit.record(
        db,
        actor=actor,
        action=f"alert_{action}",
        target=f"alert:{alert.id}",
        detail=detail,
        now=now,
    )
    return True


async def add_note(
    db: AsyncSession, alert: Alert, text: str, *, author: str, actor: str, now: datetime
) -> None:
    """Add a dated, signed line to the alert's note (encrypted at rest), and log it."""
    said = text.strip()[:NOTE_LINE_MAX]
    if said:
        line = f"{now:%d/%m/%Y %H:%M} UTC · {author} : {said}"
        alert.note = "\n".join(filter(None, (alert.note, line)))[-NOTE_MAX:]
    await audit.record(db, actor=actor, action="alert_note", target=f"alert:{alert.id}", now=now)


def note_lines(alert: Alert) -> list[str]:
    """The alert's note, one entry per line, oldest first."""
    return alert.note.splitlines() if alert.note else []
