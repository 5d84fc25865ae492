"""A caseworker's reply by hand: the rule that says how it may go out now, and queueing it.

WhatsApp takes free text only within 24 hours of the returnee's last message. Outside that
window the reply goes inside the approved template for manual replies, when one is configured;
otherwise by SMS to their number; otherwise not at all (the caseworker calls). The template and
SMS routes are explicit choices of the caseworker, never silent substitutions. The dashboard and
the JSON API both ask `options` and send through `send_reply`.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.db import repo
from bot.db.models import Address, Message, Returnee
from bot.effects import Turn, queue_message
from bot.templates import Key, fill, window_open

MANUAL = "manual"  # the purpose of a reply by hand, and the key of its template
MAX_TEXT = 1600  # ten SMS segments; WhatsApp and Telegram take more
REASONS = {  # why a reply is refused, as the API says it
    "opted_out": "the returnee asked to receive no more messages (STOP)",
    "consent_withdrawn": "the returnee withdrew consent: no message may be sent",
    "no_address": "no address on the returnee's channel",
    "window_closed": "outside WhatsApp's 24-hour window, with no approved template for manual "
    "replies and no SMS number: call the returnee",
    "choice_required": "outside WhatsApp's 24-hour window: send with as_template (or by_sms)",
    "no_template": "no approved template for manual replies in the returnee's language",
    "no_sms": "the returnee has no SMS number that can receive messages",
}


@dataclass(frozen=True, slots=True)
class ReplyOptions:
    """How a reply by hand may go out now; `blocked` names why none can."""

    blocked: str | None = None  # a key of REASONS
    free_text: bool = False  # as typed, on the returnee's channel
    template: bool = False  # outside the window, inside the approved template
    template_text: str | None = None  # the template's wording, when the file gives it
    sms: bool = False  # by SMS to their number, instead of their channel

    @property
    def choice_needed(self) -> bool:
        """True when the caseworker must pick the template or SMS explicitly."""
        return self.blocked is None and not self.free_text

    def preview(self, first_name: str) -> str | None:
        """The template's wording as the returnee would read it, the message left as "…"."""
        return fill(self.template_text, first_name, "…") if self.template_text else None


class ReplyRefused(Exception):
    """The reply cannot go out as asked; `reason` is a key of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASONS[reason])
        self.reason = reason


def options(
    returnee: Returnee,
    addresses: list[Address],
    now: datetime,
    *,
    templates: Mapping[Key, str],
    texts: Mapping[Key, str],
) -> ReplyOptions:
    """Decide how a caseworker may write to this returnee now.

    `templates` are the approved templates' Content SIDs (those the outbox sends), `texts`
    their wording where known.
    """
    if returnee.opted_out:
        return ReplyOptions(blocked="opted_out")
    if returnee.consent == "withdrawn":
        return ReplyOptions(blocked="consent_withdrawn")
    own = next((a for a in addresses if a.channel == returnee.channel), None)
    if own is None:
        return ReplyOptions(blocked="no_address")
    sms = returnee.channel != "sms" and any(
        a.channel == "sms" and not a.opted_out for a in addresses
    )
    if returnee.channel != "whatsapp" or window_open(own.last_inbound_at, now):
        return ReplyOptions(free_text=True, sms=sms)
    key = (MANUAL, returnee.language)
    if key in templates:
        return ReplyOptions(template=True, template_text=texts.get(key), sms=sms)
    if sms:
        return ReplyOptions(sms=True)
    return ReplyOptions(blocked="window_closed")


def route(opts: ReplyOptions, channel: str, *, as_template: bool, by_sms: bool) -> str:
    """The channel the reply goes on, given the caseworker's choice; else ReplyRefused."""
    if opts.blocked is not None:
        raise ReplyRefused(opts.blocked)
    if by_sms:
        if not opts.sms:
            raise ReplyRefused("no_sms")
        return "sms"
    if opts.free_text:
        return channel  # inside the window the outbox sends free text; a template is not needed
    if as_template:
        if not opts.template:
            raise ReplyRefused("no_template")
        return channel  # the outbox wraps it in the manual template, being outside the window
    raise ReplyRefused("choice_required")


async def send_reply(
    db: AsyncSession,
    returnee: Returnee,
    text: str,
    *,
    as_template: bool = False,
    by_sms: bool = False,
    templates: Mapping[Key, str],
    texts: Mapping[Key, str],
    actor: str,
    now: datetime,
) -> Message:
    """Check the rule, queue the reply for the outbox and log who wrote it.

    The caller wakes the outbox after its commit.
    """
    addresses = await repo.addresses_of(db, returnee.id)
    opts = options(returnee, addresses, now, templates=templates, texts=texts)
    channel = route(opts, returnee.channel, as_template=as_template, by_sms=by_sms)
    turn = Turn(now=now, key=f"{MANUAL}:{uuid.uuid4()}", purpose=MANUAL)
    message = await queue_message(db, returnee, turn, text=text, channel=channel)
    await db.flush()  # the message id, for the log and the caller
    how = "template" if opts.template and not by_sms else "text"
    await audit.record(
        db,
        actor=actor,
        action="manual_reply",
        target=audit.returnee_target(returnee.id),
        detail=f"message:{message.id} {channel} {how}",
        now=now,
    )
    return message
