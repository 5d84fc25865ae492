"""A returnee's story in one list: messages, check-ins, schedule decisions, alerts, consent."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.translation import gettext as _
from bot.db import repo
from bot.db.models import (
    Address,
    Checkin,
    ConsentEvent,
    Enrollment,
    Message,
    Returnee,
    ScheduledSend,
    User,
    Workshop,
)
from bot.programme import COUNTRIES
from bot.replies import ReplyOptions

T = TypeVar("T")
MESSAGES_SHOWN = 300  # the latest; older ones stay in the database and the API


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline: when, what kind, and the row itself."""

    at: datetime
    kind: str  # message, checkin, send, consent
    row: object


@dataclass(slots=True)
class Timeline:
    """Everything the timeline page shows about one returnee."""

    returnee: Returnee
    tz: str
    caseworker: str | None
    addresses: list[Address]
    entries: list[Entry] = field(default_factory=list)
    enrollments: list[tuple[Enrollment, Workshop]] = field(default_factory=list)
    checkins: list[Checkin] = field(default_factory=list)
    consents: list[ConsentEvent] = field(default_factory=list)
    older_messages: bool = False

    @property
    def workshop_titles(self) -> dict[int, str]:
        """Each enrollment's workshop title: what a message about it is about."""
        return {enrollment.id: workshop.title for enrollment, workshop in self.enrollments}


async def build(db: AsyncSession, returnee: Returnee) -> Timeline:
    """Load and merge a returnee's rows, oldest first."""
    caseworker = await db.get(User, returnee.caseworker_id) if returnee.caseworker_id else None
    tl = Timeline(
        returnee=returnee,
        tz=returnee.timezone or COUNTRIES.get(returnee.country, "UTC"),
        caseworker=(caseworker.name or caseworker.email) if caseworker else None,
        addresses=await addresses_of(db, returnee.id),
    )
    messages = await _rows(
        db,
        select(Message)
        .where(Message.returnee_id == returnee.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(MESSAGES_SHOWN + 1),
    )
    tl.older_messages = len(messages) > MESSAGES_SHOWN
    tl.checkins = await _rows(
        db, select(Checkin).where(Checkin.returnee_id == returnee.id).order_by(Checkin.created_at)
    )
    tl.consents = await _rows(
        db,
        select(ConsentEvent)
        .where(ConsentEvent.returnee_id == returnee.id)
        .order_by(ConsentEvent.created_at),
    )
    sends = await _rows(db, select(ScheduledSend).where(ScheduledSend.returnee_id == returnee.id))
    tl.enrollments = [
        (e, w)
        for e, w in (
            await db.execute(
                select(Enrollment, Workshop)
                .join(Workshop, Workshop.id == Enrollment.workshop_id)
                .where(Enrollment.returnee_id == returnee.id)
                .order_by(Workshop.starts_at)
            )
        ).all()
    ]
    tl.entries = sorted(
        [Entry(m.created_at, "message", m) for m in messages[:MESSAGES_SHOWN]]
        + [Entry(c.created_at, "checkin", c) for c in tl.checkins]
        + [Entry(s.decided_at or s.send_at, "send", s) for s in sends]
        + [Entry(c.created_at, "consent", c) for c in tl.consents],
        key=lambda e: (e.at, e.kind),
    )
    return tl


async def addresses_of(db: AsyncSession, returnee_id: int) -> list[Address]:
    """A returnee's channel addresses."""
    return await repo.addresses_of(db, returnee_id)


async def _rows(db: AsyncSession, query: Select[tuple[T]]) -> list[T]:
    return list((await db.execute(query)).scalars())


def reply_blocker(options: ReplyOptions, channel: str) -> str | None:
    """Why a caseworker cannot write to this returnee at all now (see bot.replies), or None."""
    return refusal(options.blocked, channel) if options.blocked else None


def refusal(reason: str, channel: str) -> str:
    """A reply refused by bot.replies, in the caseworker's words."""
    if reason == "opted_out":
        return _("La personne a demandé à ne plus recevoir de messages (STOP).")
    if reason == "consent_withdrawn":
        return _("La personne a retiré son consentement : aucun message ne peut lui être envoyé.")
    if reason == "no_address":
        return _(
            "Aucune adresse sur le canal {channel} : "
            "créez un code de liaison Telegram ou changez de canal."
        ).format(channel=channel)
    if reason == "window_closed":
        return _(
            "Hors de la fenêtre de 24 h de WhatsApp (pas de message de la personne depuis "
            "24 h), sans modèle approuvé ni SMS possible : appelez la personne."
        )
    return _("Hors de la fenêtre de 24 h de WhatsApp : cochez l'envoi proposé.")
