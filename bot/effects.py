"""Apply a Sprint's events to the database: messages and outbox rows, fields, alerts, state."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import flows
from bot import i18n
from bot.db import repo
from bot.db.models import (
    Alert,
    Checkin,
    ConsentEvent,
    Conversation,
    Message,
    OutboxItem,
    Returnee,
)
from bot.messages import HANDED_OVER, NOT_UNDERSTOOD, NOTICE_VERSION
from flows import serialize

ENROLLMENT_STATUSES = {
    "invited",
    "confirmed",
    "declined",
    "unsure",
    "attended",
    "absent",
    "cancelled",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """Why these events happened: what the messages are for and how to key them."""

    now: datetime
    key: str  # idempotency prefix: "in:<message id>" or "sched:<send key>"
    purpose: str = "reply"
    enrollment_id: int | None = None
    params: Mapping[str, str] | None = None


async def queue_message(
    db: AsyncSession,
    returnee: Returnee,
    turn: Turn,
    *,
    text: str,
    choices: list[dict[str, str]] | None = None,
    n: int = 0,
    channel: str | None = None,
) -> Message:
    """Store an outbound message and its outbox row (on their channel unless told another)."""
    channel = channel or returnee.channel
    message = Message(
        returnee_id=returnee.id,
        direction="out",
        channel=channel,
        text=text,
        status="queued",
        purpose=turn.purpose,
        enrollment_id=turn.enrollment_id,
        choices=choices or None,
        created_at=turn.now,
        updated_at=turn.now,
    )
    db.add(message)
    # No flush here: the relationship fills message_id when the transaction flushes, so a
    # scheduler batch writes all its messages in a few multi-row INSERTs.
    db.add(
        OutboxItem(
            message=message,
            idempotency_key=f"{turn.key}:{n}",
            channel=channel,
            next_attempt_at=turn.now,
            created_at=turn.now,
        )
    )
    return message


async def raise_alert(
    db: AsyncSession, returnee: Returnee, *, kind: str, priority: int, reason: str, now: datetime
) -> Alert:
    """Open an alert, or keep the open one of the same kind (raising its priority if needed)."""
    alert = await repo.open_alert(db, returnee.id, kind)
    if alert is None:
        alert = Alert(
            returnee_id=returnee.id, kind=kind, priority=priority, reason=reason, created_at=now
        )
        db.add(alert)
    else:
        alert.priority = min(alert.priority, priority)
    await db.flush()
    return alert


async def apply(
    db: AsyncSession,
    returnee: Returnee,
    conversation: Conversation | None,
    sprint: flows.Sprint,
    turn: Turn,
) -> Conversation:
    """Apply every event of a sprint and store the run's new state."""
    params = dict(turn.params or {})
    n = 0
    for event in sprint.events:
        if isinstance(event, flows.MessageCreated):
            await _message(db, returnee, turn, event, params, n)
            n += 1
        elif isinstance(event, flows.FieldChanged):
            await _field(db, returnee, turn, event, sprint.session.flow_id)
        elif isinstance(event, flows.HandoffRequested):
            if event.kind == "not_understood":  # say so, rather than fall silent
                text = i18n.render(*HANDED_OVER, returnee.language, {})
                await queue_message(db, returnee, turn, text=text, n=n)
                n += 1
            await raise_alert(
                db,
                returnee,
                kind=event.kind,
                priority=event.priority,
                reason=event.reason,
                now=turn.now,
            )
    return await _store(db, returnee, conversation, sprint, turn)


async def _message(
    db: AsyncSession,
    returnee: Returnee,
    turn: Turn,
    event: flows.MessageCreated,
    params: Mapping[str, str],
    n: int,
) -> None:
    lang = returnee.language
    text = i18n.render(event.context, event.msgid, lang, params)
    if event.reprompt:
        hint = i18n.render(*NOT_UNDERSTOOD, lang, {})
        text = f"{hint}\n{text}"
    choices = [
        {"id": c.id, "label": i18n.translate(c.label.context, c.label.msgid, lang)}
        for c in event.choices
    ]
    await queue_message(db, returnee, turn, text=text, choices=choices, n=n)


async def _field(
    db: AsyncSession, returnee: Returnee, turn: Turn, event: flows.FieldChanged, flow_id: str
) -> None:
    if event.field == "enrollment_status":
        await _enrollment_status(db, returnee, turn, event.value)
    elif event.field == "score":
        db.add(Checkin(returnee_id=returnee.id, score=int(event.value), created_at=turn.now))
        await db.flush()
    elif event.field == "rating" and turn.enrollment_id is not None:
        enrollment = await repo.enrollment(db, turn.enrollment_id)
        if enrollment is not None:
            enrollment.rating = int(event.value)
    elif event.field == "comment":
        await _comment(db, returnee, turn, event.value, flow_id)
    elif event.field == "language" and event.value in i18n.LANGUAGES:
        returnee.language = event.value  # later messages of this sprint use the new language
    elif event.field == "consent":
        await record_consent(
            db, returnee, given=event.value == "given", method="chat", now=turn.now
        )


async def _enrollment_status(db: AsyncSession, returnee: Returnee, turn: Turn, status: str) -> None:
    enrollment = await repo.enrollment(db, turn.enrollment_id) if turn.enrollment_id else None
    if enrollment is None or status not in ENROLLMENT_STATUSES:
        return
    enrollment.status, enrollment.updated_at = status, turn.now
    if status == "declined":
        await repo.cancel_planned(
            db, returnee.id, reason="declined", now=turn.now, enrollment_id=enrollment.id
        )


async def _comment(
    db: AsyncSession, returnee: Returnee, turn: Turn, text: str, flow_id: str
) -> None:
    if flow_id == "wellbeing":
        checkin = await repo.latest_checkin(db, returnee.id)
        if checkin is not None:
            checkin.comment = text
    elif turn.enrollment_id is not None:
        enrollment = await repo.enrollment(db, turn.enrollment_id)
        if enrollment is not None:
            enrollment.feedback = text


async def record_consent(
    db: AsyncSession,
    returnee: Returnee,
    *,
    given: bool,
    method: str,
    now: datetime,
    channel: str | None = None,
) -> ConsentEvent:
    """Write the consent ledger; without consent nothing more is planned or sent."""
    returnee.consent = "given" if given else "withdrawn"
    event = ConsentEvent(
        returnee_id=returnee.id,
        kind="given" if given else "withdrawn",
        notice_version=NOTICE_VERSION,
        method=method,
        channel=channel or returnee.channel,
        created_at=now,
    )
    db.add(event)
    if not given:
        await repo.cancel_planned(db, returnee.id, reason="consent_withdrawn", now=now)
    return event


async def _store(
    db: AsyncSession,
    returnee: Returnee,
    conversation: Conversation | None,
    sprint: flows.Sprint,
    turn: Turn,
) -> Conversation:
    timeout_at = next(
        (e.timeout_at for e in sprint.events if isinstance(e, flows.WaitStarted)), None
    )
    data = serialize.dump(sprint.session)
    if conversation is None:
        conversation = Conversation(
            returnee_id=returnee.id,
            flow_id=sprint.session.flow_id,
            status=sprint.session.status.value,
            session=data,
            timeout_at=timeout_at,
            updated_at=turn.now,
        )
        db.add(conversation)
    else:
        conversation.flow_id = sprint.session.flow_id
        conversation.status = sprint.session.status.value
        conversation.session = data
        conversation.timeout_at = timeout_at
        conversation.updated_at = turn.now
    return conversation
