"""`returnee-bot simulate`: the flows in a terminal, on a throwaway in-memory database."""

import sys
from datetime import timedelta

from sqlalchemy import select

from bot import programme
from bot.channels.simulator import SimulatorChannel
from bot.clock import utcnow
from bot.conversation import Conversations
from bot.db import crypto
from bot.db.base import Base
from bot.db.models import Message
from bot.db.session import make_engine, unit_of_work_factory
from bot.effects import Turn
from bot.outbox import Outbox
from bot.ports import InboundMessage, OutboundMessage
from bot.rendering import body_with_options
from bot.services import emergency_contacts, load_packaged_lexicons, load_registry

PHONES = {"fr": ("MA", "0612345699"), "ar": ("TN", "20123499"), "wo": ("SN", "771234599")}


async def run(*, lang: str, channel: str) -> int:
    """Invite a simulated returnee to a workshop, then chat until end of input."""
    crypto.configure(crypto.new_key())
    engine = make_engine("sqlite:///:memory:")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    uow = unit_of_work_factory(engine)
    conversations = Conversations(
        uow, load_registry(), load_packaged_lexicons(), emergency_contacts()
    )
    now = utcnow()
    country, phone = PHONES[lang]
    async with uow() as db:
        returnee = await programme.create_returnee(
            db,
            programme.NewReturnee(
                name="Simulation",
                phone=phone,
                country=country,
                language=lang,
                channel=channel,
                telegram_chat_id="1000" if channel == "telegram" else None,
                consent=True,
            ),
            now=now,
        )
        workshop = await programme.create_workshop(
            db,
            programme.NewWorkshop(
                title="Atelier de developpement personnel",
                starts_at=now + timedelta(days=3),
                ends_at=now + timedelta(days=3, hours=6),
                timezone=programme.COUNTRIES[country],
                location="Centre OIM",
            ),
            now=now,
        )
        enrollment = await programme.enroll(db, workshop, returnee, now=now)
        await conversations.start_flow(
            db,
            returnee,
            "invitation",
            fields={"enrollment_id": str(enrollment.id)},
            turn=Turn(now=now, key="sim", purpose="invitation", enrollment_id=enrollment.id),
        )
        address = "1000" if channel == "telegram" else returnee.phone
    shown = await _show(uow, 0, channel)
    print("(type a reply; an empty line or end of input quits)", file=sys.stderr)
    for line in sys.stdin:
        if not line.strip():
            break
        await conversations.handle(
            InboundMessage(channel=channel, address=address or "", text=line.strip()), now=utcnow()
        )
        shown = await _show(uow, shown, channel)
    await Outbox(uow, {channel: SimulatorChannel(channel)}).drain(now=utcnow())
    await engine.dispose()
    return 0


async def _show(uow: object, after: int, channel: str) -> int:
    async with uow() as db:  # type: ignore[operator]
        rows = list(
            (
                await db.execute(
                    select(Message)
                    .where(Message.direction == "out", Message.id > after)
                    .order_by(Message.id)
                )
            ).scalars()
        )
    for message in rows:
        choices = tuple((c["id"], c["label"]) for c in message.choices or [])
        rendered = body_with_options(
            OutboundMessage(
                channel=channel, address="", text=message.text, choices=choices, idempotency_key=""
            )
        )
        print(f"bot> {rendered}\n", flush=True)
    return rows[-1].id if rows else after
