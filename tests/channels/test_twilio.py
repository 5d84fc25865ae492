"""SMS and WhatsApp end to end through the Twilio double and the real twilio client."""

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.db.models import Address, Alert, Enrollment, Message, OutboxItem, Returnee
from bot.services import Services
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.channels.conftest import PUBLIC, SMS_FROM, WA_FROM, Wired
from tests.conftest import FIXED_NOW
from tests.doubles.twilio_api import new_sid, signed_inbound_form

INBOUND = f"{PUBLIC}/webhooks/twilio"


async def _invite(
    services: Services, *, channel: str = "sms", country: str = "MA", language: str = "fr"
) -> tuple[int, str]:
    async with services.unit_of_work() as db:
        returnee = await make_returnee(
            db, now=FIXED_NOW, channel=channel, country=country, language=language
        )
        await make_enrollment(db, await make_workshop(db, now=FIXED_NOW), returnee, now=FIXED_NOW)
        assert returnee.phone is not None
        return returnee.id, returnee.phone


async def _tick(wired: Wired, minutes: int = 0) -> None:
    await tick(
        wired.services.unit_of_work,
        wired.services.conversations,
        wired.services.outbox,
        load_default_plan(),
        now=FIXED_NOW + timedelta(minutes=minutes),
    )


async def _post_inbound(
    wired: Wired,
    phone: str,
    body: str,
    *,
    sid: str | None = None,
    whatsapp: bool = False,
    signature: str | None = None,
) -> int:
    form, good = wired.twilio.inbound_form(
        INBOUND,
        from_=phone,
        to=WA_FROM if whatsapp else SMS_FROM,
        body=body,
        message_sid=sid or new_sid(),
        whatsapp=whatsapp,
    )
    answer = await wired.http.post(
        "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature or good}
    )
    if answer.status_code == 200:
        assert answer.headers["content-type"].startswith("text/xml")
        assert "<Response/>" in answer.text
    return answer.status_code


async def _count(services: Services, model: type, *where: object) -> int:
    async with services.unit_of_work() as db:
        return int(
            (await db.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_invitation_reply_and_delivery_statuses_over_sms(wired: Wired) -> None:
    _returnee_id, phone = await _invite(wired.services)
    await _tick(wired)
    (sent,) = wired.twilio.messages
    assert sent.to == phone
    assert sent.params["From"] == SMS_FROM
    assert "1. Oui" in sent.body
    assert "4. " in sent.body
    assert sent.params["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status"

    assert await _post_inbound(wired, phone, "1") == 200
    await wired.services.outbox.drain(now=FIXED_NOW)
    async with wired.services.unit_of_work() as db:
        enrollment = (await db.execute(select(Enrollment))).scalar_one()
        assert enrollment.status == "confirmed"
    assert "Merci" in wired.twilio.messages[-1].body

    await wired.twilio.advance(sent.sid, "delivered")
    await wired.twilio.advance(sent.sid, "sent")  # late and out of order: ignored
    async with wired.services.unit_of_work() as db:
        status = (
            await db.execute(select(Message.status).where(Message.provider_id == sent.sid))
        ).scalar_one()
    assert status == "delivered"


async def test_forged_signatures_are_refused_and_nothing_is_stored(wired: Wired) -> None:
    _, phone = await _invite(wired.services)
    assert await _post_inbound(wired, phone, "oui", signature="forged") == 403
    form, signature = signed_inbound_form(
        INBOUND,
        wired.twilio.auth_token,
        from_=phone,
        to=SMS_FROM,
        body="oui",
        message_sid=new_sid(),
    )
    form["Body"] = "non"  # changed after signing
    changed = await wired.http.post(
        "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert changed.status_code == 403
    # signed for the URL the app sees behind the proxy instead of PUBLIC_BASE_URL
    form, wrong_url = signed_inbound_form(
        "http://10.0.0.5:8000/webhooks/twilio",
        wired.twilio.auth_token,
        from_=phone,
        to=SMS_FROM,
        body="oui",
        message_sid=new_sid(),
    )
    assert (
        await wired.http.post(
            "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": wrong_url}
        )
    ).status_code == 403
    assert await _count(wired.services, Message, Message.direction == "in") == 0


async def test_a_replayed_webhook_is_stored_once(wired: Wired) -> None:
    _, phone = await _invite(wired.services)
    await _tick(wired)
    sid = new_sid()
    for _ in range(3):
        assert await _post_inbound(wired, phone, "oui", sid=sid) == 200
    assert await _count(wired.services, Message, Message.direction == "in") == 1
    await wired.services.outbox.drain(now=FIXED_NOW)
    assert len(wired.twilio.messages) == 2  # the invitation and one answer


async def test_stop_over_sms_opts_out_and_21610_does_too(wired: Wired) -> None:
    returnee_id, phone = await _invite(wired.services)
    await _tick(wired)
    assert await _post_inbound(wired, phone, "STOP") == 200
    async with wired.services.unit_of_work() as db:
        returnee = await db.get(Returnee, returnee_id)
        assert returnee is not None
        assert returnee.opted_out
    # another returnee whose number Twilio refuses because they sent STOP to Twilio itself
    async with wired.services.unit_of_work() as db:
        other = await make_returnee(db, now=FIXED_NOW, country="SN", language="wo")
        await make_enrollment(db, await make_workshop(db, now=FIXED_NOW), other, now=FIXED_NOW)
        assert other.phone is not None
        wired.twilio.fail_for(other.phone, 21610)
    await _tick(wired, minutes=1)
    async with wired.services.unit_of_work() as db:
        refreshed = await db.get(Returnee, other.id)
        assert refreshed is not None
        assert refreshed.opted_out


async def test_an_invalid_number_raises_a_dead_number_alert(wired: Wired) -> None:
    returnee_id, phone = await _invite(wired.services)
    wired.twilio.fail_for(phone, 21211)
    await _tick(wired)
    async with wired.services.unit_of_work() as db:
        alert = (await db.execute(select(Alert))).scalar_one()
        failed = (await db.execute(select(Message).where(Message.direction == "out"))).scalar_one()
    assert (alert.kind, alert.priority, alert.returnee_id) == ("undeliverable", 4, returnee_id)
    assert (failed.status, failed.error_code) == ("failed", "21211")


async def test_429_slows_down_and_retries_instead_of_failing(wired: Wired) -> None:
    _, phone = await _invite(wired.services)
    wired.twilio.fail_for(phone, 20429, status=429)
    await _tick(wired)
    async with wired.services.unit_of_work() as db:
        item = (await db.execute(select(OutboxItem))).scalar_one()
    assert (item.status, item.attempts) == ("pending", 1)
    wired.twilio.reset()
    await wired.services.outbox.drain(now=FIXED_NOW + timedelta(seconds=5))
    assert len(wired.twilio.messages) == 1


async def test_whatsapp_outside_the_window_without_a_template_goes_by_sms(wired: Wired) -> None:
    _, phone = await _invite(wired.services, channel="whatsapp", country="SN", language="wo")
    await _tick(wired)  # the returnee never wrote: WhatsApp's window is closed
    (sent,) = wired.twilio.messages
    assert sent.to == phone  # not whatsapp:
    assert "Ndax dinga fa nekk" in sent.body
    async with wired.services.unit_of_work() as db:
        channel = (
            await db.execute(select(Message.channel).where(Message.direction == "out"))
        ).scalar_one()
    assert channel == "sms"


async def test_whatsapp_outside_the_window_uses_the_approved_template(wired: Wired) -> None:
    template = "HX" + "0" * 32
    wired.services.outbox.templates = {("invitation", "wo"): template}
    _, phone = await _invite(wired.services, channel="whatsapp", country="SN", language="wo")
    await _tick(wired)
    (sent,) = wired.twilio.messages
    assert sent.to == f"whatsapp:{phone}"
    assert sent.params["ContentSid"] == template
    assert "Body" not in sent.params
    variables = json.loads(sent.params["ContentVariables"])
    assert variables["1"] == "Awa"
    assert "Ndax dinga fa nekk" in variables["2"]
    assert await wired.twilio.flush() == []  # a template is allowed outside the window


async def test_a_63016_after_all_falls_back_to_sms(wired: Wired) -> None:
    _returnee_id, phone = await _invite(
        wired.services, channel="whatsapp", country="SN", language="wo"
    )
    async with wired.services.unit_of_work() as db:  # we believe the window is open...
        address = (
            await db.execute(select(Address).where(Address.channel == "whatsapp"))
        ).scalar_one()
        address.last_inbound_at = FIXED_NOW - timedelta(hours=1)
    await _tick(wired)  # ...but WhatsApp says otherwise (its clock, its rules)
    (freeform,) = wired.twilio.messages
    assert freeform.to == f"whatsapp:{phone}"
    (callback,) = await wired.twilio.flush()
    assert callback.form["ErrorCode"] == "63016"
    assert callback.status_code == 200
    await wired.services.outbox.drain(now=FIXED_NOW)
    fallback = wired.twilio.messages[-1]
    assert fallback.to == phone
    assert fallback.body == freeform.body
    async with wired.services.unit_of_work() as db:
        statuses = (
            await db.execute(
                select(Message.channel, Message.status)
                .where(Message.direction == "out")
                .order_by(Message.id)
            )
        ).all()
    assert [tuple(s) for s in statuses] == [("whatsapp", "failed"), ("sms", "queued")]


async def test_whatsapp_inside_the_window_replies_freely(wired: Wired) -> None:
    _, phone = await _invite(wired.services, channel="whatsapp", country="SN", language="wo")
    wired.twilio.customer_messaged(phone)
    async with wired.services.unit_of_work() as db:
        address = (
            await db.execute(select(Address).where(Address.channel == "whatsapp"))
        ).scalar_one()
        address.last_inbound_at = FIXED_NOW - timedelta(hours=1)
    await _tick(wired)
    assert await _post_inbound(wired, phone, "waaw", whatsapp=True) == 200
    await wired.services.outbox.drain(now=FIXED_NOW)
    assert await wired.twilio.flush() == []
    assert [m.whatsapp for m in wired.twilio.messages] == [True, True]
    async with wired.services.unit_of_work() as db:
        address = (
            await db.execute(select(Address).where(Address.channel == "whatsapp"))
        ).scalar_one()
    assert address.last_inbound_at is not None
