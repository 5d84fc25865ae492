"""Quiet time: when a planned send may really go out, in the returnee's own time zone."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.plan import DailyWindow, PlanConfig, PlannedSend, zone_named

_DAY = timedelta(days=1)
_MAX_MOVES = 64  # each move ends a window; this many in a row means the plan leaves no time free


@dataclass(frozen=True, slots=True)
class SendAt:
    """Send at this aware UTC instant; reason says what moved it from its due time, if anything."""

    at: datetime
    reason: str | None = None  # "quiet_hours", "blackout:friday_prayer"


@dataclass(frozen=True, slots=True)
class Skip:
    """Do not send; the reason is recorded for caseworkers."""

    reason: str  # "after_deadline", "quiet_hours_until_after_start", "expired: …"


Decision = SendAt | Skip


def resolve(
    planned: PlannedSend, *, tz: ZoneInfo, country: str, config: PlanConfig, now: datetime
) -> Decision:
    """When the send may go out: at its due time or now, whichever is later, outside quiet time."""
    if now.tzinfo is None or now.utcoffset() is None:
        message = f"now must be timezone-aware, got {now.isoformat()}"
        raise ValueError(message)
    due, not_after, now = (t.astimezone(UTC) for t in (planned.due_at, planned.not_after, now))
    if due >= not_after:
        return Skip("after_deadline")  # planned too late, e.g. enrolled after the workshop started
    if now >= not_after:
        return Skip(f"expired: its deadline {not_after.isoformat()} passed before it was sent")
    at, reason = max(due, now), None
    for _ in range(_MAX_MOVES):
        moved = _move_out_of_quiet_time(at, tz=tz, country=country, config=config)
        if moved is None:
            return SendAt(at, reason)
        at, reason = moved
        if at >= not_after:
            return Skip(f"{reason}_until_after_{planned.deadline}")
    return Skip("no_allowed_time")


def timezone_for(country: str, explicit: str | None, config: PlanConfig) -> ZoneInfo:
    """The returnee's time zone: their own if set (blank counts as unset), else their country's."""
    if explicit:
        return zone_named(explicit)
    name = config.country_timezones.get(country)
    if name is None:
        message = f"no time zone known for country {country!r}; give the returnee one"
        raise ValueError(message)
    return zone_named(name)


def _move_out_of_quiet_time(
    at: datetime, *, tz: ZoneInfo, country: str, config: PlanConfig
) -> tuple[datetime, str] | None:
    """The end of the first quiet-hours or blackout window `at` falls in, and why; None if free."""
    if config.quiet_hours is not None:
        end = _window_end(at, config.quiet_hours, tz=tz, opens_on=lambda day: True)
        if end is not None:
            return end, "quiet_hours"
    for blackout in config.blackouts:
        if blackout.applies_to(country):
            end = _window_end(at, blackout.window, tz=tz, opens_on=blackout.opens_on)
            if end is not None:
                return end, f"blackout:{blackout.name}"
    return None


def _window_end(
    at: datetime, window: DailyWindow, *, tz: ZoneInfo, opens_on: Callable[[date], bool]
) -> datetime | None:
    """When the window containing `at` closes, or None; windows are local wall-clock times."""
    today = at.astimezone(tz).date()
    for day in (today - _DAY, today):  # yesterday's window may run past midnight into today
        if not opens_on(day):
            continue
        crosses_midnight = window.end <= window.start
        opens = datetime.combine(day, window.start, tzinfo=tz)
        closes = datetime.combine(day + _DAY if crosses_midnight else day, window.end, tzinfo=tz)
        if opens <= at < closes:
            return closes.astimezone(UTC)
    return None
