"""Link a Telegram chat to a returnee: a single-use code from a caseworker, or their own number."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Address, LinkCode, Returnee

CODE_LIFETIME = timedelta(days=7)
START = "/start"


async def create_code(db: AsyncSession, returnee_id: int, *, now: datetime) -> str:
    """Make a single-use code for t.me/<bot>?start=<code>; only its keyed hash is stored."""
    code = secrets.token_urlsafe(12)  # 16 characters, within Telegram's 64 for start payloads
    db.add(LinkCode(code_index=code, returnee_id=returnee_id, expires_at=now + CODE_LIFETIME))
    await db.flush()
    return code


def start_payload(text: str) -> str | None:
    """Return the code of a "/start <code>" message, if it is one."""
    command, _, payload = text.strip().partition(" ")
    return payload.strip() or None if command.split("@")[0] == START else None


async def link_by_code(
    db: AsyncSession, code: str, chat_id: str, *, now: datetime
) -> Returnee | None:
    """Spend a code: link the chat to its returnee; None if unknown, used or expired."""
    link = (
        await db.execute(select(LinkCode).where(LinkCode.code_index == code).with_for_update())
    ).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    link.used_at = now
    return await _link(db, link.returnee_id, chat_id)


async def link_by_phone(db: AsyncSession, phone: str, chat_id: str) -> Returnee | None:
    """Link the chat to the returnee registered with this number (the sender's own contact)."""
    normalized = phone if phone.startswith("+") else f"+{phone}"
    returnee = (
        await db.execute(select(Returnee).where(Returnee.phone_index == normalized))
    ).scalar_one_or_none()
    return await _link(db, returnee.id, chat_id) if returnee is not None else None


async def _link(db: AsyncSession, returnee_id: int, chat_id: str) -> Returnee | None:
    returnee = await db.get(Returnee, returnee_id)
    if returnee is None:
        return None
    existing = (
        await db.execute(
            select(Address).where(Address.returnee_id == returnee_id, Address.channel == "telegram")
        )
    ).scalar_one_or_none()
    if existing is None:
        db.add(
            Address(
                returnee_id=returnee_id, channel="telegram", address=chat_id, address_index=chat_id
            )
        )
    else:
        existing.address, existing.address_index, existing.opted_out = chat_id, chat_id, False
    returnee.channel = "telegram"  # they chose to talk here
    await db.flush()
    return returnee
