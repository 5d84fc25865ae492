"""Builders for test data: returnees, workshops and enrollments through the real code paths."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import programme
from bot.db.models import Enrollment, Returnee, Workshop

PHONES = {"MA": "0612345678", "TN": "20123456", "SN": "771234567"}


async def make_returnee(
    db: AsyncSession,
    *,
    now: datetime,
    name: str = "Awa Diop",
    country: str = "SN",
    language: str = "wo",
    channel: str = "sms",
    phone: str | None = None,
    consent: bool = True,
    caseworker: str | None = None,
) -> Returnee:
    """Register a returnee the way the API does."""
    return await programme.create_returnee(
        db,
        programme.NewReturnee(
            name=name,
            phone=phone or PHONES[country],
            country=country,
            language=language,
            channel=channel,
            consent=consent,
            caseworker_email=caseworker,
            telegram_chat_id="424242" if channel == "telegram" else None,
        ),
        now=now,
    )


async def make_workshop(
    db: AsyncSession,
    *,
    now: datetime,
    starts_in: timedelta = timedelta(days=5),
    tz: str = "Africa/Dakar",
    title: str = "Atelier de developpement personnel",
) -> Workshop:
    """Schedule a workshop starting `starts_in` from now, lasting six hours."""
    starts = now + starts_in
    return await programme.create_workshop(
        db,
        programme.NewWorkshop(
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(hours=6),
            timezone=tz,
            location="Centre OIM",
        ),
        now=now,
    )


async def make_enrollment(
    db: AsyncSession, workshop: Workshop, returnee: Returnee, *, now: datetime
) -> Enrollment:
    """Enroll a returnee."""
    return await programme.enroll(db, workshop, returnee, now=now)
