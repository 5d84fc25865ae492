"""Telegram end to end through the Bot API double and python-telegram-bot."""

from typing import Any

from sqlalchemy import func, select

from bot import linking
from bot.db.models import Address, Enrollment, Message, OutboxItem, Returnee
from bot.services import Services
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.channels.conftest import TG_SECRET, Wired
from tests.conftest import FIXED_NOW
from tests.doubles.telegram_api import contact_update, start_update, text_update

CHAT = 424242  # the chat id tests/builders.py gives Telegram returnees


async def _invite(services: Services) -> int:
    async with services.unit_of_work() as db:
        returnee = await make_returnee(
            db, now=FIXED_NOW, channel="telegram", country="TN", language="ar"
        )
        await make_enrollment(
            db, await make_workshop(db, now=FIXED_NOW, tz="Africa/Tunis"), returnee, now=FIXED_NOW
        )
        return returnee.id


async def _tick(wired: Wired) -> None:
    await tick(
        wired.services.unit_of_work,
        wired.services.conversations,
        wired.services.outbox,
        load_default_plan(),
        now=FIXED_NOW,
    )


async def _deliver(wired: Wired, update: dict[str, Any], secret: str = TG_SECRET) -> int:
    answer = await wired.http.post(
        "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    return answer.status_code


async def _count_in(services: Services) -> int:
    async with services.unit_of_work() as db:
        return int(
            (await db.execute(select(func.count()).where(Message.direction == "in"))).scalar_one()
        )


async def test_invitation_buttons_and_a_tap_confirm(wired: Wired) -> None:
    await _invite(wired.services)
    await _tick(wired)
    (sent,) = wired.telegram.sent
    assert str(sent.chat_id) == str(CHAT)
    assert sent.text.startswith("\u200f")
    assert sent.reply_markup is not None
    buttons = [row[0]["callback_data"] for row in sent.reply_markup["inline_keyboard"]]
    assert buttons == ["yes", "no", "maybe", "help"]

    tap = wired.telegram.callback_update(2, CHAT, "yes", sent.message_id)
    assert await _deliver(wired, tap) == 200
    await wired.services.outbox.drain(now=FIXED_NOW)
    async with wired.services.unit_of_work() as db:
        assert (await db.execute(select(Enrollment.status))).scalar_one() == "confirmed"
    assert len(wired.telegram.sent) == 2
    assert any(call.method.lower() == "answercallbackquery" for call in wired.telegram.calls)


async def test_a_typed_answer_in_darija_confirms(wired: Wired) -> None:
    await _invite(wired.services)
    await _tick(wired)
    assert await _deliver(wired, text_update(3, CHAT, "ih nji inchallah")) == 200
    async with wired.services.unit_of_work() as db:
        assert (await db.execute(select(Enrollment.status))).scalar_one() == "confirmed"


async def test_a_wrong_secret_is_refused_and_nothing_is_stored(wired: Wired) -> None:
    await _invite(wired.services)
    assert await _deliver(wired, text_update(4, CHAT, "oui"), secret="guess") == 403
    assert await _deliver(wired, text_update(4, CHAT, "oui"), secret="") == 403
    assert await _count_in(wired.services) == 0


async def test_each_update_id_is_processed_once(wired: Wired) -> None:
    await _invite(wired.services)
    await _tick(wired)
    for _ in range(3):
        assert await _deliver(wired, text_update(5, CHAT, "نعم")) == 200
    assert await _count_in(wired.services) == 1


async def test_a_blocked_bot_opts_the_returnee_out(wired: Wired) -> None:
    returnee_id = await _invite(wired.services)
    wired.telegram.block(CHAT)
    await _tick(wired)
    async with wired.services.unit_of_work() as db:
        returnee = await db.get(Returnee, returnee_id)
        item = (await db.execute(select(OutboxItem))).scalar_one()
    assert returnee is not None
    assert returnee.opted_out
    assert item.status == "failed"


async def test_a_flood_limit_is_retried_later(wired: Wired) -> None:
    await _invite(wired.services)
    wired.telegram.force_429(3)
    await _tick(wired)
    async with wired.services.unit_of_work() as db:
        item = (await db.execute(select(OutboxItem))).scalar_one()
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.next_attempt_at.timestamp() - FIXED_NOW.timestamp() == 3


async def test_a_deep_link_code_links_the_chat_once(wired: Wired) -> None:
    async with wired.services.unit_of_work() as db:
        returnee = await make_returnee(
            db, now=FIXED_NOW, country="SN", language="wo", channel="sms"
        )
        code = await linking.create_code(db, returnee.id, now=FIXED_NOW)
    assert await _deliver(wired, start_update(6, 777, code)) == 200
    await wired.services.outbox.drain(now=FIXED_NOW)
    assert wired.telegram.messages_to(777)  # welcomed in Wolof
    async with wired.services.unit_of_work() as db:
        linked = await db.get(Returnee, returnee.id)
        address = (
            await db.execute(select(Address).where(Address.channel == "telegram"))
        ).scalar_one()
    assert linked is not None
    assert linked.channel == "telegram"
    assert address.address == "777"
    # the code is spent: another chat cannot use it
    assert await _deliver(wired, start_update(7, 888, code)) == 200
    async with wired.services.unit_of_work() as db:
        count = (
            await db.execute(
                select(func.count()).select_from(Address).where(Address.channel == "telegram")
            )
        ).scalar_one()
    assert count == 1


async def test_sharing_ones_own_number_links_but_someone_elses_does_not(wired: Wired) -> None:
    async with wired.services.unit_of_work() as db:
        returnee = await make_returnee(db, now=FIXED_NOW, country="MA", language="fr")
        assert returnee.phone is not None
        phone = returnee.phone
    assert await _deliver(wired, contact_update(8, 999, phone, user_id=12345)) == 200
    async with wired.services.unit_of_work() as db:
        assert (
            await db.execute(select(Address).where(Address.channel == "telegram"))
        ).first() is None
    assert await _deliver(wired, contact_update(9, 999, phone.lstrip("+"), user_id=999)) == 200
    async with wired.services.unit_of_work() as db:
        address = (
            await db.execute(select(Address).where(Address.channel == "telegram"))
        ).scalar_one()
    assert address.address == "999"
    assert address.returnee_id == returnee.id
