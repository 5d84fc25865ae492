"""The programme's records: returnees, workshops, enrollments, validated before storing."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Address,
    ConsentEvent,
    Enrollment,
    Returnee,
    ScheduledSend,
    User,
    Workshop,
)
from bot.messages import NOTICE_VERSION

COUNTRIES = {"MA": "Africa/Casablanca", "TN": "Africa/Tunis", "SN": "Africa/Dakar"}
LANGUAGES = ("fr", "ar", "wo")
CHANNELS = ("sms", "whatsapp", "telegram")
NOTICE_WINDOW = timedelta(days=2)  # a change notice older than this is no longer worth sending


@dataclass(slots=True)
class InvalidField(ValueError):
    """Bad input for one field; the API answers 422 naming it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def normalize_phone(raw: str, country: str) -> str:
    """Return a phone number in E.164, reading national numbers with the country."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise InvalidField("phone", f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidField("phone", f"{raw!r} is not a valid number for {country}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_timezone(name: str, field: str = "timezone") -> str:
    """Return an IANA zone name after checking it exists."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidField(field, f"unknown time zone {name!r}") from exc
    return name


def _choice(value: str, allowed: tuple[str, ...] | dict[str, str], field: str) -> str:
    if value not in allowed:
        raise InvalidField(field, f"must be one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReturnee:
    """What it takes to register a returnee."""

    name: str
    phone: str | None
    country: str
    language: str
    channel: str
    timezone: str | None = None
    caseworker_email: str | None = None
    consent: bool = False
    telegram_chat_id: str | None = None


async def create_returnee(db: AsyncSession, new: NewReturnee, *, now: datetime) -> Returnee:
    """Validate and store a returnee with their channel addresses."""
    if not new.name.strip():
        raise InvalidField("name", "must not be empty")
    country = _choice(new.country, COUNTRIES, "country")
    language = _choice(new.language, LANGUAGES, "language")
    channel = _choice(new.channel, CHANNELS, "channel")
    phone = normalize_phone(new.phone, country) if new.phone else None
    if channel in ("sms", "whatsapp") and phone is None:
        raise InvalidField("phone", f"is required for the {channel} channel")
    if channel == "telegram" and not new.telegram_chat_id and phone is None:
        raise InvalidField("telegram_chat_id", "or a phone is required for telegram")
    tz = check_timezone(new.timezone) if new.timezone else None
    caseworker = await caseworker_account(db, new.caseworker_email)
    if (
        phone
        and (await db.execute(select(Returnee.id).where(Returnee.phone_index == phone))).first()
    ):
        raise InvalidField("phone", "a returnee with this number already exists")
    returnee = Returnee(
        name=new.name.strip(),
        phone=phone,
        phone_index=phone,
        country=country,
        language=language,
        channel=channel,
        timezone=tz,
        caseworker_id=caseworker.id if caseworker else None,
        consent="given" if new.consent else "unknown",
        created_at=now,
    )
    db.add(returnee)
    await db.flush()
    for chan, address in _addresses(phone, new.telegram_chat_id):
        db.add(
            Address(returnee_id=returnee.id, channel=chan, address=address, address_index=address)
        )
    if new.consent:
        db.add(
            ConsentEvent(
                returnee_id=returnee.id,
                kind="given",
                notice_version=NOTICE_VERSION,
                method="registration",
                channel=None,
                created_at=now,
            )
        )
    await db.flush()
    return returnee


def _addresses(phone: str | None, chat_id: str | None) -> list[tuple[str, str]]:
    out = [("sms", phone), ("whatsapp", phone)] if phone else []
    if chat_id:
        out.append(("telegram", chat_id))
    return out


async def caseworker_account(db: AsyncSession, email: str | None) -> User | None:
    """The caseworker or admin account with this email (None for none); else InvalidField."""
    if not email:
        return None
    user = (
        await db.execute(select(User).where(User.email == email.strip().lower()))
    ).scalar_one_or_none()
    if user is None or user.role not in ("caseworker", "admin"):
        raise InvalidField("caseworker", f"no caseworker account {email!r}")
    return user


@dataclass(frozen=True, slots=True, kw_only=True)
class NewWorkshop:
    """What it takes to schedule a workshop."""

    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    location: str = ""
    country: str | None = None


def _check_when(field: str, value: datetime) -> None:
    """A workshop time: with its offset, and in a plausible year (not 9999)."""
    if value.tzinfo is None:
        raise InvalidField(field, "needs a UTC offset, e.g. 2026-12-03T14:30:00+01:00")
    if not 2000 <= value.year <= 2100:
        raise InvalidField(field, "must be between the years 2000 and 2100")


async def create_workshop(db: AsyncSession, new: NewWorkshop, *, now: datetime) -> Workshop:
    """Validate and store a workshop."""
    if not new.title.strip():
        raise InvalidField("title", "must not be empty")
    for name, value in (("starts_at", new.starts_at), ("ends_at", new.ends_at)):
        _check_when(name, value)
    if new.ends_at <= new.starts_at:
        raise InvalidField("ends_at", "must be after starts_at")
    if new.country is not None:
        _choice(new.country, COUNTRIES, "country")
    workshop = Workshop(
        title=new.title.strip(),
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        timezone=check_timezone(new.timezone),
        location=new.location,
        country=new.country,
        created_at=now,
    )
    db.add(workshop)
    await db.flush()
    return workshop


async def enroll(
    db: AsyncSession, workshop: Workshop, returnee: Returnee, *, now: datetime
) -> Enrollment:
    """Invite a returnee to a workshop; the scheduler plans the invitation and reminders."""
    if workshop.status == "cancelled":
        raise InvalidField("workshop", "is cancelled")
    existing = (
        await db.execute(
            select(Enrollment).where(
                Enrollment.workshop_id == workshop.id, Enrollment.returnee_id == returnee.id
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise InvalidField("returnee_id", "is already enrolled in this workshop")
    enrollment = Enrollment(
        workshop_id=workshop.id,
        returnee_id=returnee.id,
        status="invited",
        created_at=now,
        updated_at=now,
    )
    db.add(enrollment)
    if returnee.first_enrolled_at is None:
        returnee.first_enrolled_at = now
    await db.flush()
    return enrollment


async def update_returnee(db: AsyncSession, returnee: Returnee, changes: dict[str, object]) -> None:
    """Apply validated changes to a returnee."""
    if "language" in changes and changes["language"] is not None:
        returnee.language = _choice(str(changes["language"]), LANGUAGES, "language")
    if "channel" in changes and changes["channel"] is not None:
        returnee.channel = _choice(str(changes["channel"]), CHANNELS, "channel")
    if "timezone" in changes:
        tz = changes["timezone"]
        returnee.timezone = check_timezone(str(tz)) if tz else None
    if "caseworker" in changes:
        email = changes["caseworker"]
        caseworker = await caseworker_account(db, str(email)) if email else None
        returnee.caseworker_id = caseworker.id if caseworker else None
    if changes.get("name"):
        returnee.name = str(changes["name"]).strip()
    await db.flush()


async def change_workshop(
    db: AsyncSession, workshop: Workshop, changes: dict[str, object], *, now: datetime
) -> None:
    """Reschedule, move or cancel; pending sends of the old version become no-ops at once."""
    if workshop.status == "cancelled":
        raise InvalidField("status", "the workshop is already cancelled")
    if changes.get("status") == "cancelled":
        workshop.status = "cancelled"
        await _notify_enrolled(db, workshop, purpose="cancellation", now=now)
        return
    starts = changes.get("starts_at") or workshop.starts_at
    ends = changes.get("ends_at") or workshop.ends_at
    assert isinstance(starts, datetime)
    assert isinstance(ends, datetime)
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        _check_when(name, value)
    if ends <= starts:
        raise InvalidField("ends_at", "must be after starts_at")
    if changes.get("location") is not None:
        workshop.location = str(changes["location"])
    if (starts, ends) != (workshop.starts_at, workshop.ends_at):
        workshop.starts_at, workshop.ends_at = starts, ends
        workshop.version += 1  # the next plan pass plans the new version
        await _notify_enrolled(db, workshop, purpose="reschedule", now=now)
    await db.flush()


async def _notify_enrolled(
    db: AsyncSession, workshop: Workshop, *, purpose: str, now: datetime
) -> None:
    """Cancel what was planned for the old times and queue a notice to everyone still enrolled."""
    rows = list(
        (
            await db.execute(
                select(Enrollment).where(
                    Enrollment.workshop_id == workshop.id,
                    Enrollment.status.in_(("invited", "confirmed", "unsure")),
                )
            )
        ).scalars()
    )
    ids = [e.id for e in rows]
    if not ids:
        return
    await db.execute(
        update(ScheduledSend)
        .where(ScheduledSend.enrollment_id.in_(ids), ScheduledSend.status == "planned")
        .values(status="cancelled", reason=f"workshop_{purpose}", decided_at=now)
    )
    for enrollment in rows:
        if purpose == "cancellation":
            enrollment.status, enrollment.updated_at = "cancelled", now
        db.add(
            ScheduledSend(
                key=f"e{enrollment.id}:v{workshop.version}:{purpose}",
                returnee_id=enrollment.returnee_id,
                enrollment_id=enrollment.id,
                purpose=purpose,
                due_at=now,
                send_at=now,
                not_after=now + NOTICE_WINDOW,
                created_at=now,
            )
        )
    await db.flush()
