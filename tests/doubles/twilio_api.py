"""A local double of Twilio's Messages API, its signed status callbacks and inbound webhooks."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.http.async_http_client import (
    AsyncTwilioHttpClient,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from .server import NotServingError, RateLimit, SlidingWindow, serve_in_thread

JSON = dict[str, Any]
Form = dict[str, str]

DEFAULT_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
DEFAULT_AUTH_TOKEN = "fedcba9876543210fedcba9876543210"
WHATSAPP_LIMIT = RateLimit(10)  # Twilio's default per WhatsApp sender
SMS_LIMIT = RateLimit(10)  # test-friendly; a real long code sends 1 segment/s
LONG_CODE_SMS_LIMIT = RateLimit(1)
CALLBACK_WAIT = 5.0  # seconds wait_for_callbacks waits at most
SERVICE_SENDER = "+15017122661"  # what a Messaging Service sends from, in status callbacks
WINDOW = timedelta(hours=24)  # WhatsApp customer service window
STATUSES = frozenset({"sending", "sent", "delivered", "undelivered", "failed", "read"})
API = "/2010-04-01/Accounts/{account_sid}"

ERRORS = {
    20003: "Authenticate",
    20404: "The requested resource {uri} was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21608: "The number {to} is unverified. Trial accounts cannot send messages to unverified "
    "numbers.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21656: "The ContentVariables Parameter is invalid.",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com")
_COUNTRIES = {"212": "MA", "216": "TN", "221": "SN", "33": "FR", "34": "ES", "1": "US"}
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class TwilioError(Exception):
    """A REST error, answered as `{"code", "message", "more_info", "status"}`."""

    def __init__(self, code: int, status: int = 400, *, retry_after: int = 1, **fmt: str) -> None:
        self.code, self.status, self.retry_after = code, status, retry_after
        self.message = ERRORS.get(code, f"Error {code}").format(**fmt)
        super().__init__(self.message)

    def response(self) -> JSONResponse:
        """Return the legacy JSON error body with its HTTP status."""
        more_info = f"https://www.twilio.com/docs/errors/{self.code}"
        body = {"code": self.code, "message": self.message, "more_info": more_info}
        headers = {"Retry-After": str(self.retry_after)} if self.status == 429 else None
        headers = (
            {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else headers
        )
        return JSONResponse({**body, "status": self.status}, self.status, headers)


class UnknownStatusError(ValueError):
    """advance() was given a status that Twilio never reports for this message."""

    def __init__(self, status: str) -> None:
        super().__init__(f"no status callback reports {status!r} for this message")


@dataclass(slots=True)
class Message:
    """One accepted message; `params` is the form as posted, `status` its current state."""

    sid: str
    account_sid: str
    params: Form
    sender: str | None
    status: str
    num_segments: int
    created: datetime
    updated: datetime
    sent_at: datetime | None = None
    error_code: int | None = None
    media: list[str] = field(default_factory=list)
    pending: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def to(self) -> str:
        """Return the recipient address, with its `whatsapp:` prefix if any."""
        return self.params["To"]

    @property
    def body(self) -> str:
        """Return the freeform text ("" for a template)."""
        return self.params.get("Body", "")

    @property
    def whatsapp(self) -> bool:
        """Tell whether the message goes over WhatsApp."""
        return self.to.startswith("whatsapp:")

    def resource(self) -> JSON:
        """Return the Message JSON, as in the 201 answer and GET .../Messages/SM….json."""
        uri = f"{API.format(account_sid=self.account_sid)}/Messages/{self.sid}"
        error_message = ERRORS.get(self.error_code) if self.error_code else None
        return {
            "sid": self.sid, "account_sid": self.account_sid, "api_version": "2010-04-01",
            "from": self.sender, "to": self.to, "body": self.body, "status": self.status,
            "direction": "outbound-api", "num_segments": str(self.num_segments),
            "num_media": str(len(self.media)),
            "messaging_service_sid": self.params.get("MessagingServiceSid"),
            "error_code": self.error_code, "error_message": error_message,
            "price": None, "price_unit": "USD", "date_created": _rfc2822(self.created),
            "date_updated": _rfc2822(self.updated), "date_sent": _rfc2822(self.sent_at),
            "uri": f"{uri}.json", "subresource_uris": {"media": f"{uri}/Media.json"},
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rejection:
    """A create answered 429."""

    sender: str
    to: str
    retry_after: int
    time: datetime


@dataclass(frozen=True, slots=True)
class Callback:
    """A status callback the double posted, and the HTTP status the receiver answered."""

    url: str
    form: Form
    signature: str
    status_code: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TwilioDouble:
    """Twilio's Messages API for one account, with failures, rate limits and the 24 h window."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        whatsapp_limit: RateLimit | None = WHATSAPP_LIMIT,
        sms_limit: RateLimit | None = SMS_LIMIT,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        callback_client: Callable[[], httpx.AsyncClient] | None = None,
        auto_callbacks: bool = True,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[Message] = []
        self._by_sid: dict[str, Message] = {}
        self.rejections: list[Rejection] = []
        self.callbacks: list[Callback] = []
        self.auto_callbacks = auto_callbacks
        self._clock, self._monotonic = clock, monotonic
        self._client_factory = callback_client
        self._limits = {True: whatsapp_limit, False: sms_limit}  # keyed by "is WhatsApp"
        self._windows = {wa: SlidingWindow(limit) for wa, limit in self._limits.items()}
        self._failures: dict[str, tuple[int, int]] = {}
        self._last_inbound: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._posted = threading.Condition(self._lock)  # notified on each callback posted
        self._base_url: str | None = None
        self.app = Starlette(
            routes=[
                Route(f"{API}/Messages.json", self._create, methods=["POST"]),
                Route(f"{API}/Messages/{{message_sid}}.json", self._fetch, methods=["GET"]),
            ],
            exception_handlers={404: self._not_found},
        )

    # -- driving the double from a test ----------------------------------------------------

    @contextmanager
    def serve(self) -> Iterator[Self]:
        """Serve the API on 127.0.0.1 for the duration of the block."""
        with serve_in_thread(self.app) as server:
            self._base_url = server.base_url
            try:
                yield self
            finally:
                self._base_url = None

    @property
    def base_url(self) -> str:
        """Return the root URL that replaces https://api.twilio.com."""
        if self._base_url is None:
            raise NotServingError
        return self._base_url

    def reset(self) -> None:
        """Forget messages, callbacks, failures, windows and rate history; keep the server."""
        with self._lock:
            for records in (self.messages, self.rejections, self.callbacks):
                records.clear()
            self._by_sid.clear()
            self._failures.clear()
            self._last_inbound.clear()
            self._windows = {wa: SlidingWindow(limit) for wa, limit in self._limits.items()}

    def fail_for(self, to: str, code: int, *, status: int = 400) -> None:
        """Reject every create whose `To` is exactly `to` (`whatsapp:` prefix included)."""
        with self._lock:
            self._failures[to] = (code, status)

    def customer_messaged(self, number: str, at: datetime | None = None) -> None:
        """Open the 24 h WhatsApp window of `number` (with or without `whatsapp:`) at `at`."""
        with self._lock:
            self._last_inbound[_bare(number)] = at or self._clock()

    def message(self, sid: str) -> Message:
        """Return an accepted message (KeyError if unknown)."""
        with self._lock:
            return self._by_sid[sid]

    def inbound_form(
        self, url: str, *, from_: str, to: str, body: str, **kw: Any
    ) -> tuple[Form, str]:
        """Build a signed inbound webhook (see signed_inbound_form) and note the customer spoke."""
        self.customer_messaged(from_)
        kw.setdefault("message_sid", new_sid())
        return signed_inbound_form(
            url, self.auth_token, from_=from_, to=to, body=body, account_sid=self.account_sid, **kw
        )

    async def advance(
        self, sid: str, status: str, error_code: int | None = None
    ) -> Callback | None:
        """Move a message to `status` and post its signed status callback, if it asked for one."""
        with self._lock:
            message = self._by_sid[sid]
            if status not in STATUSES or (status == "read" and not message.whatsapp):
                raise UnknownStatusError(status)
            message.status, message.error_code = status, error_code
            message.updated = self._clock()
            if status in {"sent", "delivered", "read"} and message.sent_at is None:
                message.sent_at = message.updated
            url = message.params.get("StatusCallback")
            form = self._callback_form(message)
        return await self._post(url, form) if url else None

    async def flush(self) -> list[Callback]:
        """Post the callbacks Twilio would send by itself (e.g. failed/63016), oldest first."""
        with self._lock:
            due = [(m.sid, *step) for m in self.messages for step in m.pending]
            for m in self.messages:
                m.pending.clear()
        posted = [await self.advance(sid, status, code) for sid, status, code in due]
        return [c for c in posted if c is not None]

    async def wait_for_callbacks(self, count: int) -> list[Callback]:
        """Wait until `count` callbacks were posted (at most CALLBACK_WAIT s); return them all."""
        return await asyncio.to_thread(self._wait_posted, count)

    def _wait_posted(self, count: int) -> list[Callback]:
        with self._posted:
            self._posted.wait_for(lambda: len(self.callbacks) >= count, CALLBACK_WAIT)
            return list(self.callbacks)

    # -- HTTP ------------------------------------------------------------------------------

    async def _create(self, request: Request) -> JSONResponse:
        form = await request.form()
        params: Form = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        media = [v for v in form.getlist("MediaUrl") if isinstance(v, str)]
        try:
            self._authenticate(request)
            message = self._accept(params, media)
        except TwilioError as exc:
            return exc.response()
        task = BackgroundTask(self.flush) if self.auto_callbacks and message.pending else None
        return JSONResponse(message.resource(), 201, background=task)

    async def _fetch(self, request: Request) -> JSONResponse:
        try:
            self._authenticate(request)
            message = self._find(request.path_params["message_sid"], request.url.path)
        except TwilioError as exc:
            return exc.response()
        return JSONResponse(message.resource())

    def _find(self, sid: str, uri: str) -> Message:
        with self._lock:
            found = self._by_sid.get(sid)
        if found is None:
            raise TwilioError(20404, 404, uri=uri)
        return found

    async def _not_found(self, request: Request, exc: Exception) -> JSONResponse:
        return TwilioError(20404, 404, uri=request.url.path).response()

    def _authenticate(self, request: Request) -> None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        header = request.headers.get("authorization", "")
        if header != f"Basic {expected}" or request.path_params["account_sid"] != self.account_sid:
            raise TwilioError(20003, 401)

    def _accept(self, params: Form, media: list[str]) -> Message:
        _validate(params)
        to, sender = params["To"], params.get("From") or params["MessagingServiceSid"]
        whatsapp, now = to.startswith("whatsapp:"), self._clock()
        with self._lock:
            if to in self._failures:
                code, status = self._failures[to]
                raise TwilioError(code, status, to=to)
            self._check_rate(whatsapp, sender, to)
            message = Message(
                new_sid(), self.account_sid, params, params.get("From"),
                "accepted" if "MessagingServiceSid" in params else "queued",
                1 if whatsapp else segments(params.get("Body", "")), now, now, media=media,
            )  # fmt: skip
            if whatsapp and "ContentSid" not in params and self._window_closed(to, now):
                message.pending.append(("failed", 63016))
            self.messages.append(message)
            self._by_sid[message.sid] = message
        return message

    def _check_rate(self, whatsapp: bool, sender: str, to: str) -> None:
        window, now = self._windows[whatsapp], self._monotonic()
        wait = window.wait_needed(sender, now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.rejections.append(Rejection(sender, to, retry_after, self._clock()))
            raise TwilioError(20429, 429, retry_after=retry_after)
        window.record(sender, now)

    def _window_closed(self, to: str, now: datetime) -> bool:
        last = self._last_inbound.get(_bare(to))
        return last is None or now - last > WINDOW

    def _callback_form(self, message: Message) -> Form:
        form = {
            "MessageSid": message.sid, "SmsSid": message.sid, "AccountSid": message.account_sid,
            "MessageStatus": message.status, "SmsStatus": message.status,
            "From": message.sender or _pool_sender(message.whatsapp),
            "To": message.to, "ApiVersion": "2010-04-01",
        }  # fmt: skip
        if message.error_code is not None:
            form["ErrorCode"] = str(message.error_code)
        if "MessagingServiceSid" in message.params:
            form["MessagingServiceSid"] = message.params["MessagingServiceSid"]
        if message.whatsapp:
            form |= {
                "ChannelPrefix": "whatsapp",
                "ChannelToAddress": _bare(message.to),
                "ChannelInstallSid": "XE" + "0" * 32,
                "StructuredMessage": "false",
            }
        return form

    async def _post(self, url: str, form: Form) -> Callback:
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": str(uuid.uuid4())}  # fmt: skip
        async with self._callback_client(url) as client:
            response = await client.post(url, data=form, headers=headers)
        callback = Callback(url, form, signature, response.status_code)
        with self._posted:
            self.callbacks.append(callback)
            self._posted.notify_all()
        return callback

    def _callback_client(self, url: str) -> httpx.AsyncClient:
        if self._client_factory is not None:
            return self._client_factory()
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
            # Tests never leave the machine: other hosts need an injected client.
            raise NotLoopbackError(url)
        return httpx.AsyncClient(timeout=5.0, trust_env=False)


class NotLoopbackError(ValueError):
    """A callback URL outside 127.0.0.1 was given without a callback_client."""

    def __init__(self, url: str) -> None:
        super().__init__(f"{url} is not on 127.0.0.1: pass callback_client= to TwilioDouble")


def _validate(params: Form) -> None:
    to, sender = params.get("To", ""), params.get("From") or params.get("MessagingServiceSid")
    if not to:
        raise TwilioError(21604)
    if not sender:
        raise TwilioError(21603)
    if not (params.get("Body") or params.get("MediaUrl") or params.get("ContentSid")):
        raise TwilioError(21602)
    if not _E164.fullmatch(_bare(to)):
        raise TwilioError(21211, to=to)
    if "From" in params and params["From"].startswith("whatsapp:") != to.startswith("whatsapp:"):
        raise TwilioError(21910)
    if len(params.get("Body", "")) > 1600:
        raise TwilioError(21617)
    try:
        json.loads(params.get("ContentVariables") or "{}")
    except ValueError as exc:
        raise TwilioError(21656) from exc


# -- pure helpers ----------------------------------------------------------------------------


def new_sid(prefix: str = "SM") -> str:
    """Return a fresh 34-character SID."""
    return prefix + uuid.uuid4().hex


def segments(body: str) -> int:
    """Count SMS segments: GSM-7 (160, then 153 each) or UCS-2 (70, then 67 each)."""
    if set(body) <= _GSM7 | _GSM7_EXTENSION:
        units, single, multi = sum(2 if c in _GSM7_EXTENSION else 1 for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def signed_inbound_form(
    url: str,
    auth_token: str,
    *,
    from_: str,
    to: str,
    body: str,
    message_sid: str,
    whatsapp: bool = False,
    button_payload: str | None = None,
    profile_name: str | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> tuple[Form, str]:
    """Return the inbound webhook form Twilio posts to `url`, and its X-Twilio-Signature."""
    sender, recipient = (_wa(from_), _wa(to)) if whatsapp else (from_, to)
    form = {"SmsMessageSid": message_sid, "NumMedia": "0", "SmsSid": message_sid,
            "SmsStatus": "received", "Body": body, "To": recipient,
            "NumSegments": "1" if whatsapp else str(segments(body)), "MessageSid": message_sid,
            "AccountSid": account_sid, "From": sender, "ApiVersion": "2010-04-01"}  # fmt: skip
    if whatsapp:
        form |= {
            "ProfileName": profile_name or "",
            "WaId": _bare(from_).lstrip("+"),
            "ReferralNumMedia": "0",
            "MessageType": "button" if button_payload else "text",
        }
        if button_payload is not None:
            form |= {"ButtonText": body, "ButtonPayload": button_payload}
    else:
        form |= {"FromCountry": _country(from_), "ToCountry": _country(to)}
    return form, RequestValidator(auth_token).compute_signature(url, form)


def _pool_sender(whatsapp: bool) -> str:
    # The number a Messaging Service picked from its pool: the callback names it in From.
    return "whatsapp:" + SERVICE_SENDER if whatsapp else SERVICE_SENDER


def _bare(address: str) -> str:
    return address.removeprefix("whatsapp:")


def _wa(address: str) -> str:
    return "whatsapp:" + _bare(address)


def _country(number: str) -> str:
    digits = _bare(number).lstrip("+")
    return next((c for p, c in sorted(_COUNTRIES.items()) if digits.startswith(p)), "")


def _rfc2822(when: datetime | None) -> str | None:
    return format_datetime(when.astimezone(UTC)) if when else None


# -- pointing the twilio SDK at the double (bot/channels keeps its own copy) ----------------


class RedirectingTwilioHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """twilio's sync HTTP client, sending every *.twilio.com request to `base_url` instead."""

    def __init__(self, base_url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self._base = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kw: Any) -> Any:
        """Send the request to the same path under `base_url`."""
        return super().request(method, _TWILIO_HOST.sub(self._base, url), *args, **kw)


class RedirectingAsyncTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's aiohttp client, redirected likewise; build it inside a running event loop."""

    def __init__(self, base_url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self._base = base_url.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kw: Any) -> Any:
        """Send the request to the same path under `base_url`."""
        return await super().request(method, _TWILIO_HOST.sub(self._base, url), *args, **kw)
