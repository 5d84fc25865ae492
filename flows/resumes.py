"""What wakes a waiting run: a reply (already understood by the host) or a timeout."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A reply: its intent from the understanding module, or the id of the button pressed."""

    text: str
    intent: str = "unknown"
    score: int | None = None
    choice_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitTimedOut:
    """Nobody answered before the wait's timeout."""


Resume = MessageReceived | WaitTimedOut
