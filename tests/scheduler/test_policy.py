"""Quiet time: quiet hours and blackouts in the returnee's zone, deadlines, outages, time zones."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plan import (
    DailyWindow,
    PlanConfig,
    PlannedSend,
    load_default_plan,
    parse_plan,
    workshop_sends,
)
from scheduler.policy import Decision, SendAt, Skip, resolve, timezone_for

CASABLANCA, TUNIS, DAKAR = (
    ZoneInfo(n) for n in ("Africa/Casablanca", "Africa/Tunis", "Africa/Dakar")
)
PLAN = load_default_plan()
PRAYER = replace(PLAN, blackouts=tuple(replace(b, enabled=True) for b in PLAN.blackouts))
IFTAR = parse_plan(
    """
    sends: []
    quiet_hours: {start: "21:00", end: "08:00"}
    blackouts:
      - {name: iftar, start: "18:30", end: "20:00", from: 2027-02-08, to: 2027-03-09,
         countries: [MA, TN]}
    """,
    source="iftar.yaml",
)


def utc(text: str) -> datetime:
    """An instant written in UTC, e.g. "2026-12-01 09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: ZoneInfo) -> datetime:
    """A wall-clock time in a zone, e.g. "2026-12-03 14:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def last_reminder(start: str, tz: ZoneInfo) -> PlannedSend:
    """The default 2-hours-before reminder of a workshop starting at a local time."""
    starts_at = local(start, tz)
    sends = workshop_sends(
        PLAN,
        enrolled_at=starts_at - timedelta(days=10),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        tz=tz,
    )
    return next(send for send in sends if send.key == "reminder:last")


def send(due: datetime, until: datetime, deadline: str = "start") -> PlannedSend:
    """A reminder due at `due`, meaningless from `until` on."""
    return PlannedSend(
        purpose="reminder", key="reminder:x", due_at=due, not_after=until, deadline=deadline
    )


def decide(
    planned: PlannedSend,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    config: PlanConfig = PLAN,
    country: str = "MA",
) -> Decision:
    """resolve() with the default plan and, unless given, `now` well before the due time."""
    now = now or planned.due_at - timedelta(days=1)
    return resolve(planned, tz=tz, country=country, config=config, now=now)


def test_a_send_in_allowed_time_goes_out_when_due() -> None:
    due = local("2026-12-01 10:00", CASABLANCA)
    assert decide(send(due, due + timedelta(days=2)), CASABLANCA) == SendAt(utc("2026-12-01 09:00"))


def test_quiet_hours_push_a_0600_local_send_to_0800() -> None:
    due = local("2026-12-02 06:00", CASABLANCA)
    decision = decide(send(due, due + timedelta(days=1)), CASABLANCA)
    assert decision == SendAt(local("2026-12-02 08:00", CASABLANCA), "quiet_hours")
    assert isinstance(decision, SendAt)
    assert decision.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        ("2026-12-02 21:00", "2026-12-03 08:00"),  # the start is quiet
        ("2026-12-02 23:59", "2026-12-03 08:00"),  # before midnight: the next morning
        ("2026-12-03 00:00", "2026-12-03 08:00"),  # after midnight: the same morning
        ("2026-12-03 07:59", "2026-12-03 08:00"),
    ],
)
def test_quiet_hours_across_midnight(due: str, sent: str) -> None:
    planned = send(local(due, TUNIS), local("2026-12-10 00:00", TUNIS))
    assert decide(planned, TUNIS) == SendAt(local(sent, TUNIS), "quiet_hours")


@pytest.mark.parametrize("due", ["2026-12-02 08:00", "2026-12-02 14:00", "2026-12-02 20:59"])
def test_the_edges_of_quiet_hours_are_allowed_time(due: str) -> None:
    planned = send(local(due, TUNIS), local("2026-12-10 00:00", TUNIS))
    assert decide(planned, TUNIS) == SendAt(local(due, TUNIS))


@pytest.mark.parametrize(
    ("due", "sent", "reason"),
    [
        ("2026-12-02 12:59", "2026-12-02 12:59", None),
        ("2026-12-02 13:00", "2026-12-02 15:00", "quiet_hours"),
        ("2026-12-02 14:59", "2026-12-02 15:00", "quiet_hours"),
        ("2026-12-02 15:00", "2026-12-02 15:00", None),
        ("2026-12-02 23:30", "2026-12-02 23:30", None),
    ],
)
def test_quiet_hours_within_one_day(due: str, sent: str, reason: str | None) -> None:
    config = replace(PLAN, quiet_hours=DailyWindow(start=time(13), end=time(15)))
    planned = send(local(due, DAKAR), local("2026-12-10 00:00", DAKAR))
    assert decide(planned, DAKAR, config=config) == SendAt(local(sent, DAKAR), reason)


def test_the_same_instant_is_quiet_in_dakar_but_not_in_tunis() -> None:
    planned = send(utc("2026-12-02 07:30"), utc("2026-12-03 00:00"))
    assert decide(planned, TUNIS) == SendAt(utc("2026-12-02 07:30"))  # 08:30 in Tunis
    assert decide(planned, DAKAR) == SendAt(utc("2026-12-02 08:00"), "quiet_hours")  # 07:30


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        # The night Morocco goes to +00:00: 22:00 is 21:00 UTC, 08:00 the next day is 08:00 UTC.
        ("2026-02-14 22:00", "2026-02-15 08:00"),
        # The night it goes back to +01:00: 22:00 is 22:00 UTC, 08:00 the next day is 07:00 UTC.
        ("2026-03-21 22:00", "2026-03-22 08:00"),
    ],
)
def test_quiet_hours_end_at_0800_local_on_the_nights_morocco_changes_offset(
    due: str, sent: str
) -> None:
    planned = send(local(due, CASABLANCA), local("2026-03-30 00:00", CASABLANCA))
    decision = decide(planned, CASABLANCA)
    assert decision == SendAt(local(sent, CASABLANCA), "quiet_hours")
    assert isinstance(decision, SendAt)
    assert decision.at.astimezone(CASABLANCA).hour == 8


def test_last_reminder_of_a_0900_workshop_waits_until_0800() -> None:
    assert decide(last_reminder("2026-12-03 09:00", TUNIS), TUNIS) == SendAt(
        local("2026-12-03 08:00", TUNIS), "quiet_hours"
    )


def test_last_reminder_of_a_0830_workshop_moves_from_0630_to_0800() -> None:
    planned = last_reminder("2026-12-03 08:30", DAKAR)
    assert planned.due_at == local("2026-12-03 06:30", DAKAR)
    assert decide(planned, DAKAR) == SendAt(local("2026-12-03 08:00", DAKAR), "quiet_hours")


@pytest.mark.parametrize("start", ["2026-12-03 07:00", "2026-12-03 08:00"])
def test_last_reminder_is_skipped_when_quiet_hours_last_until_the_start(start: str) -> None:
    # At 08:00 sharp the workshop is starting: a "starts in 2 hours" message is no use then.
    decision = decide(last_reminder(start, CASABLANCA), CASABLANCA)
    assert decision == Skip("quiet_hours_until_after_start")


def test_friday_prayer_blackout_when_enabled() -> None:
    friday = send(local("2026-12-04 13:00", TUNIS), local("2026-12-10 00:00", TUNIS))
    thursday = send(local("2026-12-03 13:00", TUNIS), local("2026-12-10 00:00", TUNIS))
    assert decide(friday, TUNIS, config=PRAYER, country="TN") == SendAt(
        local("2026-12-04 14:30", TUNIS), "blackout:friday_prayer"
    )
    assert decide(thursday, TUNIS, config=PRAYER, country="TN") == SendAt(thursday.due_at)


def test_friday_prayer_is_off_in_the_default_plan() -> None:
    friday = send(local("2026-12-04 13:00", TUNIS), local("2026-12-10 00:00", TUNIS))
    assert decide(friday, TUNIS, country="TN") == SendAt(friday.due_at)


def test_a_blackout_applies_only_to_its_countries() -> None:
    config = replace(
        PRAYER, blackouts=tuple(replace(b, countries=frozenset({"MA"})) for b in PRAYER.blackouts)
    )
    friday = send(local("2026-12-04 13:00", TUNIS), local("2026-12-10 00:00", TUNIS))
    assert decide(friday, TUNIS, config=config, country="TN") == SendAt(friday.due_at)


def test_a_blackout_that_lasts_until_the_start_skips_the_reminder() -> None:
    planned = last_reminder("2026-12-04 14:30", CASABLANCA)  # a Friday
    decision = decide(planned, CASABLANCA, config=PRAYER)
    assert decision == Skip("blackout:friday_prayer_until_after_start")


def test_quiet_hours_then_a_blackout_right_after_them() -> None:
    early = replace(PRAYER.blackouts[0], window=DailyWindow(start=time(8), end=time(9)))
    config = replace(PRAYER, blackouts=(early,))
    friday = send(local("2026-12-04 06:00", DAKAR), local("2026-12-10 00:00", DAKAR))
    assert decide(friday, DAKAR, config=config, country="SN") == SendAt(
        local("2026-12-04 09:00", DAKAR), "blackout:friday_prayer"
    )


@pytest.mark.parametrize(
    ("day", "country", "sent", "reason"),
    [
        ("2027-02-07", "TN", "19:00", None),  # the day before the range
        ("2027-02-08", "TN", "20:00", "blackout:iftar"),  # first day, inclusive
        ("2027-02-20", "TN", "20:00", "blackout:iftar"),
        ("2027-03-09", "TN", "20:00", "blackout:iftar"),  # last day, inclusive
        ("2027-03-10", "TN", "19:00", None),
        ("2027-02-20", "SN", "19:00", None),  # not in its countries
    ],
)
def test_iftar_blackout_on_a_date_range_only(
    day: str, country: str, sent: str, reason: str | None
) -> None:
    planned = send(local(f"{day} 19:00", TUNIS), local(f"{day} 23:59", TUNIS), "window")
    decision = decide(planned, TUNIS, config=IFTAR, country=country)
    assert decision == SendAt(local(f"{day} {sent}", TUNIS), reason)


def test_windows_that_leave_no_free_time_skip_instead_of_looping() -> None:
    always = replace(
        PRAYER.blackouts[0], weekday=None, window=DailyWindow(start=time(8), end=time(21))
    )
    config = replace(PLAN, blackouts=(always,))
    planned = send(local("2026-12-01 10:00", DAKAR), local("2027-12-01 10:00", DAKAR))
    assert decide(planned, DAKAR, config=config, country="SN") == Skip("no_allowed_time")


def test_a_send_planned_after_its_deadline_is_skipped() -> None:
    invitation = PlannedSend(
        purpose="invitation",
        key="invitation",
        due_at=utc("2026-12-03 14:00"),  # enrolled half an hour after the start
        not_after=utc("2026-12-03 13:30"),
        deadline="start",
    )
    assert decide(invitation, TUNIS, now=utc("2026-12-03 14:00")) == Skip("after_deadline")


FIRST = send(local("2026-12-01 10:00", CASABLANCA), local("2026-12-03 14:30", CASABLANCA))


def test_after_an_outage_a_still_meaningful_send_goes_out_now() -> None:
    now = local("2026-12-03 11:47", CASABLANCA)  # two days late, still before the start
    assert decide(FIRST, CASABLANCA, now=now) == SendAt(now.astimezone(UTC))


def test_after_an_outage_ending_at_night_the_send_waits_for_morning() -> None:
    now = local("2026-12-03 03:00", CASABLANCA)
    assert decide(FIRST, CASABLANCA, now=now) == SendAt(
        local("2026-12-03 08:00", CASABLANCA), "quiet_hours"
    )


@pytest.mark.parametrize("now", ["2026-12-03 14:30", "2026-12-05 09:00"])
def test_after_an_outage_past_the_deadline_the_send_expires(now: str) -> None:
    decision = decide(FIRST, CASABLANCA, now=local(now, CASABLANCA))
    assert isinstance(decision, Skip)
    assert (
        decision.reason
        == "expired: its deadline 2026-12-03T13:30:00+00:00 passed before it was sent"
    )


def test_attendance_check_survives_a_two_day_outage_but_not_three() -> None:
    starts_at = local("2026-12-03 14:30", DAKAR)
    (check,) = [
        s
        for s in workshop_sends(
            PLAN,
            enrolled_at=starts_at - timedelta(days=10),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            tz=DAKAR,
        )
        if s.purpose == "attendance_check"
    ]
    two_days_late = check.due_at + timedelta(days=2)
    assert decide(check, DAKAR, now=two_days_late) == SendAt(two_days_late)
    three_days_late = check.due_at + timedelta(days=3)
    assert isinstance(decide(check, DAKAR, now=three_days_late), Skip)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(FIRST, CASABLANCA, now=utc("2026-12-01 09:00").replace(tzinfo=None))


def test_timezone_for_prefers_the_returnees_own_zone() -> None:
    assert timezone_for("MA", "Europe/Paris", PLAN) == ZoneInfo("Europe/Paris")
    assert timezone_for("MA", None, PLAN) == CASABLANCA
    assert timezone_for("SN", "", PLAN) == DAKAR  # a blank field from an import means none
    assert timezone_for("TN", None, PLAN) == TUNIS


@pytest.mark.parametrize("name", ["Africa/Casablance", "Africa", "../etc/passwd", "/etc/localtime"])
def test_timezone_for_rejects_unknown_names(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        timezone_for("MA", name, PLAN)


def test_timezone_for_a_country_without_a_zone() -> None:
    with pytest.raises(ValueError, match="no time zone known for country 'FR'"):
        timezone_for("FR", None, PLAN)


@given(
    due=st.datetimes(
        min_value=utc("2026-01-01 00:00").replace(tzinfo=None),  # hypothesis wants naive bounds
        max_value=utc("2027-12-31 00:00").replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    tz=st.sampled_from([CASABLANCA, TUNIS, DAKAR]),
)
@settings(database=None)  # no example database in the working tree
def test_a_send_never_goes_out_in_quiet_time_or_early(
    due: datetime, late: timedelta, tz: ZoneInfo
) -> None:
    planned = send(due, due + timedelta(days=3), "window")
    decision = decide(planned, tz, now=due + late, config=PRAYER)
    assert isinstance(decision, SendAt)  # a day is always enough to get out of these windows
    wall = decision.at.astimezone(tz)
    assert decision.at >= due + late
    assert time(8) <= wall.time() < time(21)
    assert not (wall.weekday() == 4 and time(12, 30) <= wall.time() < time(14, 30))
    assert (decision.reason is None) == (decision.at == due + late)
