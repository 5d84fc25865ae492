"""Drive the Telegram and Twilio doubles with the real python-telegram-bot and twilio clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .server import RateLimit, RunningServer, serve_in_thread
from .telegram_api import (
    TelegramDouble,
    callback_update,
    contact_update,
    start_update,
    text_update,
)
from .twilio_api import (
    NotLoopbackError,
    RedirectingAsyncTwilioHttpClient,
    RedirectingTwilioHttpClient,
    TwilioDouble,
    segments,
    signed_inbound_form,
)

NOW = datetime(2025, 1, 14, 10, 0, tzinfo=UTC)
WA_SENDER, WA_USER = "whatsapp:+14155238886", "whatsapp:+212600000000"


class Ticker:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) whenever it builds a RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


# One server per double for the module (starting one costs ~0.1 s); reset() between tests.


@pytest.fixture(scope="module")
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture(scope="module")
def tg_server(ticker: Ticker) -> Iterator[TelegramDouble]:
    with TelegramDouble(monotonic=ticker, max_poll_seconds=0.05).serve() as double:
        yield double


@pytest.fixture
def tg(tg_server: TelegramDouble) -> TelegramDouble:
    tg_server.reset()
    return tg_server


@pytest.fixture(scope="module")
def twilio_server(ticker: Ticker) -> Iterator[TwilioDouble]:
    double = TwilioDouble(clock=lambda: NOW, monotonic=ticker, sms_limit=RateLimit(1))
    with double.serve():
        yield double


@pytest.fixture
def twilio(twilio_server: TwilioDouble) -> TwilioDouble:
    twilio_server.reset()
    return twilio_server


Received = list[tuple[dict[str, str], dict[str, str]]]  # (headers, form) of each callback


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[RunningServer, Received]]:
    """Serve an app that records the status callbacks it receives."""
    seen: Received = []

    async def record(request: Request) -> Response:
        form = await request.form()
        seen.append((dict(request.headers), {k: str(v) for k, v in form.items()}))
        return Response("<Response/>", media_type="text/xml")

    with serve_in_thread(Starlette(routes=[Route("/status", record, methods=["POST"])])) as srv:
        yield srv, seen


@pytest.fixture
def receiver(receiver_server: tuple[RunningServer, Received]) -> tuple[RunningServer, Received]:
    receiver_server[1].clear()
    return receiver_server


def bot_for(double: TelegramDouble, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(token or double.token, base_url=double.base_url + "/bot")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tg_server: TelegramDouble) -> AsyncIterator[telegram.Bot]:
    """Share one initialised PTB Bot (building one costs ~0.1 s of TLS setup)."""
    async with bot_for(tg_server) as shared:
        yield shared


def twilio_client(double: TwilioDouble, token: str | None = None) -> Client:
    http_client = RedirectingTwilioHttpClient(double.base_url)
    return Client(double.account_sid, token or double.auth_token, http_client=http_client)


# -- Telegram --------------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_send_is_answered_and_recorded(
    tg: TelegramDouble, bot: telegram.Bot, ticker: Ticker
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])
    html = "<b>Salam</b> &amp; bienvenue"
    first = await bot.send_message(42, html, parse_mode="HTML", reply_markup=keyboard)
    ticker.now += 1.0
    second = await bot.send_message(42, "Deux")
    other = await bot.send_message(7, "Ailleurs")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.text == "Salam & bienvenue"
    assert first.from_user == await bot.get_me()
    assert first.reply_markup == keyboard
    record = tg.sent[0]
    assert (record.chat_id, record.text, record.parse_mode) == (42, html, "HTML")
    assert record.reply_markup == {"inline_keyboard": [[{"text": "Oui", "callback_data": "yes"}]]}
    assert tg.messages_to(42) == [html, "Deux"]


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_errors_map_to_ptb_exceptions(tg: TelegramDouble, bot: telegram.Bot) -> None:
    tg.block(42)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "Salam")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(43, "1 < 2", parse_mode="HTML")
    tg.require_known_chats = True
    with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
        await bot.send_message(44, "Salam")
    with pytest.raises(InvalidToken):
        async with bot_for(tg, "987654321:wrong"):  # initialize() calls getMe
            pass
    assert tg.sent == []


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_flood_limits_raise_retry_after(
    tg: TelegramDouble, bot: telegram.Bot, ticker: Ticker
) -> None:
    await bot.send_message(42, "un")
    ticker.now += 0.4
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(42, "deux")
    ticker.now += 0.6
    tg.force_429(7)
    with pytest.raises(RetryAfter) as forced:
        await bot.send_message(42, "trois")
    await bot.send_message(42, "quatre")
    for chat_id in range(100, 129):  # 30 messages in this second, counting "quatre"
        await bot.send_message(chat_id, "diffusion")
    with pytest.raises(RetryAfter):
        await bot.send_message(200, "la 31e")
    assert per_chat.value.retry_after == timedelta(seconds=1)
    assert forced.value.retry_after == timedelta(seconds=7)
    assert [r.retry_after for r in tg.rejections] == [1, 7, 1]
    assert tg.messages_to(42) == ["un", "quatre"]


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_update_builders_parse_with_ptb(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    tg.push_update(
        text_update(1, 42, "Bonjour", first_name="Amina"),
        start_update(2, 42, "ref_ab12-CD"),
        callback_update(3, 42, "yes", message_id=9),
        contact_update(4, 42, "+212600000000", user_id=42),
    )
    text, start, tap, contact = await bot.get_updates(timeout=0)
    started = time.monotonic()
    assert await bot.get_updates(offset=5, timeout=10) == ()  # confirms all four, returns early
    assert time.monotonic() - started < 1.0
    assert text.message is not None
    assert text.message.text == "Bonjour"
    assert start.message is not None
    assert list(start.message.parse_entities().values()) == ["/start"]
    assert tap.callback_query is not None
    assert tap.callback_query.data == "yes"
    assert contact.message is not None
    assert contact.message.contact is not None
    assert contact.message.contact.user_id == 42


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_webhook_edit_and_small_methods(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])
    with pytest.raises(BadRequest, match=r"(?i)https url"):
        await bot.set_webhook("http://example.org/hook")
    assert await bot.set_webhook("https://bot.test/webhooks/telegram", secret_token="s3")
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert (await bot.get_webhook_info()).url == "https://bot.test/webhooks/telegram"
    assert await bot.delete_webhook()
    sent = await bot.send_message(42, "Choisissez", reply_markup=keyboard)
    tap = tg.callback_update(10, 42, "yes", sent.message_id)
    assert tap["callback_query"]["message"]["reply_markup"] == keyboard.to_dict()
    assert await bot.answer_callback_query("q1", text="Merci")
    edited = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
    assert isinstance(edited, telegram.Message)
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
    assert await bot.send_chat_action(42, "typing")


@pytest.mark.asyncio(loop_scope="module")
async def test_telegram_raw_http_json_body_and_unknown_method(tg: TelegramDouble) -> None:
    markup = {"inline_keyboard": [[{"text": "Oui", "callback_data": "yes"}]]}
    async with httpx.AsyncClient(base_url=f"{tg.base_url}/bot{tg.token}") as client:
        sent = await client.post(
            "/SENDMESSAGE", json={"chat_id": 5, "text": "a", "reply_markup": markup}
        )
        missing = await client.post("/noSuchMethod")
    assert sent.json()["result"]["reply_markup"] == markup  # method names ignore case
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# -- Twilio (the sync SDK, run in a worker thread) -----------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_twilio_create_is_answered_recorded_and_fetched(twilio: TwilioDouble) -> None:
    client = twilio_client(twilio)
    sent = await asyncio.to_thread(
        client.messages.create, to="+212600000001", from_="+33755550100", body="Rappel : à demain"
    )
    fetched = await asyncio.to_thread(client.messages(sent.sid).fetch)
    assert len(sent.sid) == 34
    assert sent.sid.startswith("SM")
    assert (sent.status, sent.direction, sent.num_segments) == ("queued", "outbound-api", "1")
    assert sent.date_created == NOW
    assert sent.error_code is None
    assert fetched.sid == sent.sid
    assert fetched.body == "Rappel : à demain"
    assert [m.to for m in twilio.messages] == ["+212600000001"]


@pytest.mark.asyncio(loop_scope="module")
async def test_twilio_errors_raise_rest_exceptions(twilio: TwilioDouble) -> None:
    twilio.fail_for("+212600000002", 21610)
    client = twilio_client(twilio)

    def create(to: str, client: Client = client) -> None:
        client.messages.create(to=to, from_="+33755550100", body="Salam")

    for to, code in (("+2126", 21211), ("+212600000002", 21610)):
        with pytest.raises(TwilioRestException) as caught:
            await asyncio.to_thread(create, to)
        assert (caught.value.status, caught.value.code) == (400, code)
    with pytest.raises(TwilioRestException) as unauthorised:
        await asyncio.to_thread(twilio_client(twilio, "wrong-token").messages.create,
                                to="+212600000001", from_="+33755550100", body="x")  # fmt: skip
    assert (unauthorised.value.status, unauthorised.value.code) == (401, 20003)
    assert twilio.messages == []


@pytest.mark.asyncio(loop_scope="module")
async def test_twilio_rate_limit_is_429(twilio: TwilioDouble, ticker: Ticker) -> None:
    client = twilio_client(twilio)

    def create(client: Client = client) -> None:
        client.messages.create(to="+212600000001", from_="+33755550100", body="Salam")

    await asyncio.to_thread(create)
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(create)
    ticker.now += 1.0
    await asyncio.to_thread(create)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert len(twilio.messages) == 2
    assert len(twilio.rejections) == 1


@pytest.mark.asyncio(loop_scope="module")
async def test_whatsapp_freeform_outside_window_fails_with_signed_63016(
    twilio: TwilioDouble, receiver: tuple[RunningServer, Received]
) -> None:
    server, seen = receiver
    url = server.base_url + "/status"
    twilio.customer_messaged(WA_USER, NOW - timedelta(hours=25))
    sent = await asyncio.to_thread(
        twilio_client(twilio).messages.create,
        to=WA_USER, from_=WA_SENDER, body="Salam", status_callback=url,
    )  # fmt: skip
    [callback] = await twilio.wait_for_callbacks(1)
    assert sent.status == "queued"
    headers, form = seen[0]
    assert form["MessageStatus"] == "failed"
    assert form["ErrorCode"] == "63016"
    assert form["MessageSid"] == sent.sid
    assert form["ChannelPrefix"] == "whatsapp"
    signature = headers["x-twilio-signature"]
    assert RequestValidator(twilio.auth_token).validate(url, form, signature)
    assert callback.status_code == 200
    assert twilio.message(sent.sid).status == "failed"


@pytest.mark.asyncio(loop_scope="module")
async def test_whatsapp_template_outside_window_is_delivered(
    twilio: TwilioDouble, receiver: tuple[RunningServer, Received]
) -> None:
    server, seen = receiver
    url = server.base_url + "/status"
    sent = await asyncio.to_thread(
        twilio_client(twilio).messages.create, to=WA_USER, from_=WA_SENDER,
        content_sid="HX" + "0" * 32, content_variables='{"1": "Amina"}', status_callback=url,
    )  # fmt: skip
    await twilio.advance(sent.sid, "sent")
    callback = await twilio.advance(sent.sid, "delivered")
    assert callback is not None
    assert "ErrorCode" not in callback.form
    assert [form["MessageStatus"] for _, form in seen] == ["sent", "delivered"]
    assert twilio.message(sent.sid).status == "delivered"
    assert twilio.message(sent.sid).params["ContentVariables"] == '{"1": "Amina"}'


@pytest.mark.asyncio(loop_scope="module")
# aiohttp 3.14 deprecates the `auth=` that twilio's async client passes it.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
async def test_twilio_async_client_reaches_the_double(twilio: TwilioDouble) -> None:
    twilio.customer_messaged(WA_USER, NOW - timedelta(hours=1))
    http_client = RedirectingAsyncTwilioHttpClient(twilio.base_url)
    client = Client(twilio.account_sid, twilio.auth_token, http_client=http_client)
    try:
        sent = await client.messages.create_async(to=WA_USER, from_=WA_SENDER, body="Salam")
    finally:
        await http_client.close()
    assert sent.status == "queued"
    assert twilio.message(sent.sid).pending == []


@pytest.mark.asyncio(loop_scope="module")
async def test_twilio_unknown_sid_and_messaging_service(twilio: TwilioDouble) -> None:
    client = twilio_client(twilio)
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(client.messages("SM" + "f" * 32).fetch)
    sent = await asyncio.to_thread(
        client.messages.create, to="+212600000001", messaging_service_sid="MG" + "0" * 32,
        body="Réponse « rapide » ?",
    )  # fmt: skip
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert (sent.status, sent.from_, sent.num_segments) == ("accepted", None, "1")


@pytest.mark.asyncio(loop_scope="module")
async def test_callbacks_to_an_in_process_app(twilio: TwilioDouble) -> None:
    """The documented set-up for an app under test that is not served on 127.0.0.1."""
    seen: list[str] = []

    async def status(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = "https://bot.test/status"
        ok = RequestValidator(double.auth_token).validate(
            url, form, request.headers["x-twilio-signature"]
        )
        seen.append(f"{form['MessageStatus']}:{form.get('ErrorCode')}:{ok}")
        return Response("<Response/>", media_type="text/xml")

    app = Starlette(routes=[Route("/status", status, methods=["POST"])])
    double = TwilioDouble(
        clock=lambda: NOW,
        callback_client=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app)),
        auto_callbacks=False,
    )
    with double.serve():
        sent = await asyncio.to_thread(
            twilio_client(double).messages.create,
            to=WA_USER, from_=WA_SENDER, body="Salam", status_callback="https://bot.test/status",
        )  # fmt: skip
        assert double.message(sent.sid).status == "queued"
        await double.flush()
    assert seen == ["failed:63016:True"]
    twilio.customer_messaged(WA_USER)  # the shared double posts with its own client:
    outside = await asyncio.to_thread(
        twilio_client(twilio).messages.create,
        to=WA_USER, from_=WA_SENDER, body="Salam", status_callback="https://example.org/s",
    )  # fmt: skip
    with pytest.raises(NotLoopbackError):  # so it refuses to leave the machine
        await twilio.advance(outside.sid, "sent")


def test_sms_segments() -> None:
    assert [segments("a" * 160), segments("a" * 161), segments("€" * 80)] == [1, 2, 1]
    assert [segments("ê" * 70), segments("ê" * 71), segments("« rapide »")] == [1, 2, 1]
    assert segments("é" * 160) == 1  # é is in GSM-7, ê is not


def test_signed_inbound_form_validates() -> None:
    url = "https://bot.test/webhooks/twilio"
    form, signature = signed_inbound_form(
        url, "token", from_="+212600000000", to="+14155238886", body="Oui",
        message_sid="SM" + "1" * 32, whatsapp=True, button_payload="consent_yes",
        profile_name="Amina",
    )  # fmt: skip
    assert RequestValidator("token").validate(url, form, signature)
    assert form["From"] == "whatsapp:+212600000000"
    assert form["WaId"] == "212600000000"
    assert form["ButtonPayload"] == "consent_yes"
    assert form["ProfileName"] == "Amina"
    sms, _ = signed_inbound_form(
        url, "token", from_="+212600000000", to="+33755550100", body="Salam",
        message_sid="SM" + "2" * 32,
    )  # fmt: skip
    assert (sms["FromCountry"], sms["ToCountry"], sms["NumSegments"]) == ("MA", "FR", "1")
