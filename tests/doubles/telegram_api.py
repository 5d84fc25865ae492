"""A local double of the Telegram Bot API (`/bot<TOKEN>/<method>`), answering like Telegram."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .server import NotServingError, RateLimit, SlidingWindow, serve_in_thread

JSON = dict[str, Any]
ChatId = int | str
Handler = Callable[[JSON], Awaitable[Any]]

DEFAULT_TOKEN = "123456789:AAF-test-token-for-the-local-double0"
OVERALL_LIMIT = RateLimit(30)  # about 30 messages/s per bot (telegram.constants.FloodLimit)
PER_CHAT_LIMIT = RateLimit(1)  # 1 message/s in one chat
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span"}
    | {"tg-spoiler", "tg-emoji", "blockquote"}
)
_MARKDOWN_RESERVED = frozenset(".!-=+#{}|")
_CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice"}
    | {"upload_document", "choose_sticker", "find_location", "record_video_note"}
    | {"upload_video_note"}
)
_HTTPS_NEEDED = "An HTTPS URL must be provided for webhook"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """A Bot API error, answered as `{"ok": false, "error_code", "description"}`."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> JSONResponse:
        """Return the error envelope with the matching HTTP status."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.code)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A sendMessage the double accepted; `text` is as sent, before parse_mode."""

    chat_id: ChatId
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JSON | None
    time: datetime


@dataclass(frozen=True, slots=True)
class ApiCall:
    """Any authorised call to a known method, accepted or not."""

    method: str
    params: JSON
    time: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """A call answered 429."""

    method: str
    chat_id: ChatId | None
    retry_after: int
    time: datetime


@dataclass(slots=True)
class Webhook:
    """What setWebhook stored."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40


@dataclass(slots=True)
class _Forced:
    retry_after: int
    method: str | None


@dataclass(slots=True)
class _State:
    chats: dict[ChatId, JSON] = field(default_factory=dict)
    blocked: set[ChatId] = field(default_factory=set)
    messages: dict[tuple[ChatId, int], JSON] = field(default_factory=dict)
    last_id: defaultdict[ChatId, int] = field(default_factory=lambda: defaultdict(int))
    updates: list[JSON] = field(default_factory=list)
    forced: list[_Forced] = field(default_factory=list)
    webhook: Webhook | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TelegramDouble:
    """The Bot API for one bot token, with blocked chats, flood limits and an update queue."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "returnee_test_bot",
        require_known_chats: bool = False,
        overall_limit: RateLimit | None = OVERALL_LIMIT,
        per_chat_limit: RateLimit | None = PER_CHAT_LIMIT,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        max_poll_seconds: float = 0.5,
    ) -> None:
        self.token = token
        self.bot_user = bot_user(token, bot_username)
        self.require_known_chats = require_known_chats
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.rejections: list[Rejection] = []
        self._clock, self._monotonic, self._max_poll = clock, monotonic, max_poll_seconds
        self._limits, self._known_default = (overall_limit, per_chat_limit), require_known_chats
        self._overall, self._per_chat = SlidingWindow(overall_limit), SlidingWindow(per_chat_limit)
        self._state = _State()
        self._lock = threading.Lock()
        self._base_url: str | None = None
        self._handlers = self._handler_table()
        route = Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])
        self.app = Starlette(routes=[route])

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
        """Return the root URL; PTB wants `base_url + "/bot"`."""
        if self._base_url is None:
            raise NotServingError
        return self._base_url

    def reset(self) -> None:
        """Forget all calls, chats, updates and flood history; keep the server and the token."""
        with self._lock:
            self.require_known_chats = self._known_default
            for records in (self.sent, self.calls, self.rejections):
                records.clear()
            self._overall, self._per_chat = (SlidingWindow(limit) for limit in self._limits)
            self._state = _State()

    @property
    def webhook(self) -> Webhook | None:
        """Return the webhook set by setWebhook, if any."""
        return self._state.webhook

    def add_chat(self, chat_id: int, *, first_name: str = "Amina", **extra: str) -> None:
        """Make a private chat known (see `require_known_chats`), with its display fields."""
        with self._lock:
            self._state.chats[chat_id] = {
                "id": chat_id,
                "type": "private",
                "first_name": first_name,
                **extra,
            }

    def block(self, chat_id: ChatId) -> None:
        """Answer 403 "bot was blocked by the user" to every send to this chat."""
        with self._lock:
            self._state.blocked.add(chat_id)

    def unblock(self, chat_id: ChatId) -> None:
        """Let sends to this chat through again."""
        with self._lock:
            self._state.blocked.discard(chat_id)

    def force_429(self, retry_after: int, *, method: str | None = "sendMessage") -> None:
        """Answer the next call of `method` (None: of any method) with 429 and this retry_after."""
        with self._lock:
            self._state.forced.append(_Forced(retry_after, method and method.lower()))

    def push_update(self, *updates: JSON) -> None:
        """Queue inbound updates for getUpdates."""
        with self._lock:
            self._state.updates.extend(updates)

    def messages_to(self, chat_id: ChatId) -> list[str]:
        """Return the texts sent to one chat, oldest first."""
        return [m.text for m in self.sent if m.chat_id == chat_id]

    def message(self, chat_id: ChatId, message_id: int) -> JSON:
        """Return a message the bot sent, as last edited (KeyError if unknown)."""
        with self._lock:
            return dict(self._state.messages[chat_id, message_id])

    def callback_update(self, update_id: int, chat_id: int, data: str, message_id: int) -> JSON:
        """Return the Update for a tap on a button of a message this bot sent."""
        return callback_update(
            update_id, chat_id, data, message_id, message=self.message(chat_id, message_id)
        )

    # -- HTTP ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"].lower()
        try:
            params = await _read_params(request)
            handler = self._authorise(request.path_params["token"], method, params)
            result = await handler(params)
        except ApiError as exc:
            return exc.response()
        return JSONResponse({"ok": True, "result": result})

    def _authorise(self, token: str, method: str, params: JSON) -> Handler:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        with self._lock:
            self.calls.append(ApiCall(method, params, self._clock()))
            forced = next((f for f in self._state.forced if f.method in (None, method)), None)
            if forced is not None:
                self._state.forced.remove(forced)
                self._reject(method, _maybe_chat_id(params), forced.retry_after)
        return handler

    def _handler_table(self) -> dict[str, Handler]:
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_reply_markup,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
        }

    def _reject(self, method: str, chat_id: ChatId | None, retry_after: int) -> None:
        self.rejections.append(Rejection(method, chat_id, retry_after, self._clock()))
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
        )

    # -- methods ---------------------------------------------------------------------------

    async def _get_me(self, params: JSON) -> JSON:
        flags = {"can_join_groups": True, "can_read_all_group_messages": False}
        return {**self.bot_user, **flags, "supports_inline_queries": False}

    async def _send_message(self, params: JSON) -> JSON:
        text, parse_mode = str(params.get("text") or ""), params.get("parse_mode") or None
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        plain, markup = render_text(text, parse_mode), _json_param(params, "reply_markup")
        with self._lock:
            chat_id = self._writable_chat(params)
            self._check_flood(chat_id)
            message = self._new_message(chat_id, plain, markup)
            self.sent.append(
                SentMessage(chat_id, message["message_id"], text, parse_mode, markup, self._clock())
            )
        return message

    async def _send_chat_action(self, params: JSON) -> bool:
        with self._lock:
            self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return True

    async def _edit_message_text(self, params: JSON) -> JSON:
        text = render_text(str(params.get("text") or ""), params.get("parse_mode") or None)
        markup = _json_param(params, "reply_markup")
        return self._edit(params, {"text": text, "reply_markup": markup})

    async def _edit_reply_markup(self, params: JSON) -> JSON:
        return self._edit(params, {"reply_markup": _json_param(params, "reply_markup")})

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(400, f"Bad Request: bad webhook: {_HTTPS_NEEDED}")
        with self._lock:
            self._drop_pending(params)
            self._state.webhook = (
                Webhook(
                    url,
                    params.get("secret_token") or None,
                    _json_param(params, "allowed_updates"),
                    int(params.get("max_connections") or 40),
                )
                if url
                else None
            )
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        with self._lock:
            self._drop_pending(params)
            self._state.webhook = None
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        with self._lock:
            hook, pending = self._state.webhook, len(self._state.updates)
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
        return info

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._state.webhook is not None:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        # Long polls are cut short so that tests and server shutdown never wait for long.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self._max_poll)
        while True:
            with self._lock:
                batch = self._confirm_and_take(offset, limit)
            if batch or time.monotonic() >= deadline:
                return batch
            await asyncio.sleep(0.01)

    # -- state helpers (called with the lock held) -----------------------------------------

    def _writable_chat(self, params: JSON) -> ChatId:
        chat_id = _chat_id(params)
        if self.require_known_chats and chat_id not in self._state.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_flood(self, chat_id: ChatId) -> None:
        now = self._monotonic()
        wait = max(self._overall.wait_needed(None, now), self._per_chat.wait_needed(chat_id, now))
        if wait > 0:
            self._reject("sendmessage", chat_id, max(1, math.ceil(wait)))
        self._overall.record(None, now)
        self._per_chat.record(chat_id, now)

    def _new_message(self, chat_id: ChatId, text: str, markup: JSON | None) -> JSON:
        self._state.last_id[chat_id] += 1
        message: JSON = {
            "message_id": self._state.last_id[chat_id],
            "date": int(self._clock().timestamp()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            "text": text,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._state.messages[chat_id, message["message_id"]] = message
        return message

    def _chat(self, chat_id: ChatId) -> JSON:
        if chat_id in self._state.chats:
            return self._state.chats[chat_id]
        if isinstance(chat_id, int) and chat_id < 0:
            return {"id": chat_id, "type": "group", "title": "Test group"}
        return {"id": chat_id, "type": "private", "first_name": "Test"}

    def _edit(self, params: JSON, changes: JSON) -> JSON:
        with self._lock:
            key = (self._writable_chat(params), int(params.get("message_id") or 0))
            old = self._state.messages.get(key)
            if old is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            new = {**old, **{k: v for k, v in changes.items() if v is not None}}
            if "reply_markup" in changes and changes["reply_markup"] is None:
                new.pop("reply_markup", None)
            if new == old:
                raise ApiError(400, _NOT_MODIFIED)
            new["edit_date"] = int(self._clock().timestamp())
            self._state.messages[key] = new
        return new

    def _drop_pending(self, params: JSON) -> None:
        if str(params.get("drop_pending_updates")).lower() in ("true", "1"):
            self._state.updates.clear()

    def _confirm_and_take(self, offset: int, limit: int) -> list[JSON]:
        updates = self._state.updates
        if offset < 0:
            del updates[: max(0, len(updates) + offset)]
        else:
            updates[:] = [u for u in updates if u["update_id"] >= offset]
        return list(updates[:limit])


# -- request parsing and text rendering ------------------------------------------------------


async def _read_params(request: Request) -> JSON:
    """Merge query, JSON, urlencoded and multipart parameters, as Telegram accepts all four."""
    params: JSON = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        try:
            params.update(json.loads(body) if body else {})
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON") from exc
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _json_param(params: JSON, name: str) -> Any:
    # PTB json-encodes every non-string value; a JSON body carries the object itself.
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from exc
    return value


def _chat_id(params: JSON) -> ChatId:
    chat_id = _maybe_chat_id(params)
    if chat_id is None:
        raise ApiError(400, "Bad Request: chat_id is empty")
    return chat_id


def _maybe_chat_id(params: JSON) -> ChatId | None:
    raw = params.get("chat_id")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        return str(raw)


def render_text(text: str, parse_mode: str | None) -> str:
    """Return the text Telegram would show, or raise ApiError 400 "can't parse entities"."""
    if parse_mode is None:
        return text
    if parse_mode.upper() == "HTML":
        return _HtmlText.render(text)
    if parse_mode == "MarkdownV2":
        _check_markdown_v2(text)
        return text
    if parse_mode == "Markdown":
        return text
    raise ApiError(400, f'Bad Request: unsupported parse_mode "{parse_mode}"')


class _HtmlText(HTMLParser):
    """Telegram's HTML subset: known tags only, properly nested, `<` escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.open: list[str] = []

    @classmethod
    def render(cls, text: str) -> str:
        parser = cls()
        parser.feed(text)
        parser.close()
        if parser.open:
            parser.fail(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
        return "".join(parser.parts)

    def fail(self, reason: str) -> None:
        raise ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.fail(f'Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.fail(f'Unmatched end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.fail('Unsupported start tag: unescaped "<"')
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        self.parts.append(chr(code))


def _check_markdown_v2(text: str) -> None:
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _MARKDOWN_RESERVED:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: Character '{char}' is "
                "reserved and must be escaped with the preceding '\\'",
            )


# -- inbound Update builders -----------------------------------------------------------------


def bot_user(token: str = DEFAULT_TOKEN, username: str = "returnee_test_bot") -> JSON:
    """Return the bot's User object; its id is the token's numeric prefix, as on Telegram."""
    first_name = "Returnee Test Bot"
    return {
        "id": int(token.split(":", 1)[0]),
        "is_bot": True,
        "first_name": first_name,
        "username": username,
    }


def text_update(
    update_id: int, chat_id: int, text: str, *, first_name: str = "Amina", **message: Any
) -> JSON:
    """Return an Update with a text message in the private chat of user `chat_id`."""
    return {
        "update_id": update_id,
        "message": _inbound(update_id, chat_id, first_name, text=text, **message),
    }


def start_update(update_id: int, chat_id: int, payload: str | None, **kw: Any) -> JSON:
    """Return the `/start <payload>` Update a deep link produces (no payload: bare /start)."""
    update = text_update(update_id, chat_id, f"/start {payload}" if payload else "/start", **kw)
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    return update


def contact_update(
    update_id: int, chat_id: int, phone_number: str, user_id: int, *, first_name: str = "Amina"
) -> JSON:
    """Return a shared contact; `user_id` != `chat_id` means someone else's contact."""
    contact = {"phone_number": phone_number, "first_name": first_name, "user_id": user_id}
    return {
        "update_id": update_id,
        "message": _inbound(update_id, chat_id, first_name, contact=contact),
    }


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int,
    *,
    first_name: str = "Amina",
    message: JSON | None = None,
) -> JSON:
    """Return an inline-button tap; `message` defaults to a bot message with one button."""
    if message is None:
        button = {"text": data, "callback_data": data}
        message = {
            "message_id": message_id,
            "date": _unix(None),
            "from": bot_user(),
            "chat": _private_chat(chat_id, first_name),
            "text": "Choisissez :",
            "reply_markup": {"inline_keyboard": [[button]]},
        }
    query = {
        "id": f"{chat_id}{update_id}",
        "chat_instance": str(-abs(chat_id)),
        "from": _user(chat_id, first_name),
        "message": message,
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def _inbound(update_id: int, chat_id: int, first_name: str, **fields: Any) -> JSON:
    message = {
        "message_id": update_id,
        "date": _unix(fields.pop("date", None)),
        "from": _user(chat_id, first_name),
        "chat": _private_chat(chat_id, first_name),
    }
    return {**message, **fields}


def _user(user_id: int, first_name: str) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "fr"}


def _private_chat(chat_id: int, first_name: str) -> JSON:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def _unix(when: datetime | int | None) -> int:
    if isinstance(when, int):
        return when
    return int((when or _utcnow()).timestamp())
