"""Sending plans as data: parse the YAML that programme staff edit; turn it into planned sends."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from types import MappingProxyType
from typing import Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

Purpose = Literal["invitation", "reminder", "attendance_check", "wellbeing_checkin"]
Anchor = Literal["enrollment", "start", "end"]
WORKSHOP_PURPOSES: tuple[Purpose, ...] = ("invitation", "reminder", "attendance_check")
ANCHORS: tuple[Anchor, ...] = ("enrollment", "start", "end")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = timedelta(days=1)


class PlanError(ValueError):
    """A plan file is invalid; the message names the file, the line and the offending key."""

    def __init__(self, source: str, key: str, problem: str, line: int | None = None) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {problem}")
        self.source, self.key, self.problem, self.line = source, key, problem, line


@dataclass(frozen=True, slots=True, kw_only=True)
class Moment:
    """A time relative to the enrollment or the workshop; with at_hour, a local wall-clock time."""

    anchor: Anchor
    offset: timedelta = timedelta(0)  # negative means before; whole days when at_hour is set
    at_hour: time | None = None

    @property
    def label(self) -> str:
        """The anchor's name when the moment is the anchor itself, else "deadline" (for reasons)."""
        return self.anchor if not self.offset and self.at_hour is None else "deadline"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRule:
    """One send per enrollment: when it is due and until when it still makes sense."""

    purpose: Purpose
    key: str  # unique within the plan: "invitation", "reminder:first"
    when: Moment
    until: Moment


@dataclass(frozen=True, slots=True, kw_only=True)
class WellbeingRule:
    """Check-ins every so often, counted from the returnee's first enrollment."""

    every: timedelta
    first_after: timedelta
    window: timedelta  # a check-in not sent within this time after its due time is dropped
    at_hour: time | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyWindow:
    """A local wall-clock window; it crosses midnight when end <= start (21:00-08:00)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True, kw_only=True)
class Blackout:
    """A window, opening on some days only, in which scheduled sends wait for its end."""

    name: str
    window: DailyWindow
    weekday: int | None = None  # 0 = Monday, as date.weekday()
    first_day: date | None = None  # the days the window opens on, inclusive, local calendar
    last_day: date | None = None
    countries: frozenset[str] = frozenset()  # empty: every country
    enabled: bool = True

    def applies_to(self, country: str) -> bool:
        """Whether the blackout is on for returnees of this country."""
        return self.enabled and (not self.countries or country in self.countries)

    def opens_on(self, day: date) -> bool:
        """Whether the window opens on this local day."""
        if self.weekday is not None and day.weekday() != self.weekday:
            return False
        return (self.first_day or day) <= day <= (self.last_day or day)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanConfig:
    """A whole plan: workshop sends, wellbeing check-ins and the times not to write."""

    sends: tuple[SendRule, ...]
    wellbeing: WellbeingRule | None = None
    quiet_hours: DailyWindow | None = None
    blackouts: tuple[Blackout, ...] = ()
    country_timezones: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSend:
    """A send owed to an enrollment (check-ins: to a returnee), before quiet time is applied."""

    purpose: Purpose
    key: str  # stable across re-planning, unique per enrollment: "reminder:first", "wellbeing:3"
    due_at: datetime  # aware UTC, nominal: quiet hours and blackouts are policy.resolve's business
    not_after: datetime  # aware UTC; the send must go out before this instant or not at all
    deadline: str = "deadline"  # what not_after is ("start", "window"…), for skip reasons

    def __post_init__(self) -> None:
        _utc(self.due_at, "due_at")
        _utc(self.not_after, "not_after")


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of this name; ValueError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: "Africa" is a folder
        message = f"unknown time zone {name!r}; use an IANA name such as Africa/Tunis"
        raise ValueError(message) from error


def workshop_sends(
    config: PlanConfig,
    *,
    enrolled_at: datetime,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
) -> list[PlannedSend]:
    """The sends of one enrollment, minus any due before it (the invitation covers those)."""
    anchors = {
        "enrollment": _utc(enrolled_at, "enrolled_at"),
        "start": _utc(starts_at, "starts_at"),
        "end": _utc(ends_at, "ends_at"),
    }
    if anchors["end"] < anchors["start"]:
        message = f"the workshop ends ({ends_at}) before it starts ({starts_at})"
        raise ValueError(message)
    sends = []
    for rule in config.sends:
        due = _instant(rule.when, anchors, tz)
        if due >= anchors["enrollment"]:
            not_after = _instant(rule.until, anchors, tz)
            sends.append(
                PlannedSend(
                    purpose=rule.purpose,
                    key=rule.key,
                    due_at=due,
                    not_after=not_after,
                    deadline=rule.until.label,
                )
            )
    return sends


def wellbeing_sends(
    config: PlanConfig, *, first_enrolled_at: datetime, tz: ZoneInfo, until: datetime
) -> list[PlannedSend]:
    """The wellbeing check-ins due up to `until` (inclusive), keyed "wellbeing:1", "wellbeing:2"…"""
    rule, first = config.wellbeing, _utc(first_enrolled_at, "first_enrolled_at")
    until = _utc(until, "until")
    sends: list[PlannedSend] = []
    while rule is not None:
        shift = rule.first_after + len(sends) * rule.every
        moment = Moment(anchor="enrollment", offset=shift, at_hour=rule.at_hour)
        due = _instant(moment, {"enrollment": first}, tz)
        if due > until:
            break
        key = f"wellbeing:{len(sends) + 1}"
        sends.append(
            PlannedSend(
                purpose="wellbeing_checkin",
                key=key,
                due_at=due,
                not_after=due + rule.window,
                deadline="window",
            )
        )
    return sends


def load_default_plan() -> PlanConfig:
    """The plan packaged with the scheduler, scheduler/default_plan.yaml."""
    text = resources.files("scheduler").joinpath("default_plan.yaml").read_text(encoding="utf-8")
    return parse_plan(text, source="scheduler/default_plan.yaml")


def _instant(moment: Moment, anchors: Mapping[str, datetime], tz: ZoneInfo) -> datetime:
    base = anchors[moment.anchor]
    if moment.at_hour is None:
        return base + moment.offset  # base is UTC, so this is an exact duration
    day = base.astimezone(tz).date() + moment.offset  # calendar days, not 24-hour spans
    return datetime.combine(day, moment.at_hour, tzinfo=tz).astimezone(UTC)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        message = f"{name} must be timezone-aware, got {value.isoformat()}"
        raise ValueError(message)
    return value.astimezone(UTC)


# Parsing. Each helper gets the value and its path in the document; _Invalid carries the path up
# to parse_plan, which turns it into a PlanError with the key and the line.

PathT = tuple[str | int, ...]
T = TypeVar("T")
S = TypeVar("S", bound=str)
_MOMENT_KEYS = {"at", "before", "after", "offset", "at_hour"}
_DEFAULT_UNTIL: Mapping[str, Moment] = {
    "invitation": Moment(anchor="start"),
    "reminder": Moment(anchor="start"),
    "attendance_check": Moment(anchor="end", offset=3 * _DAY),  # "did you come?" still fits then
}


class _Invalid(Exception):
    def __init__(self, path: PathT, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def parse_plan(text: str, *, source: str) -> PlanConfig:
    """Parse a plan file's text; `source` names the file in error messages."""
    loader = yaml.SafeLoader(text)  # safe: builds only plain data, never Python objects
    try:
        root = loader.get_single_node()
        _reject_duplicate_keys(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise PlanError(source, "yaml", problem, mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    try:
        return _config(data)
    except _Invalid as error:
        line = _line(root, error.path)
        raise PlanError(source, _render(error.path), error.problem, line) from None


def _reject_duplicate_keys(root: yaml.Node | None) -> None:
    """PyYAML keeps the last of two equal keys; a key written twice is almost surely a mistake."""
    todo, done = [root], set()
    while todo:
        node = todo.pop()
        if id(node) in done:  # an alias may point back up the tree: "&a [*a]"
            continue
        done.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = [key for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            for i, key in enumerate(keys):
                if key.value in (k.value for k in keys[:i]):
                    problem = f"the key {key.value!r} appears twice"
                    raise yaml.MarkedYAMLError(problem=problem, problem_mark=key.start_mark)
            todo.extend(value for _, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)


def _render(path: PathT) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".") or "(top level)"


def _line(root: yaml.Node | None, path: PathT) -> int | None:
    """The line of the deepest node on the path that exists (a missing key points at its parent)."""
    if root is None:
        return None
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [value for key, value in node.value if key.value == part]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            found = node.value[part : part + 1]
        else:
            found = []
        if not found:
            break
        node = found[0]
    return node.start_mark.line + 1


def _config(data: object) -> PlanConfig:
    top = _mapping(
        data,
        (),
        required={"sends"},
        optional={"wellbeing", "quiet_hours", "blackouts", "country_timezones"},
    )
    sends = tuple(_send(raw, ("sends", i)) for i, raw in enumerate(_list(top["sends"], ("sends",))))
    keys = [rule.key for rule in sends]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            problem = f"{key!r} is planned twice; give each send its own key"
            raise _Invalid(("sends", i, "key"), problem)
    blackouts = _list(top.get("blackouts", []), ("blackouts",))
    return PlanConfig(
        sends=sends,
        wellbeing=_optional(top, "wellbeing", _wellbeing),
        quiet_hours=_optional(top, "quiet_hours", _window),
        blackouts=tuple(_blackout(raw, ("blackouts", i)) for i, raw in enumerate(blackouts)),
        country_timezones=MappingProxyType(_timezones(top.get("country_timezones", {}))),
    )


def _optional(data: dict[str, object], key: str, parse: Callable[[object, PathT], T]) -> T | None:
    return None if data.get(key) is None else parse(data[key], (key,))


def _send(raw: object, path: PathT) -> SendRule:
    data = _mapping(raw, path, required={"purpose"}, optional={"key", "until", *_MOMENT_KEYS})
    purpose = _choice(data["purpose"], (*path, "purpose"), WORKSHOP_PURPOSES)
    key = purpose if "key" not in data else f"{purpose}:{_name(data['key'], (*path, 'key'))}"
    until = _until(data["until"], (*path, "until")) if "until" in data else _DEFAULT_UNTIL[purpose]
    return SendRule(purpose=purpose, key=key, when=_moment(data, path), until=until)


def _until(raw: object, path: PathT) -> Moment:
    raw = {"at": raw} if isinstance(raw, str) else raw  # the short form "until: start"
    return _moment(_mapping(raw, path, required=set(), optional=_MOMENT_KEYS), path)


def _moment(data: dict[str, object], path: PathT) -> Moment:
    given = [word for word in ("at", "before", "after") if word in data]
    if len(given) != 1:
        raise _Invalid(path, "say when with exactly one of at, before or after")
    word = given[0]
    anchor = _choice(data[word], (*path, word), ANCHORS)
    if word == "at":
        for extra in ("offset", "at_hour"):
            if extra in data:
                raise _Invalid((*path, extra), "only goes with before or after, not with at")
        return Moment(anchor=anchor)
    if word == "before" and anchor == "enrollment":
        raise _Invalid((*path, word), "nothing can be sent before the enrollment")
    if "offset" not in data:
        raise _Invalid((*path, "offset"), f"missing: how long {word} {anchor}, e.g. {{days: 2}}")
    offset = _duration(data["offset"], (*path, "offset"))
    at_hour = _clock(data["at_hour"], (*path, "at_hour")) if "at_hour" in data else None
    _check_whole_days(offset, at_hour, (*path, "offset"))
    return Moment(anchor=anchor, offset=-offset if word == "before" else offset, at_hour=at_hour)


def _wellbeing(raw: object, path: PathT) -> WellbeingRule:
    data = _mapping(raw, path, required={"every", "first_after", "window"}, optional={"at_hour"})
    rule = WellbeingRule(
        every=_duration(data["every"], (*path, "every")),
        first_after=_duration(data["first_after"], (*path, "first_after")),
        window=_duration(data["window"], (*path, "window")),
        at_hour=_clock(data["at_hour"], (*path, "at_hour")) if "at_hour" in data else None,
    )
    for key in ("every", "window"):
        if not getattr(rule, key):
            raise _Invalid((*path, key), "must be longer than zero")
    _check_whole_days(rule.every, rule.at_hour, (*path, "every"))
    _check_whole_days(rule.first_after, rule.at_hour, (*path, "first_after"))
    return rule


def _blackout(raw: object, path: PathT) -> Blackout:
    data = _mapping(
        raw,
        path,
        required={"name", "start", "end"},
        optional={"weekday", "from", "to", "countries", "enabled"},
    )
    first = _day(data["from"], (*path, "from")) if "from" in data else None
    last = _day(data["to"], (*path, "to")) if "to" in data else None
    if first and last and last < first:
        raise _Invalid((*path, "to"), f"{last} is before from: {first}")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _Invalid((*path, "enabled"), "must be true or false")
    weekday, day_path = data.get("weekday"), (*path, "weekday")
    countries = _list(data.get("countries", []), (*path, "countries"))
    return Blackout(
        name=_name(data["name"], (*path, "name")),
        window=_window({"start": data["start"], "end": data["end"]}, path),
        weekday=None if weekday is None else WEEKDAYS.index(_choice(weekday, day_path, WEEKDAYS)),
        first_day=first,
        last_day=last,
        enabled=enabled,
        countries=frozenset(_country(c, (*path, "countries", i)) for i, c in enumerate(countries)),
    )


def _window(raw: object, path: PathT) -> DailyWindow:
    data = _mapping(raw, path, required={"start", "end"}, optional=set())
    start, end = _clock(data["start"], (*path, "start")), _clock(data["end"], (*path, "end"))
    window = DailyWindow(start=start, end=end)
    if window.start == window.end:
        raise _Invalid((*path, "end"), "must differ from start")
    return window


def _timezones(raw: object) -> dict[str, str]:
    data = _mapping(raw, ("country_timezones",), required=set(), optional=None)
    zones = {}
    for country, name in data.items():
        path = ("country_timezones", country)
        try:
            zones[_country(country, path)] = zone_named(_text(name, path)).key
        except ValueError as error:
            raise _Invalid(path, str(error)) from None
    return zones


def _check_whole_days(span: timedelta, at_hour: time | None, path: PathT) -> None:
    if at_hour is not None and span % _DAY:
        raise _Invalid(path, "with at_hour, give whole days (the hour comes from at_hour)")


def _mapping(
    value: object, path: PathT, *, required: set[str], optional: set[str] | None
) -> dict[str, object]:
    """A mapping with text keys; optional=None allows any key."""
    if not isinstance(value, dict):
        raise _Invalid(path, f"expected keys and values, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise _Invalid(path, f"the key {key!r} must be text; put it in double quotes")
        if optional is not None and key not in required | optional:
            expected = ", ".join(sorted(required | optional))
            raise _Invalid((*path, key), f"unknown key; expected one of {expected}")
    missing = sorted(required - value.keys())
    if missing:
        raise _Invalid((*path, missing[0]), "missing")
    return cast(dict[str, object], value)


def _list(value: object, path: PathT) -> list[object]:
    if not isinstance(value, list):
        raise _Invalid(path, f"expected a list, got {_kind(value)}")
    return value


def _text(value: object, path: PathT) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(path, f"expected text, got {_kind(value)}; put it in double quotes")
    return value


def _choice(value: object, path: PathT, options: tuple[S, ...]) -> S:
    for option in options:
        if value == option:
            return option
    raise _Invalid(path, f"{value!r} is not one of {', '.join(options)}")


def _name(value: object, path: PathT) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text := _text(value, path)):
        raise _Invalid(path, f"{text!r}: use lowercase letters, digits and _ only")
    return text


def _country(value: object, path: PathT) -> str:
    if not re.fullmatch(r"[A-Z]{2}", text := _text(value, path)):
        raise _Invalid(path, f"{text!r} is not a two-letter country code such as MA")
    return text


def _clock(value: object, path: PathT) -> time:
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 10:00 as the number 600
        raise _Invalid(path, 'write clock times in double quotes, e.g. "10:00"')
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", _text(value, path))
    if match is None:
        raise _Invalid(path, f'{value!r} is not a time of day like "08:30"')
    return time(int(match[1]), int(match[2]))


def _duration(value: object, path: PathT) -> timedelta:
    data = _mapping(value, path, required=set(), optional={"days", "hours", "minutes"})
    if not data:
        raise _Invalid(path, "give days, hours or minutes, e.g. {days: 2}")
    for key, amount in data.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise _Invalid((*path, key), f"expected a whole number of {key}, got {amount!r}")
    return timedelta(**cast(dict[str, int], data))


def _day(value: object, path: PathT) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(_text(value, path))
    except ValueError:
        raise _Invalid(path, f"{value!r} is not a date like 2027-02-08") from None


def _kind(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"
