"""A caseworker's reply outside WhatsApp's window, through the API, the outbox, the real twilio
client and the Twilio double: inside the approved template, or by SMS when asked."""

import json

from bot.clock import utcnow
from bot.services import Services
from tests.bot.webapp import api_token
from tests.builders import make_returnee
from tests.channels.conftest import Wired

SID = "HX" + "d" * 32


async def _whatsapp_returnee(services: Services) -> tuple[int, str]:
    async with services.unit_of_work() as db:  # registered, never wrote: the window is closed
        returnee = await make_returnee(db, now=utcnow(), channel="whatsapp")
        assert returnee.phone is not None
        return returnee.id, returnee.phone


async def test_the_reply_goes_inside_the_approved_template(wired: Wired) -> None:
    wired.services.outbox.templates = {("manual", "wo"): SID}
    rid, phone = await _whatsapp_returnee(wired.services)
    headers = await api_token(wired.services)
    answer = await wired.http.post(
        f"/api/v1/returnees/{rid}/messages",
        json={"text": "Ñu ngi lay woo ci telefon", "as_template": True},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    await wired.services.outbox.drain(now=utcnow())
    (sent,) = wired.twilio.messages
    assert sent.to == f"whatsapp:{phone}"
    assert sent.params["ContentSid"] == SID
    assert "Body" not in sent.params
    assert json.loads(sent.params["ContentVariables"]) == {
        "1": "Awa",
        "2": "Ñu ngi lay woo ci telefon",
    }
    assert await wired.twilio.flush() == []  # WhatsApp accepts a template outside the window


async def test_the_reply_goes_by_sms_when_asked(wired: Wired) -> None:
    rid, phone = await _whatsapp_returnee(wired.services)  # no template configured
    headers = await api_token(wired.services)
    answer = await wired.http.post(
        f"/api/v1/returnees/{rid}/messages",
        json={"text": "Bonjour Awa", "by_sms": True},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    await wired.services.outbox.drain(now=utcnow())
    (sent,) = wired.twilio.messages
    assert sent.to == phone
    assert sent.body == "Bonjour Awa"
