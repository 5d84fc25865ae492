"""Webhooks: verify, parse, store, acknowledge. Replies go out later through the outbox."""

import hmac
import json
import logging
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from telegram import Update

from bot import receipts
from bot.channels import telegram_channel, twilio_channel
from bot.clock import utcnow
from bot.ports import InboundMessage

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks")
FORM = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # MessageSid, update_id: as the columns hold
_ADDRESS = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # a phone, or whatsapp:+...
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
_ERROR_CODE = re.compile(r"[0-9]{1,16}")


def _refuse(status: int, why: str) -> Response:
    return PlainTextResponse(why, status_code=status)


def _update_id_ok(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**63


def _storable(inbound: InboundMessage) -> bool:
    """Refuse what the database cannot hold: non-text, lone surrogates, ids beyond the columns."""
    if not _PROVIDER_ID.fullmatch(inbound.external_id or "0"):
        return False
    address = _CHAT_ID if inbound.channel == "telegram" else _ADDRESS
    if not isinstance(inbound.address, str) or not address.fullmatch(inbound.address):
        return False
    texts = (inbound.text, inbound.choice_id, inbound.profile_name, inbound.shared_phone)
    for value in texts:
        if value is None:
            continue
        if not isinstance(value, str):
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@router.post("/telegram")
async def telegram(request: Request) -> Response:
    """Receive a Telegram Update; each update_id is processed once."""
    services = request.app.state.services
    settings = services.settings
    expected = settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if (
        not settings.telegram_enabled
        or expected is None
        or not hmac.compare_digest(given.encode(), str(expected).encode())
    ):
        return _refuse(403, "forbidden")
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _refuse(415, "expected application/json")
    body = await request.body()  # outside the try: an oversized body is a 413, not a 400
    try:
        data: Any = json.loads(body)
        update = Update.de_json(data, None) if isinstance(data, dict) else None
    except Exception:  # PTB raises many types (OverflowError, OSError...) on hostile input
        update = None
    if update is None or not _update_id_ok(data.get("update_id")):
        return _refuse(400, "not a Telegram update")
    inbound = telegram_channel.to_inbound(update)
    if inbound is not None and not _storable(inbound):
        return _refuse(400, "not a Telegram update")
    if inbound is not None:
        await services.conversations.handle(inbound, now=utcnow())
    if update.callback_query is not None:
        channel = services.outbox.channels.get("telegram")
        if isinstance(channel, telegram_channel.TelegramChannel):
            await channel.answer_callback(update.callback_query.id)
    return JSONResponse({"ok": True})


async def _signed_form(request: Request) -> dict[str, str] | Response:
    """Parse a Twilio form and check its signature against PUBLIC_BASE_URL."""
    settings = request.app.state.services.settings
    if not settings.twilio_enabled:
        return _refuse(403, "forbidden")
    if not request.headers.get("content-type", "").startswith(FORM):
        return _refuse(415, "expected a form")
    try:
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
    except (ValueError, UnicodeDecodeError, AssertionError):
        return _refuse(400, "malformed form")
    url = settings.public_base_url + request.url.path  # what Twilio signed, not the proxy's URL
    signature = request.headers.get("X-Twilio-Signature", "")
    if not twilio_channel.validator(settings).validate(url, form, signature):
        return _refuse(403, "invalid signature")
    return form


@router.post("/twilio")
async def twilio(request: Request) -> Response:
    """Receive an SMS or WhatsApp message; answer empty TwiML only after it is stored."""
    form = await _signed_form(request)
    if isinstance(form, Response):
        return form
    if not form.get("MessageSid") or not form.get("From"):
        return _refuse(400, "MessageSid and From are required")
    inbound = twilio_channel.to_inbound(form)
    if not _storable(inbound):
        return _refuse(400, "malformed MessageSid or From")
    await request.app.state.services.conversations.handle(inbound, now=utcnow())
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status")
async def twilio_status(request: Request) -> Response:
    """Record a delivery status; it never moves a message's status backwards."""
    form = await _signed_form(request)
    if isinstance(form, Response):
        return form
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        return _refuse(400, "MessageSid and MessageStatus are required")
    services = request.app.state.services
    async with services.unit_of_work() as db:
        code = form.get("ErrorCode", "")
        code_ok = code if _ERROR_CODE.fullmatch(code) else None
        await receipts.record_status(db, sid, status, code_ok, now=utcnow())
    services.outbox.wake()  # a fallback SMS may have been queued
    return Response(EMPTY_TWIML, media_type="text/xml")
