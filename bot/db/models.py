"""The tables: people, workshops, conversations, messages, the outbox, schedule and alerts."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base
from bot.db.types import BlindIndex, EncryptedText, UTCDateTime


class User(Base):
    """A dashboard account: admin, caseworker or viewer."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the JSON API; only its hash is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Returnee(Base):
    """A person the programme supports; name and phone are encrypted at rest."""

    __tablename__ = "returnees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, default=None, index=True)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    consent: Mapped[str] = mapped_column(String(16), default="unknown")  # unknown/given/withdrawn
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    wellbeing_planned_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Address(Base):
    """How to reach a returnee on one channel: a phone (sms/whatsapp) or a Telegram chat id."""

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("channel", "address_index", name="uq_addresses_lookup"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(EncryptedText)
    address_index: Mapped[str] = mapped_column(BlindIndex)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Workshop(Base):
    """A session of the programme, in its own time zone."""

    __tablename__ = "workshops"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled/cancelled
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on reschedule
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Enrollment(Base):
    """A returnee invited to a workshop, and where their answer stands."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("workshop_id", "returnee_id", name="uq_enrollments_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="invited")
    planned_version: Mapped[int | None] = mapped_column(Integer, default=None)  # workshop version
    rating: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-5, after the workshop
    feedback: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Conversation(Base):
    """The returnee's current flow run (at most one), stored as the engine's JSON."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), unique=True
    )
    flow_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    session: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    """Every message in and out, with its delivery status and why it was sent."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_returnee_created", "returnee_id", "created_at"),
        UniqueConstraint("channel", "provider_id", name="uq_messages_provider"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int | None] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(EncryptedText)
    intent: Mapped[str | None] = mapped_column(String(16), default=None)
    provider_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(
        String(16)
    )  # received/queued/sending/sent/delivered/read/failed/undelivered
    error_code: Mapped[str | None] = mapped_column(String(16), default=None)
    purpose: Mapped[str | None] = mapped_column(String(32), default=None)
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL"), default=None
    )
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxItem(Base):
    """A message to deliver; written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending/sending/sent/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    # set when a crash left the row in flight: the provider may have it once already
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[Message] = relationship(lazy="raise")  # set on creation, never loaded


class ScheduledSend(Base):
    """One planned automatic message; its key makes it unique, its status says what happened."""

    __tablename__ = "scheduled_sends"
    __table_args__ = (
        Index(
            "ix_scheduled_due",
            "send_at",
            postgresql_where=text("status = 'planned'"),
            sqlite_where=text("status = 'planned'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), default=None
    )
    purpose: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # nominal time from the plan
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)  # after quiet hours and blackouts
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        String(16), default="planned"
    )  # planned/sent/skipped/expired/cancelled
    reason: Mapped[str | None] = mapped_column(String(120), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkin(Base):
    """A wellbeing answer: a 1-5 score and an optional word."""

    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """Something a caseworker must look at: distress, a request for help, silence, a dead number."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)  # 1 is the most urgent
    reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ConsentEvent(Base):
    """The consent ledger: given or withdrawn, which notice, how, on which channel."""

    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(
        ForeignKey("returnees.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # given / withdrawn
    notice_version: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))  # registration / chat / dashboard
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundReceipt(Base):
    """Provider ids already processed (Telegram update_id, Twilio MessageSid): each once."""

    __tablename__ = "inbound_receipts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_inbound_receipts_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkCode(Base):
    """A single-use, expiring code that links a Telegram chat to a returnee."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_index: Mapped[str] = mapped_column(BlindIndex, unique=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("returnees.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AuditEvent(Base):
    """Append-only record of who did what to whose data."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
