"""The demo programme: two workshops, a dozen fictional returnees, two caseworkers, one admin."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import accounts, programme
from bot.db.models import User

ADMIN = ("admin@demo.returnee-bot.org", "demo-admin-2026")
CASEWORKERS = [
    ("amina.caseworker@demo.returnee-bot.org", "Amina Benali"),
    ("moussa.caseworker@demo.returnee-bot.org", "Moussa Ndiaye"),
]
DEMO_PASSWORD = "demo-caseworker-2026"
# Fictional people: name, national phone (reserved-looking demo numbers), country, lang, channel
RETURNEES = [
    ("Youssef El Amrani", "0612345601", "MA", "ar", "whatsapp", 0),
    ("Fatima Zahra Idrissi", "0612345602", "MA", "fr", "sms", 0),
    ("Karim Bennani", "0612345603", "MA", "ar", "sms", 0),
    ("Hind Ouazzani", "0612345604", "MA", "fr", "whatsapp", 0),
    ("Sami Trabelsi", "20123456", "TN", "ar", "whatsapp", 0),
    ("Ines Jaziri", "20123457", "TN", "fr", "sms", 0),
    ("Mehdi Gharbi", "20123458", "TN", "ar", "telegram", 0),
    ("Awa Diop", "771234501", "SN", "wo", "whatsapp", 1),
    ("Mamadou Fall", "771234502", "SN", "wo", "sms", 1),
    ("Aminata Sow", "771234503", "SN", "fr", "sms", 1),
    ("Ibrahima Ba", "771234504", "SN", "wo", "telegram", 1),
    ("Khady Ndoye", "771234505", "SN", "fr", "whatsapp", 1),
]
WORKSHOPS = [  # title, weeks after the first, days long, place
    ("Atelier de développement personnel", 0, 2, "Centre OIM, salle 1"),
    ("Coaching : création et gestion de micro-projets", 1, 1, "Centre OIM, salle 2"),
]


def _monday_at(now: datetime, weeks: int, tz: str) -> datetime:
    """10:00 on a Monday at least four days ahead (plus whole weeks), so the demo lies ahead."""
    soonest = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=4)
    monday = soonest + timedelta(days=(7 - soonest.weekday()) % 7, weeks=weeks)
    return datetime.combine(monday, time(10), ZoneInfo(tz))


async def load(db: AsyncSession, *, now: datetime) -> str | None:
    """Load the demo unless its admin account exists already; say what was created."""
    if (await db.execute(select(User).where(User.email == ADMIN[0]))).scalar_one_or_none():
        return None
    await accounts.add_user(db, ADMIN[0], "admin", ADMIN[1], now=now, name="Admin démo")
    for email, name in CASEWORKERS:
        await accounts.add_user(db, email, "caseworker", DEMO_PASSWORD, now=now, name=name)
    workshops = []
    for title, weeks, length, place in WORKSHOPS:
        tz = "Africa/Casablanca"
        starts = _monday_at(now, weeks, tz)
        new = programme.NewWorkshop(
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(days=length - 1, hours=7),
            timezone=tz,
            location=place,
        )
        workshops.append(await programme.create_workshop(db, new, now=now))
    for name, phone, country, lang, channel, cw in RETURNEES:
        new_r = programme.NewReturnee(
            name=name,
            phone=phone,
            country=country,
            language=lang,
            channel=channel,
            caseworker_email=CASEWORKERS[cw][0],
            consent=True,
            telegram_chat_id=str(700000 + len(name)) + phone[-2:]
            if channel == "telegram"
            else None,
        )
        returnee = await programme.create_returnee(db, new_r, now=now)
        await programme.enroll(db, workshops[0], returnee, now=now)
        await programme.enroll(db, workshops[1], returnee, now=now)
    return (
        f"{len(RETURNEES)} returnees, {len(WORKSHOPS)} workshops, "
        f"{len(CASEWORKERS)} caseworkers; admin {ADMIN[0]} / {ADMIN[1]}"
    )
