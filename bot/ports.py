"""Channel-neutral messages and the Channel protocol every adapter implements."""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """A message from a returnee, as any channel delivers it."""

    channel: str  # sms / whatsapp / telegram / simulator
    address: str  # E.164 phone, or the Telegram chat id
    text: str = ""
    choice_id: str | None = None  # a button pressed
    external_id: str | None = None  # MessageSid / update_id: processed once
    profile_name: str | None = None
    shared_phone: str | None = None  # Telegram "share my number": the sender's own contact


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """A rendered message for one address, with its options as (choice id, label)."""

    channel: str
    address: str
    text: str
    choices: tuple[tuple[str, str], ...] = ()
    idempotency_key: str
    language: str = "fr"
    template: str | None = None  # an approved WhatsApp template (Content SID), outside the window
    template_variables: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_id: str
    status: str = "sent"


@dataclass(slots=True)
class ChannelError(Exception):
    """A send that failed; the flags say what the outbox should do about it."""

    message: str
    code: str | None = None
    permanent: bool = False  # retrying cannot help
    retry_after: float | None = None  # the provider asked us to slow down
    opted_out: bool = False  # the person blocked the bot or sent STOP
    dead_address: bool = False  # not a valid mobile number
    details: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code or 'error'}: {self.message}"


class Channel(Protocol):
    """Delivers outbound messages on one channel."""

    name: str

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message or raise ChannelError."""
        ...
