"""The walking skeleton end to end: invitation out, reply in, caseworker sees it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db import repo
from bot.db.models import Enrollment, Message, ScheduledSend
from bot.ports import InboundMessage
from bot.services import Services
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.conftest import FIXED_NOW

CASES = [("SN", "wo", "waaw", "Jërëjëf"), ("TN", "ar", "نعم", None), ("MA", "fr", "oui", "Merci")]


async def _invite(services: Services, country: str, lang: str) -> tuple[int, str]:
    async with services.unit_of_work() as db:
        returnee = await make_returnee(db, now=FIXED_NOW, country=country, language=lang)
        workshop = await make_workshop(db, now=FIXED_NOW)
        enrollment = await make_enrollment(db, workshop, returnee, now=FIXED_NOW)
        assert returnee.phone is not None
        return enrollment.id, returnee.phone


@pytest.mark.parametrize(("country", "lang", "reply", "thanks"), CASES)
async def test_invitation_reply_confirms_in_the_returnees_language(
    services: Services, country: str, lang: str, reply: str, thanks: str | None
) -> None:
    enrollment_id, phone = await _invite(services, country, lang)
    summary = await tick(
        services.unit_of_work,
        services.conversations,
        services.outbox,
        load_default_plan(),
        now=FIXED_NOW,
    )
    assert summary.due == 1
    assert summary.sent == 1
    assert summary.failed == 0

    outcome = await services.conversations.handle(
        InboundMessage(channel="sms", address=phone, text=reply, external_id="SM1"),
        now=FIXED_NOW + timedelta(minutes=5),
    )
    assert outcome.stored
    assert outcome.intent == "yes"

    async with services.unit_of_work() as db:
        enrollment = await db.get(Enrollment, enrollment_id)
        assert enrollment is not None
        assert enrollment.status == "confirmed"
        messages = list(await repo.messages_of(db, enrollment.returnee_id))
    assert [m.direction for m in messages] == ["out", "in", "out"]
    assert messages[0].purpose == "invitation"
    assert messages[0].status == "delivered"
    answer = messages[2].text
    if lang == "ar":
        assert answer.startswith("\u200f")
        assert any("\u0600" <= ch <= "\u06ff" for ch in answer)
    else:
        assert thanks is not None
        assert thanks in answer


async def test_a_second_tick_at_the_same_instant_sends_nothing(services: Services) -> None:
    await _invite(services, "SN", "wo")
    plan = load_default_plan()
    first = await tick(
        services.unit_of_work, services.conversations, services.outbox, plan, now=FIXED_NOW
    )
    second = await tick(
        services.unit_of_work, services.conversations, services.outbox, plan, now=FIXED_NOW
    )
    assert (first.planned, first.due, first.sent) == (4, 1, 1)  # invitation, 2 reminders, check
    assert (second.planned, second.due, second.sent, second.failed) == (0, 0, 0, 0)
    async with services.unit_of_work() as db:
        outgoing = (await db.execute(select(Message).where(Message.direction == "out"))).all()
        planned = (await db.execute(select(ScheduledSend.status))).scalars().all()
    assert len(outgoing) == 1
    assert sorted(planned) == ["planned", "planned", "planned", "sent"]


async def test_a_replayed_provider_message_is_stored_once(services: Services) -> None:
    _, phone = await _invite(services, "MA", "fr")
    await tick(
        services.unit_of_work,
        services.conversations,
        services.outbox,
        load_default_plan(),
        now=FIXED_NOW,
    )
    inbound = InboundMessage(channel="sms", address=phone, text="oui", external_id="SMdup")
    first = await services.conversations.handle(inbound, now=FIXED_NOW)
    again = await services.conversations.handle(inbound, now=FIXED_NOW)
    assert first.stored
    assert not again.stored
    async with services.unit_of_work() as db:
        incoming = (await db.execute(select(Message).where(Message.direction == "in"))).all()
    assert len(incoming) == 1


async def test_a_message_from_an_unknown_number_is_kept(services: Services) -> None:
    outcome = await services.conversations.handle(
        InboundMessage(channel="sms", address="+221770000000", text="salut"), now=FIXED_NOW
    )
    assert outcome.stored
    assert outcome.returnee_id is None
    async with services.unit_of_work() as db:
        kept = (await db.execute(select(Message))).scalars().one()
    assert kept.text == "salut"
    assert kept.returnee_id is None
