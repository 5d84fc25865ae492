"""Plans as data: the default schedule in each country, local calendars, and plan-file errors."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.plan import (
    PlanConfig,
    PlanError,
    PlannedSend,
    load_default_plan,
    parse_plan,
    wellbeing_sends,
    workshop_sends,
)

CASABLANCA, TUNIS, DAKAR = (
    ZoneInfo(n) for n in ("Africa/Casablanca", "Africa/Tunis", "Africa/Dakar")
)
PLAN = load_default_plan()


def utc(text: str) -> datetime:
    """An instant written in UTC, e.g. "2026-12-01 09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: ZoneInfo) -> datetime:
    """A wall-clock time in a zone, e.g. "2026-12-03 14:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def by_key(sends: list[PlannedSend]) -> dict[str, tuple[datetime, datetime]]:
    """{key: (due_at, not_after)}, to compare a plan in one assertion."""
    return {send.key: (send.due_at, send.not_after) for send in sends}


def plan_for(
    start: str, end: str, tz: ZoneInfo, enrolled: str = "2026-11-20 09:15"
) -> dict[str, tuple[datetime, datetime]]:
    """The default plan of a workshop given in local time, for someone enrolled at a UTC instant."""
    sends = workshop_sends(
        PLAN, enrolled_at=utc(enrolled), starts_at=local(start, tz), ends_at=local(end, tz), tz=tz
    )
    return by_key(sends)


# Thursday 3 December 2026, 14:30-16:30 local: UTC+1 in Casablanca and Tunis, UTC+0 in Dakar.
@pytest.mark.parametrize(
    ("tz", "first", "last", "start", "check", "check_until"),
    [
        (CASABLANCA, "2026-12-01 09:00", "2026-12-03 11:30", "2026-12-03 13:30", "2026-12-03 16:30",
         "2026-12-06 15:30"),
        (TUNIS, "2026-12-01 09:00", "2026-12-03 11:30", "2026-12-03 13:30", "2026-12-03 16:30",
         "2026-12-06 15:30"),
        (DAKAR, "2026-12-01 10:00", "2026-12-03 12:30", "2026-12-03 14:30", "2026-12-03 17:30",
         "2026-12-06 16:30"),
    ],
)  # fmt: skip
def test_default_schedule_in_each_country(
    tz: ZoneInfo, first: str, last: str, start: str, check: str, check_until: str
) -> None:
    assert plan_for("2026-12-03 14:30", "2026-12-03 16:30", tz) == {
        "invitation": (utc("2026-11-20 09:15"), utc(start)),
        "reminder:first": (utc(first), utc(start)),
        "reminder:last": (utc(last), utc(start)),
        "attendance_check": (utc(check), utc(check_until)),
    }


def test_planned_sends_carry_purpose_and_what_their_deadline_is() -> None:
    sends = workshop_sends(
        PLAN,
        enrolled_at=utc("2026-11-20 09:15"),
        starts_at=utc("2026-12-03 13:30"),
        ends_at=utc("2026-12-03 15:30"),
        tz=TUNIS,
    )
    assert [(s.purpose, s.deadline) for s in sends] == [
        ("invitation", "start"),
        ("reminder", "start"),
        ("reminder", "start"),
        ("attendance_check", "deadline"),
    ]
    assert all(s.due_at.tzinfo is UTC and s.not_after.tzinfo is UTC for s in sends)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Morocco goes from +01:00 to +00:00 at 03:00 on Sunday 15 February 2026 (Ramadan)...
        ("2026-02-17 14:30", "2026-02-15 10:00"),
        # ...and back to +01:00 at 02:00 on Sunday 22 March 2026.
        ("2026-03-24 14:30", "2026-03-22 09:00"),
        # reference/languages.md §3.2: +00:00 on 1 March, +01:00 on 1 April.
        ("2026-03-03 14:30", "2026-03-01 10:00"),
        ("2026-04-03 14:30", "2026-04-01 09:00"),
    ],
)
def test_first_reminder_is_10_local_when_morocco_changes_its_offset(
    start: str, expected: str
) -> None:
    plan = plan_for(start, start, CASABLANCA, enrolled="2026-01-05 12:00")
    assert plan["reminder:first"][0] == utc(expected)
    assert plan["reminder:first"][0].astimezone(CASABLANCA).hour == 10


def test_at_hour_counts_days_in_the_returnees_calendar_not_utc() -> None:
    # 00:30 on Thursday in Casablanca is still Wednesday in UTC; 2 days before is Tuesday locally.
    plan = plan_for("2026-12-03 00:30", "2026-12-03 02:00", CASABLANCA)
    assert plan["reminder:first"][0] == local("2026-12-01 10:00", CASABLANCA)


def test_without_at_hour_the_offset_is_an_exact_duration_across_an_offset_change() -> None:
    plan = parse_plan(
        "sends: [{purpose: reminder, key: eve, before: start, offset: {hours: 24}}]", source="t"
    )
    sends = workshop_sends(
        plan,
        enrolled_at=utc("2026-02-01 00:00"),
        starts_at=local("2026-02-15 12:00", CASABLANCA),  # the clock went back at 03:00
        ends_at=local("2026-02-15 13:00", CASABLANCA),
        tz=CASABLANCA,
    )
    assert sends[0].due_at == utc("2026-02-14 12:00")  # 13:00 local the day before: 24 h, not 1 day


def test_sends_due_before_the_enrollment_are_left_out() -> None:
    plan = plan_for("2026-12-03 14:30", "2026-12-03 16:30", TUNIS, enrolled="2026-12-02 11:00")
    assert list(plan) == ["invitation", "reminder:last", "attendance_check"]


def test_an_enrollment_after_the_start_still_plans_its_invitation_for_resolve_to_skip() -> None:
    plan = plan_for("2026-12-03 14:30", "2026-12-03 16:30", TUNIS, enrolled="2026-12-03 14:00")
    assert plan["invitation"] == (utc("2026-12-03 14:00"), utc("2026-12-03 13:30"))


def test_workshop_times_must_be_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
        workshop_sends(
            PLAN,
            enrolled_at=utc("2026-11-20 09:15"),
            starts_at=utc("2026-12-03 14:30").replace(tzinfo=None),  # naive: refused
            ends_at=utc("2026-12-03 15:30"),
            tz=TUNIS,
        )
    with pytest.raises(ValueError, match="ends"):
        workshop_sends(
            PLAN,
            enrolled_at=utc("2026-11-20 09:15"),
            starts_at=utc("2026-12-03 15:30"),
            ends_at=utc("2026-12-03 13:30"),
            tz=TUNIS,
        )


def test_wellbeing_first_7_days_after_first_enrollment_then_every_14_days_at_10() -> None:
    sends = wellbeing_sends(
        PLAN,
        first_enrolled_at=local("2026-11-20 16:45", TUNIS),
        tz=TUNIS,
        until=utc("2027-01-22 09:00"),  # exactly the fifth: `until` is inclusive
    )
    assert [(s.key, s.purpose) for s in sends][:2] == [
        ("wellbeing:1", "wellbeing_checkin"),
        ("wellbeing:2", "wellbeing_checkin"),
    ]
    assert [s.due_at for s in sends] == [
        utc("2026-11-27 09:00"),
        utc("2026-12-11 09:00"),
        utc("2026-12-25 09:00"),
        utc("2027-01-08 09:00"),
        utc("2027-01-22 09:00"),
    ]
    assert all(s.not_after - s.due_at == timedelta(days=3) for s in sends)


def test_wellbeing_stays_at_10_local_through_ramadan_in_morocco() -> None:
    sends = wellbeing_sends(
        PLAN,
        first_enrolled_at=local("2026-02-01 11:00", CASABLANCA),
        tz=CASABLANCA,
        until=utc("2026-04-06 00:00"),
    )
    assert [s.due_at for s in sends] == [
        utc("2026-02-08 09:00"),  # +01:00
        utc("2026-02-22 10:00"),  # +00:00 during Ramadan
        utc("2026-03-08 10:00"),
        utc("2026-03-22 09:00"),  # +01:00 again from 02:00 that morning
        utc("2026-04-05 09:00"),
    ]


def test_no_wellbeing_section_means_no_check_ins() -> None:
    config: PlanConfig = replace(PLAN, wellbeing=None)
    assert wellbeing_sends(config, first_enrolled_at=utc("2026-01-01 00:00"), tz=DAKAR,
                           until=utc("2027-01-01 00:00")) == []  # fmt: skip


def test_the_default_plan_matches_interface_md() -> None:
    assert [rule.key for rule in PLAN.sends] == [
        "invitation",
        "reminder:first",
        "reminder:last",
        "attendance_check",
    ]
    assert PLAN.quiet_hours is not None
    assert (PLAN.quiet_hours.start.isoformat(), PLAN.quiet_hours.end.isoformat()) == (
        "21:00:00",
        "08:00:00",
    )
    assert dict(PLAN.country_timezones) == {
        "MA": "Africa/Casablanca",
        "TN": "Africa/Tunis",
        "SN": "Africa/Dakar",
    }
    (prayer,) = PLAN.blackouts
    assert (prayer.name, prayer.enabled) == ("friday_prayer", False)


def test_blackout_fields_are_parsed() -> None:
    plan = parse_plan(
        "sends: []\n"
        "blackouts:\n"
        '  - {name: iftar, start: "18:30", end: "20:00", from: 2027-02-08, to: "2027-03-09",'
        " countries: [MA, TN]}\n",
        source="t",
    )
    (iftar,) = plan.blackouts
    assert (iftar.first_day, iftar.last_day) == (
        datetime(2027, 2, 8, tzinfo=UTC).date(),
        datetime(2027, 3, 9, tzinfo=UTC).date(),
    )
    assert iftar.countries == {"MA", "TN"}
    assert iftar.weekday is None
    assert iftar.enabled


BACKWARDS = """sends: []
blackouts:
  - name: p
    start: "12:00"
    end: "13:00"
    from: 2027-03-09
    to: 2027-02-08
"""
GOOD_SEND = '{purpose: reminder, key: first, before: start, offset: {days: 2}, at_hour: "10:00"}'


@pytest.mark.parametrize(
    ("text", "key", "line", "problem"),
    [
        ("", "(top level)", None, "expected keys and values, got nothing"),
        ("- a\n- b\n", "(top level)", 1, "expected keys and values"),
        ("sends: []\nquiet: {}\n", "quiet", 2, "unknown key"),
        ("wellbeing: null\n", "sends", 1, "missing"),
        (f"sends:\n  - {GOOD_SEND}\n  - {{purpose: reminder, at: start, offst: 1}}\n",
         "sends[1].offst", 3, "unknown key"),
        ("sends:\n  - {purpose: reminder, before: start}\n", "sends[0].offset", 2, "missing"),
        ("sends:\n  - {purpose: reminder, before: start, offset: {days: 2}, at_hour: 10:00}\n",
         "sends[0].at_hour", 2, 'double quotes, e.g. "10:00"'),
        ("sends:\n  - {purpose: remind, at: start}\n", "sends[0].purpose", 2, "not one of"),
        ("sends:\n  - {purpose: reminder, at: start, after: end}\n", "sends[0]", 2, "exactly one"),
        ("sends:\n  - {purpose: reminder, before: enrollment, offset: {days: 1}}\n",
         "sends[0].before", 2, "before the enrollment"),
        ("sends:\n  - {purpose: reminder, before: start, offset: {hours: 36}, at_hour: '9:00'}\n",
         "sends[0].offset", 2, "whole days"),
        ("sends:\n  - {purpose: reminder, before: start, offset: {days: -1}}\n",
         "sends[0].offset.days", 2, "whole number"),
        ("sends:\n  - {purpose: reminder, before: start, offset: {}}\n", "sends[0].offset", 2,
         "give days, hours or minutes"),
        (f"sends:\n  - {GOOD_SEND}\n  - {GOOD_SEND}\n", "sends[1].key", 3, "planned twice"),
        ("sends: []\nquiet_hours: {start: \"21:00\", end: \"25:00\"}\n", "quiet_hours.end", 2,
         "not a time of day"),
        ("sends: []\nquiet_hours: {start: \"21:00\", end: \"21:00\"}\n", "quiet_hours.end", 2,
         "must differ"),
        ("sends: []\nwellbeing: {every: {days: 0}, first_after: {days: 7}, window: {days: 3}}\n",
         "wellbeing.every", 2, "longer than zero"),
        ("sends: []\nblackouts:\n  - {name: p, weekday: vendredi, start: '12:00', end: '13:00'}\n",
         "blackouts[0].weekday", 3, "not one of monday"),
        ("sends: []\nblackouts:\n  - {name: p, start: '12:00', end: '13:00', countries: [NO]}\n",
         "blackouts[0].countries[0]", 3, "put it in double quotes"),
        (BACKWARDS, "blackouts[0].to", 7, "before from"),
        ("sends: []\nblackouts:\n  - {name: p, start: '12:00', end: '13:00', from: 8 Feb}\n",
         "blackouts[0].from", 3, "not a date"),
        ("sends: []\nblackouts:\n  - {name: Prayer, start: '12:00', end: '13:00'}\n",
         "blackouts[0].name", 3, "lowercase"),
        ("sends: none\n", "sends", 1, "expected a list"),
        ("sends:\n  - {purpose: reminder, at: start, until: middle}\n", "sends[0].until.at", 2,
         "'middle' is not one of enrollment, start, end"),
        ("sends: []\n1: x\n", "(top level)", 1, "the key 1 must be text"),
        ("sends:\n  - {purpose: invitation, at: enrollment, at_hour: '10:00'}\n",
         "sends[0].at_hour", 2, "only goes with before or after"),
        ("sends: []\nblackouts:\n  - {name: p, start: \"12:00\", end: \"13:00\", enabled: maybe}\n",
         "blackouts[0].enabled", 3, "true or false"),
        ("sends: []\ncountry_timezones: {MA: Africa/Casablance}\n", "country_timezones.MA", 2,
         "unknown time zone 'Africa/Casablance'"),
        ("sends: []\ncountry_timezones: {Morocco: Africa/Casablanca}\n",
         "country_timezones.Morocco", 2, "two-letter country code"),
        ("sends: []\nsends: []\n", "yaml", 2, "the key 'sends' appears twice"),
        ("sends: [\n", "yaml", 2, "expected the node content"),
        ("sends: &a [*a]\n", "sends[0]", 1, "expected keys and values"),
    ],
)  # fmt: skip
def test_bad_plans_name_the_file_line_and_key(
    text: str, key: str, line: int | None, problem: str
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plans/bad.yaml")
    assert (caught.value.source, caught.value.key, caught.value.line) == (
        "plans/bad.yaml",
        key,
        line,
    )
    assert problem in caught.value.problem
    where = f"plans/bad.yaml:{line}" if line else "plans/bad.yaml"
    assert str(caught.value).startswith(f"{where}: {key}: ")
