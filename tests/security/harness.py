"""The app with both channels switched on (no network), signing helpers and a database snapshot."""

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from hypothesis import settings as hsettings
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bot.app import build_app
from bot.channels.simulator import SimulatorChannel
from bot.db.base import Base
from bot.ports import Channel
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import make_settings

PUBLIC = "https://bot.example.org"
TWILIO_URL = PUBLIC + "/webhooks/twilio"
STATUS_URL = PUBLIC + "/webhooks/twilio/status"
AUTH_TOKEN = "fedcba9876543210fedcba9876543210"
TG_SECRET = "telegram-webhook-secret-for-tests"
FORM = "application/x-www-form-urlencoded"

hsettings.register_profile("security", database=None, deadline=None)  # no .hypothesis/ in the repo
PROPERTY = hsettings(hsettings.get_profile("security"), max_examples=150)


def channel_settings(database_url: str, var_dir: Path, **extra: str) -> Settings:
    """Settings with Twilio and Telegram on, over https (so cookies are Secure)."""
    return make_settings(
        database_url,
        var_dir,
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID="AC0123456789abcdef0123456789abcdef",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_SMS_FROM="+33755550100",
        TELEGRAM_BOT_TOKEN="123456:telegram-token-for-tests",
        TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        **extra,
    )


def offline_services(settings: Settings) -> Services:
    """Services whose channels only store what they send: nothing leaves the process."""
    channels: dict[str, Channel] = {
        name: SimulatorChannel(name) for name in ("simulator", "sms", "whatsapp", "telegram")
    }
    return build_services(settings, worker_id="security", channels=channels)


def http_client(services: Services) -> httpx.AsyncClient:
    """An HTTP client on the app (no sender task, no scheduler), seen from the internet."""
    app = build_app(services, sender=False, scheduler=False)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)),
        base_url="http://127.0.0.1:8000",
    )


def twilio_signature(url: str, form: Mapping[str, str]) -> str:
    """What Twilio would put in X-Twilio-Signature for this form posted to url."""
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, dict(form)))


def inbound_form(sid: str, from_: str, body: str) -> dict[str, str]:
    """A minimal inbound SMS form, as Twilio posts it."""
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": from_,
        "To": "+33755550100",
        "Body": body,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }


def telegram_update(update_id: int, chat_id: int, text_: str) -> dict[str, Any]:
    """A minimal Telegram text message update."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_764_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
            "text": text_,
        },
    }


async def snapshot(services: Services) -> dict[str, str]:
    """A digest of every table's rows, to show that nothing at all changed."""
    digests: dict[str, str] = {}
    async with services.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(text(f"SELECT * FROM {table.name}"))).all()
            canonical = sorted(repr(tuple(row)) for row in rows)
            digests[table.name] = (
                f"{len(rows)}:" + hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:16]
            )
    return digests


async def counts(services: Services) -> dict[str, int]:
    """Rows per table."""
    return {name: int(d.split(":")[0]) for name, d in (await snapshot(services)).items()}
