"""What a caseworker records for a person: consent told to them, Telegram link codes; logged."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, linking
from bot.db.models import ConsentEvent, Returnee
from bot.effects import record_consent

CONSENT_KINDS = ("given", "withdrawn")
DEFAULT_BOT = "returnee_bot"  # the link's bot username when TELEGRAM_BOT_USERNAME is unset


async def set_consent(
    db: AsyncSession, returnee: Returnee, kind: str, *, method: str, actor: str, now: datetime
) -> ConsentEvent:
    """Record consent given or withdrawn (told in person or by phone); withdrawal stops sends."""
    if kind not in CONSENT_KINDS:
        raise ValueError(f"consent kind must be one of {', '.join(CONSENT_KINDS)}")
    event = await record_consent(db, returnee, given=kind == "given", method=method, now=now)
    await audit.record(
        db,
        actor=actor,
        action=f"consent_{kind}",
        target=audit.returnee_target(returnee.id),
        now=now,
    )
    await db.flush()
    return event


async def consent_history(db: AsyncSession, returnee_id: int) -> list[ConsentEvent]:
    """The consent ledger of a returnee, oldest first."""
    rows = await db.execute(
        select(ConsentEvent)
        .where(ConsentEvent.returnee_id == returnee_id)
        .order_by(ConsentEvent.created_at, ConsentEvent.id)
    )
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class LinkCodeIssued:
    """A new single-use code, its t.me link, and when it stops working."""

    code: str
    link: str
    expires_at: datetime


async def issue_link_code(
    db: AsyncSession, returnee: Returnee, *, bot_username: str | None, actor: str, now: datetime
) -> LinkCodeIssued:
    """Make a Telegram link code; only its hash is stored, so it can be shown only now."""
    code = await linking.create_code(db, returnee.id, now=now)
    await audit.record(
        db, actor=actor, action="link_code", target=audit.returnee_target(returnee.id), now=now
    )
    link = f"https://t.me/{bot_username or DEFAULT_BOT}?start={code}"
    return LinkCodeIssued(code, link, now + linking.CODE_LIFETIME)
