"""Local doubles of the Telegram Bot API and Twilio's Messages API, served on 127.0.0.1."""

from .server import RateLimit, RunningServer, serve_in_thread
from .telegram_api import (
    TelegramDouble,
    callback_update,
    contact_update,
    start_update,
    text_update,
)
from .twilio_api import (
    RedirectingAsyncTwilioHttpClient,
    RedirectingTwilioHttpClient,
    TwilioDouble,
    signed_inbound_form,
)

__all__ = [
    "RateLimit",
    "RedirectingAsyncTwilioHttpClient",
    "RedirectingTwilioHttpClient",
    "RunningServer",
    "TelegramDouble",
    "TwilioDouble",
    "callback_update",
    "contact_update",
    "serve_in_thread",
    "signed_inbound_form",
    "start_update",
    "text_update",
]
