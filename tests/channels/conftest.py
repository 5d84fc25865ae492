"""The app wired to the Telegram and Twilio test doubles, through the real client libraries."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.app import build_app
from bot.channels import webhooks
from bot.services import Services, build_services
from tests.conftest import FIXED_NOW, make_settings
from tests.doubles.telegram_api import TelegramDouble
from tests.doubles.twilio_api import TwilioDouble

PUBLIC = "https://bot.example.org"  # what providers call; the app sees plain http behind a proxy
SMS_FROM = "+33755550100"
WA_FROM = "+14155238886"
TG_SECRET = "telegram-webhook-secret-for-tests"


@dataclass
class Wired:
    """Everything a channel test drives."""

    services: Services
    http: httpx.AsyncClient
    twilio: TwilioDouble
    telegram: TelegramDouble


@pytest.fixture
def twilio_double() -> Iterator[TwilioDouble]:
    """The Twilio double, serving on loopback."""
    double = TwilioDouble(auto_callbacks=False)
    with double.serve():
        yield double


@pytest.fixture
def telegram_double() -> Iterator[TelegramDouble]:
    """The Telegram double, serving on loopback."""
    with TelegramDouble().serve() as double:
        yield double


@pytest.fixture
async def wired(
    database_url: str,
    tmp_path: Path,
    twilio_double: TwilioDouble,
    telegram_double: TelegramDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Wired]:
    """Services with real Twilio and Telegram adapters pointed at the doubles; webhooks read
    the tests' clock (FIXED_NOW), so a test means the same whatever day it runs."""
    monkeypatch.setattr(webhooks, "utcnow", lambda: FIXED_NOW)
    settings = make_settings(
        database_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=twilio_double.account_sid,
        TWILIO_AUTH_TOKEN=twilio_double.auth_token,
        TWILIO_API_BASE=twilio_double.base_url,
        TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=f"whatsapp:{WA_FROM}",
        TWILIO_RATE_PER_SECOND="10",
        TELEGRAM_BOT_TOKEN=telegram_double.token,
        TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        TELEGRAM_API_BASE=telegram_double.base_url,
    )
    services = build_services(settings, worker_id="channels-test")
    app = build_app(services, sender=False, scheduler=False)
    transport = httpx.ASGITransport(app=app)
    twilio_double._client_factory = lambda: httpx.AsyncClient(transport=transport)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5:8000") as http:
        yield Wired(services, http, twilio_double, telegram_double)
    await services.close()
