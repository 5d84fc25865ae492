"""Request and response bodies of the JSON API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Country = Literal["MA", "TN", "SN"]
Language = Literal["fr", "ar", "wo"]
ChannelName = Literal["sms", "whatsapp", "telegram"]


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
    """Who to enroll."""

    returnee_id: int = Field(ge=1, le=2**63 - 1)


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
