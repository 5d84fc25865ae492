"""Conversations: one transaction per inbound message or timer, from understanding to outbox."""

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import flows
from bot import effects, i18n, linking, messages
from bot.db import repo
from bot.db.models import Address, Conversation, Message, Returnee
from bot.db.session import UnitOfWork
from bot.effects import Turn
from bot.ports import InboundMessage
from flows import serialize
from flows.understand import Lexicons, Understanding, normalize, understand

log = logging.getLogger(__name__)
GLOBAL_INTENTS = {"distress", "stop", "start", "language"}
# flow questions the understanding module knows under another name
_QUESTIONS = {"consent": "yesno", "language": "any", "free_text": "any"}


class Lookup(enum.Enum):
    """Ask start_flow to load the conversation itself."""

    LOAD = "load"


@dataclass(frozen=True, slots=True)
class Reading:
    """How a reply was read: an option picked by button or number, or an understood intent."""

    intent: str
    score: int | None = None
    language: str | None = None
    choice_id: str | None = None

    @classmethod
    def of(cls, understood: Understanding) -> "Reading":
        """Wrap the understanding module's answer."""
        return cls(understood.intent, understood.score, understood.language)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A run waiting for a reply: its row, state, flow and the node that asked."""

    conversation: Conversation
    session: flows.Session
    flow: flows.Flow
    node: flows.Node


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling an inbound message did (for the webhook answer and the tests)."""

    stored: bool  # False: a replay of a provider id already processed
    returnee_id: int | None = None
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class Conversations:
    """Runs flows for returnees; collaborators are injected by bot.app."""

    unit_of_work: UnitOfWork
    registry: Mapping[str, flows.Flow]
    lexicons: Lexicons
    emergency: Mapping[str, str]
    wake_outbox: Callable[[], None] = lambda: None

    async def handle(self, inbound: InboundMessage, *, now: datetime) -> Outcome:
        """Store an inbound message and answer it, all in one transaction."""
        async with self.unit_of_work() as db:
            outcome = await self._handle(db, inbound, now=now)
        if outcome.stored:
            self.wake_outbox()  # after commit: a slow provider never delays the webhook answer
        return outcome

    async def _handle(self, db: AsyncSession, inbound: InboundMessage, *, now: datetime) -> Outcome:
        if inbound.external_id is not None and not await repo.claim_receipt(
            db, inbound.channel, inbound.external_id, now
        ):
            return Outcome(stored=False)
        found = await repo.address_with_returnee(db, inbound.channel, inbound.address)
        address, returnee = found if found else (None, None)
        row = _inbound_row(inbound, returnee.id if returnee else None, now)
        if returnee is None or address is None:
            message = Message(**row)
            db.add(message)
            await db.flush()
            linked = await self._link(db, inbound, now=now)
            if linked is None:
                log.info(
                    "message %s from an unknown %s address kept for review",
                    message.id,
                    inbound.channel,
                )
                return Outcome(stored=True)
            message.returnee_id = linked.id
            await self._say(db, linked, Turn(now=now, key=f"in:{message.id}"), messages.LINKED)
            return Outcome(stored=True, returnee_id=linked.id, intent="start")
        conversation = await repo.conversation_of(db, returnee.id)
        waiting = self._waiting(conversation)
        reading = self._understand(inbound, returnee, waiting)
        # the workshop a reply belongs to: the one the open question was about
        about = _int(waiting.session.fields.get("enrollment_id")) if waiting else None
        row.update(intent=reading.intent, enrollment_id=about)
        message_id = await repo.record_inbound(db, row, address, now=now)
        turn = Turn(now=now, key=f"in:{message_id}", purpose="reply")
        await self._respond(db, returnee, address, waiting, inbound, reading, turn)
        return Outcome(stored=True, returnee_id=returnee.id, intent=reading.intent)

    async def _link(
        self, db: AsyncSession, inbound: InboundMessage, *, now: datetime
    ) -> Returnee | None:
        """A Telegram chat not yet known: a /start code or the sender's own number links it."""
        if inbound.channel != "telegram":
            return None
        code = linking.start_payload(inbound.text)
        if code is not None:
            return await linking.link_by_code(db, code, inbound.address, now=now)
        if inbound.shared_phone is not None:
            return await linking.link_by_phone(db, inbound.shared_phone, inbound.address)
        return None

    def _understand(
        self, inbound: InboundMessage, returnee: Returnee, waiting: Waiting | None
    ) -> Reading:
        node = waiting.node if waiting else None
        ask = node.ask() if node else None
        question = node.wait.question if node and node.wait else "any"
        choices = [c.id for c in ask.choices] if ask else []
        picked = inbound.choice_id if inbound.choice_id in choices else None
        if picked is None and choices and not choices[0].isdigit():
            picked = _numbered_choice(inbound.text, choices)
        if picked is not None:
            return Reading(intent=picked, choice_id=picked)
        return Reading.of(
            understand(
                inbound.text,
                lexicons=self.lexicons,
                question=_QUESTIONS.get(question, question),
                lang=returnee.language,
            )
        )

    def _waiting(self, conversation: Conversation | None) -> Waiting | None:
        """The run waiting for this reply, read once per message; None if none is."""
        if conversation is None or conversation.status != flows.Status.WAITING.value:
            return None
        session = serialize.load(conversation.session)
        flow = self.registry.get(session.flow_id)
        node = flow.node(session.node_id) if flow and session.node_id else None
        return Waiting(conversation, session, flow, node) if flow and node else None

    async def _respond(
        self,
        db: AsyncSession,
        returnee: Returnee,
        address: Address,
        waiting: Waiting | None,
        inbound: InboundMessage,
        reading: Reading,
        turn: Turn,
    ) -> None:
        node = waiting.node if waiting else None
        choice_id = reading.choice_id  # a button or an option number: the flow's own answer
        if choice_id is not None:
            pass
        elif reading.intent == "language" and node is not None and reading.language in node.exits:
            choice_id = reading.language  # "arabe" at the language question picks Arabic
        elif reading.intent in GLOBAL_INTENTS or (
            reading.intent == "help" and (node is None or "help" not in node.exits)
        ):
            await self._global(db, returnee, address, reading, turn)
            return
        if returnee.opted_out or address.opted_out:
            return  # stored; nothing is sent to someone who said stop
        if waiting is None:
            await self._say(db, returnee, turn, messages.RECEIVED)
            return
        session, flow = waiting.session, waiting.flow
        resume = flows.MessageReceived(
            text=inbound.text, intent=reading.intent, score=reading.score, choice_id=choice_id
        )
        sprint = flows.resume(flow, session, resume, now=turn.now)
        enrollment_id = _int(session.fields.get("enrollment_id"))
        turn = Turn(
            now=turn.now,
            key=turn.key,
            purpose="reply",
            enrollment_id=enrollment_id,
            params=await self.params(db, returnee, session.fields),
        )
        await effects.apply(db, returnee, waiting.conversation, sprint, turn)

    async def _global(
        self, db: AsyncSession, returnee: Returnee, address: Address, reading: Reading, turn: Turn
    ) -> None:
        if reading.intent == "distress":
            await effects.raise_alert(
                db,
                returnee,
                kind="distress",
                priority=1,
                reason="distress words in a reply",
                now=turn.now,
            )
            await self._say(
                db,
                returnee,
                turn,
                messages.DISTRESS,
                emergency=self.emergency.get(returnee.country, ""),
            )
        elif reading.intent == "stop":
            returnee.opted_out = address.opted_out = True
            await repo.cancel_planned(db, returnee.id, reason="opted_out", now=turn.now)
            await self._say(db, returnee, turn, messages.STOPPED)
        elif reading.intent == "start":
            returnee.opted_out = address.opted_out = False
            await self._say(db, returnee, turn, messages.STARTED)
        elif reading.intent == "language" and reading.language in i18n.LANGUAGES:
            returnee.language = reading.language
            await self._say(db, returnee, turn, messages.LANGUAGE_SET)
        elif reading.intent == "language":
            await self.start_flow(db, returnee, "language", turn=turn, fields={})
        elif reading.intent == "help":
            await effects.raise_alert(
                db, returnee, kind="help", priority=2, reason="asked for help", now=turn.now
            )
            await self._say(db, returnee, turn, messages.HELP)

    async def _say(
        self, db: AsyncSession, returnee: Returnee, turn: Turn, text: tuple[str, str], **params: str
    ) -> None:
        body = i18n.render(*text, returnee.language, params)
        await effects.queue_message(db, returnee, turn, text=body)

    async def start_flow(
        self,
        db: AsyncSession,
        returnee: Returnee,
        flow_id: str,
        *,
        turn: Turn,
        fields: Mapping[str, str],
        at: str | None = None,
        conversation: Conversation | Lookup | None = Lookup.LOAD,
    ) -> Conversation:
        """Start a flow for a returnee (the scheduler's sends), replacing any waiting run.

        A caller that already holds the returnee's lock and row passes `conversation`.
        """
        if conversation is Lookup.LOAD:
            conversation = await repo.conversation_of(db, returnee.id)
        sprint = flows.start(self.registry[flow_id], fields=fields, now=turn.now, at=at)
        turn = Turn(
            now=turn.now,
            key=turn.key,
            purpose=turn.purpose,
            enrollment_id=turn.enrollment_id,
            params=await self.params(db, returnee, fields),
        )
        return await effects.apply(db, returnee, conversation, sprint, turn)

    async def time_out(
        self, db: AsyncSession, conversation: Conversation, *, now: datetime
    ) -> None:
        """Resume a run whose wait got no answer in time."""
        returnee = await repo.returnee(db, conversation.returnee_id)
        session = serialize.load(conversation.session)
        flow = self.registry.get(session.flow_id)
        if returnee is None or flow is None or session.status is not flows.Status.WAITING:
            conversation.timeout_at = None
            return
        sprint = flows.resume(flow, session, flows.WaitTimedOut(), now=now)
        turn = Turn(
            now=now,
            key=f"timeout:{conversation.id}:{now.isoformat()}",
            purpose="reply",
            enrollment_id=_int(session.fields.get("enrollment_id")),
            params=await self.params(db, returnee, session.fields),
        )
        await effects.apply(db, returnee, conversation, sprint, turn)

    async def params(
        self, db: AsyncSession, returnee: Returnee, fields: Mapping[str, str]
    ) -> dict[str, str]:
        """Build the placeholders of a returnee's messages, dates in their own locale and zone."""
        params = {"name": returnee.name.split(" ")[0], **fields}
        enrollment_id = _int(fields.get("enrollment_id"))
        enrollment = await repo.enrollment(db, enrollment_id) if enrollment_id else None
        workshop = await repo.workshop(db, enrollment.workshop_id) if enrollment else None
        if workshop is not None:
            tz = returnee.timezone or workshop.timezone
            params.update(
                workshop=workshop.title,
                location=workshop.location,
                date=i18n.format_when(
                    workshop.starts_at, lang=returnee.language, country=returnee.country, tz=tz
                ),
            )
        return params


def _numbered_choice(text: str, choices: list[str]) -> str | None:
    """Map a reply that is only an option number ("2", "٢") to that option's id."""
    digits = normalize(text).strip()
    if digits.isdigit() and 1 <= int(digits) <= len(choices):
        return choices[int(digits) - 1]
    return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _inbound_row(
    inbound: InboundMessage, returnee_id: int | None, now: datetime
) -> dict[str, object]:
    """The columns of a received message."""
    return {
        "returnee_id": returnee_id,
        "direction": "in",
        "channel": inbound.channel,
        "text": inbound.text or inbound.choice_id or "",
        "provider_id": inbound.external_id,
        "status": "received",
        "created_at": now,
        "updated_at": now,
    }
