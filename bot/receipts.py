"""Delivery receipts: a message's status only moves forward; failures are acted on."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import repo
from bot.db.models import Message, OutboxItem
from bot.effects import raise_alert

STATUS_ORDER = {
    "queued": 1,
    "accepted": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
OUTSIDE_WINDOW = "63016"  # WhatsApp free-form outside the 24-hour window
OPTED_OUT = {"21610", "63014"}
DEAD = {"21211", "21614", "30003", "30005", "30006", "63003", "63024"}


async def record_status(
    db: AsyncSession, provider_id: str, status: str, error_code: str | None, *, now: datetime
) -> Message | None:
    """Apply a provider's status report; ignore one that would move the status backwards."""
    message = (
        await db.execute(
            select(Message).where(Message.provider_id == provider_id, Message.direction == "out")
        )
    ).scalar_one_or_none()
    if message is None or status not in STATUS_ORDER:
        return message
    if STATUS_ORDER[status] < STATUS_ORDER.get(message.status, 0) or (
        STATUS_ORDER[status] == STATUS_ORDER.get(message.status, 0)
        and message.status in ("delivered", "failed", "undelivered")
    ):
        return message  # late or duplicate callback
    message.status, message.updated_at = status, now
    if status in ("failed", "undelivered"):
        message.error_code = error_code
        await _after_failure(db, message, error_code, now=now)
    return message


async def _after_failure(
    db: AsyncSession, message: Message, code: str | None, *, now: datetime
) -> None:
    returnee = await repo.returnee(db, message.returnee_id) if message.returnee_id else None
    if returnee is None:
        return
    if code == OUTSIDE_WINDOW and message.channel == "whatsapp":
        await _fallback_to_sms(db, message, now=now)
    elif code in OPTED_OUT:
        address = await repo.address_for(db, returnee.id, message.channel)
        if address is not None:
            address.opted_out = True
        if returnee.channel == message.channel:
            returnee.opted_out = True
            await repo.cancel_planned(db, returnee.id, reason="opted_out", now=now)
    else:
        dead = code in DEAD
        await raise_alert(
            db,
            returnee,
            kind="undeliverable",
            priority=4 if dead else 5,
            reason=f"message {message.id} {message.status} ({code or 'no code'})",
            now=now,
        )


async def _fallback_to_sms(db: AsyncSession, message: Message, *, now: datetime) -> None:
    """Send the same text by SMS when WhatsApp refuses it outside the 24-hour window."""
    assert message.returnee_id is not None
    if await repo.address_for(db, message.returnee_id, "sms") is None:
        return
    copy = Message(
        returnee_id=message.returnee_id,
        direction="out",
        channel="sms",
        text=message.text,
        status="queued",
        purpose=message.purpose,
        enrollment_id=message.enrollment_id,
        choices=message.choices,
        created_at=now,
        updated_at=now,
    )
    db.add(copy)
    await db.flush()
    db.add(
        OutboxItem(
            message_id=copy.id,
            idempotency_key=f"fallback:{message.id}",
            channel="sms",
            next_attempt_at=now,
            created_at=now,
        )
    )
