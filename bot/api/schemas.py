"""Request and response bodies of the JSON API."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Country = Literal["MA", "TN", "SN"]
Language = Literal["fr", "ar", "wo"]
ChannelName = Literal["sms", "whatsapp", "telegram"]
MAX_ID = 2**63 - 1
BULK_MAX = 1000  # returnees enrolled by one request
NOTE_LINE_MAX = 2000  # as bot.alerts keeps it
REPLY_MAX = 1600  # as bot.replies allows it


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ReturneeIn(Strict):
    """A returnee to register."""

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    country: Country
    language: Language
    channel: ChannelName
    timezone: str | None = Field(default=None, max_length=64)
    caseworker: str | None = Field(default=None, max_length=254)
    consent: bool = False
    telegram_chat_id: str | None = Field(default=None, max_length=32)


class ReturneePatch(Strict):
    """Fields of a returnee that may change."""

    language: Language | None = None
    channel: ChannelName | None = None
    timezone: str | None = Field(default=None, max_length=64)
    caseworker: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ReturneeOut(BaseModel):
    """A returnee as the API shows them."""

    id: int
    name: str
    phone: str | None
    country: str
    language: str
    channel: str
    timezone: str
    opted_out: bool
    consent: str
    caseworker: str | None
    created_at: datetime


class ReturneePage(BaseModel):
    """A page of returnees."""

    items: list[ReturneeOut]
    next: str | None


class WorkshopIn(Strict):
    """A workshop to schedule."""

    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(max_length=64)
    location: str = Field(default="", max_length=200)
    country: Country | None = None


class WorkshopPatch(Strict):
    """A reschedule, a new place, or a cancellation."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    location: str | None = Field(default=None, max_length=200)
    status: Literal["cancelled"] | None = None


class WorkshopOut(BaseModel):
    """A workshop as the API shows it."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    location: str
    country: str | None
    status: str


class EnrollmentIn(Strict):
    """Who to enroll: one returnee, or several at once (give one of the two fields)."""

    returnee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    returnee_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, min_length=1, max_length=BULK_MAX
    )


class EnrollmentOut(BaseModel):
    """An enrollment and where its answer stands."""

    id: int
    workshop_id: int
    returnee_id: int
    status: str
    created_at: datetime
    updated_at: datetime


class MessageOut(BaseModel):
    """One message in or out."""

    id: int
    direction: str
    channel: str
    text: str
    status: str
    purpose: str | None
    intent: str | None
    error_code: str | None
    enrollment_id: int | None  # the enrollment it was about; for a reply, what its question asked
    created_at: datetime


class CheckinOut(BaseModel):
    """One wellbeing check-in."""

    id: int
    score: int
    comment: str | None
    created_at: datetime


class AlertOut(BaseModel):
    """One alert."""

    id: int
    returnee_id: int
    kind: str
    priority: int
    reason: str
    status: str
    created_at: datetime
    assignee: str | None = None  # the email of the caseworker handling it
    resolved_at: datetime | None = None


class BulkEnrollmentOut(BaseModel):
    """What a bulk enrollment did: new enrollments, and who was enrolled already."""

    enrolled: list[EnrollmentOut]
    already_enrolled: list[int]


class EnrollmentPatch(Strict):
    """Attendance marked by hand, or an answer the returnee gave by phone."""

    status: Literal["attended", "absent", "confirmed", "declined", "unsure"]


class Funnel(BaseModel):
    """Invited -> confirmed -> attended; `by_status` counts every enrollment status."""

    invited: int
    confirmed: int
    attended: int
    by_status: dict[str, int]


class WorkshopDetail(WorkshopOut):
    """A workshop with its funnel."""

    funnel: Funnel


class AlertDetail(AlertOut):
    """An alert with its note, one dated and signed line per entry."""

    notes: list[str]


class AlertAssign(Strict):
    """Who handles the alert: a caseworker's email, or null to give it back to the team."""

    caseworker: str | None = Field(max_length=254)


class NoteIn(Strict):
    """A line to add to an alert's note."""

    text: str = Field(min_length=1, max_length=NOTE_LINE_MAX)


class ResolveIn(Strict):
    """Close an alert, optionally with a last note."""

    note: str | None = Field(default=None, max_length=NOTE_LINE_MAX)


class ReplyIn(Strict):
    """A caseworker's message; outside WhatsApp's 24-hour window, say how it may go."""

    text: str = Field(min_length=1, max_length=REPLY_MAX)
    as_template: bool = False  # inside the approved template for manual replies
    by_sms: bool = False  # by SMS to the returnee's number instead of their channel


class ConsentIn(Strict):
    """Consent given or withdrawn, as told to a caseworker."""

    kind: Literal["given", "withdrawn"]


class ConsentOut(BaseModel):
    """One entry of the consent ledger."""

    id: int
    kind: str
    notice_version: str
    method: str
    channel: str | None
    created_at: datetime


class LinkCodeOut(BaseModel):
    """A single-use Telegram link code: shown once, only its hash is stored."""

    code: str
    link: str
    expires_at: datetime


class ImportOut(BaseModel):
    """What an import did, or would do (`dry_run`)."""

    dry_run: bool
    valid: int
    imported: int


class WellbeingWeek(BaseModel):
    """Check-ins of one week by score ("1" to "5")."""

    week_of: date
    counts: dict[str, int]
    total: int


class LowScore(BaseModel):
    """A returnee whose latest recent check-in is low."""

    returnee_id: int
    score: int
    created_at: datetime


class WellbeingOut(BaseModel):
    """The caseload's wellbeing scores, week by week, and who scored low lately."""

    weeks: list[WellbeingWeek]
    total: int
    low: list[LowScore]
