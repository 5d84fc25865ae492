"""Telegram through python-telegram-bot: updates to InboundMessage, sends with inline buttons."""

from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.ratelimit import RateLimiter
from bot.ports import ChannelError, InboundMessage, OutboundMessage, SendResult
from bot.settings import Settings

OVERALL_PER_SECOND = 30.0  # Bot API broadcast limit
PER_CHAT_PER_SECOND = 1.0


def make_bot(settings: Settings) -> Bot:
    """A Bot pointed at TELEGRAM_API_BASE (the real API, a local Bot API server or a double)."""
    base = settings.telegram_api_base.rstrip("/")
    return Bot(
        str(settings.telegram_bot_token),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=HTTPXRequest(connection_pool_size=32, read_timeout=15),
    )


def to_inbound(update: Update) -> InboundMessage | None:
    """Map an update to a channel-neutral message; None for kinds we do not serve."""
    external = str(update.update_id)
    query = update.callback_query
    chat = getattr(query.message, "chat", None) if query is not None else None
    if query is not None and chat is not None:
        return InboundMessage(
            channel="telegram",
            address=str(chat.id),
            choice_id=query.data,
            text=query.data or "",
            external_id=external,
        )
    message = update.message
    if message is None or getattr(message, "chat", None) is None:
        return None  # nothing to answer to (a malformed update is not a message)
    if message.contact is not None:
        # only the sender's own number links a chat: a forwarded contact is someone else's
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        return InboundMessage(
            channel="telegram",
            address=str(message.chat_id),
            text="",
            shared_phone=message.contact.phone_number if own else None,
            external_id=external,
        )
    if message.text is None:
        return InboundMessage(
            channel="telegram", address=str(message.chat_id), text="", external_id=external
        )
    return InboundMessage(
        channel="telegram", address=str(message.chat_id), text=message.text, external_id=external
    )


def keyboard(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    """One inline button per choice, its callback data the choice id."""
    if not message.choices:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=choice_id)]
            for choice_id, label in message.choices
        ]
    )


class TelegramChannel:
    """Sends through the Bot API within Telegram's limits."""

    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.limiter = RateLimiter(OVERALL_PER_SECOND, PER_CHAT_PER_SECOND)
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "TelegramChannel":
        """Build the adapter from the configuration."""
        return cls(make_bot(settings))

    async def _start(self) -> None:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message, with inline buttons for its choices."""
        try:
            await self._start()  # outside the slot: a first connection must not hold a place
            async with self.limiter.slot(message.address):
                sent = await self.bot.send_message(
                    chat_id=message.address, text=message.text, reply_markup=keyboard(message)
                )
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self.limiter.slow_down(seconds)
            raise ChannelError("flood limit", code="429", retry_after=seconds) from None
        except Forbidden as exc:
            raise ChannelError(exc.message, code="403", permanent=True, opted_out=True) from None
        except BadRequest as exc:
            dead = "chat not found" in exc.message.lower()
            raise ChannelError(exc.message, code="400", permanent=True, dead_address=dead) from None
        except (NetworkError, TelegramError) as exc:
            raise ChannelError(str(exc), code="network") from None
        return SendResult(provider_id=f"{sent.chat.id}:{sent.message_id}", status="sent")

    async def answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's spinner (best effort: the reply itself goes through the outbox)."""
        try:
            await self._start()
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError:
            pass

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._ready:
            await self.bot.shutdown()


def _seconds(value: Any) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)
