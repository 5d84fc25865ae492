"""SMS and WhatsApp through Twilio: inbound forms to InboundMessage, sends through the REST API."""

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.ratelimit import RateLimiter
from bot.ports import ChannelError, InboundMessage, OutboundMessage, SendResult
from bot.rendering import body_with_options
from bot.settings import Settings

_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com")
WHATSAPP = "whatsapp:"
OPTED_OUT = {21610, 63014}
DEAD = {21211, 21614, 63003, 63024}
STATUS_ORDER = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Send Twilio's requests to TWILIO_API_BASE (a proxy or a test double)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Rewrite the host, then send."""
        return super().request(method, _TWILIO_HOST.sub(self.base, url), *args, **kwargs)


def validator(settings: Settings) -> RequestValidator:
    """The signature checker for webhooks, with the account's auth token."""
    return RequestValidator(str(settings.twilio_auth_token))


def to_inbound(form: Mapping[str, str]) -> InboundMessage:
    """Map an inbound webhook form to a channel-neutral message."""
    sender = form["From"]
    channel = "whatsapp" if sender.startswith(WHATSAPP) else "sms"
    return InboundMessage(
        channel=channel,
        address=sender.removeprefix(WHATSAPP),
        text=form.get("Body", ""),
        choice_id=form.get("ButtonPayload") or None,
        external_id=form["MessageSid"],
        profile_name=form.get("ProfileName"),
    )


def error_from(exc: TwilioRestException) -> ChannelError:
    """Say what a Twilio error means for the outbox."""
    code = int(exc.code) if exc.code else int(exc.status)
    if exc.status == 429 or code == 20429:
        return ChannelError("too many requests", code=str(code), retry_after=1.0)
    if code in OPTED_OUT:
        return ChannelError("recipient opted out", code=str(code), permanent=True, opted_out=True)
    if code in DEAD:
        return ChannelError(
            "not a valid mobile number", code=str(code), permanent=True, dead_address=True
        )
    permanent = 400 <= exc.status < 500
    return ChannelError(str(exc.msg)[:200], code=str(code), permanent=permanent)


class TwilioChannel:
    """Sends SMS or WhatsApp messages; the sync client runs in a thread."""

    def __init__(
        self,
        name: str,
        client: Client,
        sender: str,
        status_callback: str,
        *,
        per_second: float = 10.0,
    ) -> None:
        self.name = name
        self.client = client
        self.sender = sender
        self.status_callback = status_callback
        self.limiter = RateLimiter(per_second)

    @classmethod
    def from_settings(cls, settings: Settings, name: str) -> "TwilioChannel":
        """Build the adapter for "sms" or "whatsapp" from the configuration."""
        http = RedirectingHttpClient(settings.twilio_api_base, timeout=15)
        client = Client(
            settings.twilio_account_sid, str(settings.twilio_auth_token), http_client=http
        )
        sender = (
            f"{WHATSAPP}{settings.twilio_whatsapp_from.removeprefix(WHATSAPP)}"
            if name == "whatsapp" and settings.twilio_whatsapp_from
            else settings.twilio_sms_from or ""
        )
        return cls(
            name,
            client,
            sender,
            f"{settings.public_base_url}/webhooks/twilio/status",
            per_second=settings.twilio_rate,
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        """Create the message through the REST API."""
        if not self.sender:
            raise ChannelError(
                f"no sender number for {self.name}", code="no_sender", permanent=True
            )
        to = f"{WHATSAPP}{message.address}" if self.name == "whatsapp" else message.address
        if message.template:  # outside WhatsApp's window: the approved template, no Body
            variables = {str(n): v for n, v in enumerate(message.template_variables, start=1)}
            content: dict[str, str] = {
                "content_sid": message.template,
                "content_variables": json.dumps(variables),
            }
        else:
            content = {"body": body_with_options(message)}
        try:
            async with self.limiter.slot(to):  # counted from let go until answered
                created = await asyncio.to_thread(
                    self.client.messages.create,
                    to=to,
                    from_=self.sender,
                    status_callback=self.status_callback,
                    **content,
                )
        except TwilioRestException as exc:
            error = error_from(exc)
            if error.retry_after:
                self.limiter.slow_down(error.retry_after)
            raise error from None
        except OSError as exc:  # connection refused, reset, timeout: try again later
            raise ChannelError(f"network: {exc}", code="network") from None
        return SendResult(provider_id=str(created.sid), status=str(created.status or "queued"))
