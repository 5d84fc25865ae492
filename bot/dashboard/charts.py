"""Chart geometry for inline SVG: a score line over time, stacked weekly bars. No JS, no CDN."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.reports import SCORES, weekly_counts
from bot.reports import monday_of as monday_of  # where the dashboard has always found it

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 28, 12, 10, 24  # margins: axis labels live there


@dataclass(frozen=True, slots=True)
class Point:
    """One check-in on the line chart."""

    x: float
    y: float
    score: int
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """A returnee's scores over time."""

    points: list[Point]
    polyline: str
    grid: list[tuple[int, float]]  # (score, y)
    ticks: list[tuple[float, str]]  # (x, date label)
    width: int = WIDTH
    height: int = HEIGHT


def _y(score: float) -> float:
    return TOP + (5 - score) / 4 * (HEIGHT - TOP - BOTTOM)


def _day(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y")


def line_chart(
    checkins: Sequence[tuple[datetime, int]], *, label: Callable[[datetime], str] = _day
) -> LineChart | None:
    """Place (time, score) pairs, oldest first, dated by label; None when there is nothing."""
    if not checkins:
        return None
    first, last = checkins[0][0], checkins[-1][0]
    span = (last - first).total_seconds()
    inner = WIDTH - LEFT - RIGHT

    def x(moment: datetime) -> float:
        return LEFT + (inner / 2 if span == 0 else (moment - first).total_seconds() / span * inner)

    points = [
        Point(round(x(at), 1), round(_y(score), 1), score, label(at)) for at, score in checkins
    ]
    ticks = [(points[0].x, points[0].label)]
    if span:
        ticks.append((points[-1].x, points[-1].label))
    return LineChart(
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        grid=[(s, round(_y(s), 1)) for s in SCORES],
        ticks=ticks,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """One score's share of a week's bar."""

    x: float
    y: float
    width: float
    height: float
    score: int
    count: int


@dataclass(frozen=True, slots=True)
class Week:
    """A week of the caseload's check-ins: counts per score, and its bar."""

    monday: date
    counts: dict[int, int]
    segments: list[Segment]
    label_x: float

    @property
    def total(self) -> int:
        """How many check-ins that week."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class BarChart:
    """The caseload's score distribution per week."""

    weeks: list[Week]
    top: int  # the largest weekly total: the height of the y axis
    width: int = WIDTH
    height: int = HEIGHT


def weekly_bars(scores: Iterable[tuple[date, int]], *, last_monday: date, weeks: int) -> BarChart:
    """Count scores per week for the `weeks` weeks ending with `last_monday`'s, and stack them."""
    counted = weekly_counts(scores, last_monday=last_monday, weeks=weeks)
    top = max([sum(w.counts.values()) for w in counted] + [1])
    slot = (WIDTH - LEFT - RIGHT) / max(1, weeks)
    bar_w = round(slot * 0.7, 1)
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for i, week in enumerate(counted):
        x = round(LEFT + i * slot + (slot - bar_w) / 2, 1)
        base = float(HEIGHT - BOTTOM)
        segments = []
        for score in SCORES:  # 1 at the bottom, 5 on top
            n = week.counts[score]
            if n:
                h = n / top * plot_h
                base -= h
                segments.append(Segment(x, round(base, 1), bar_w, round(h, 1), score, n))
        out.append(Week(week.monday, week.counts, segments, round(x + bar_w / 2, 1)))
    return BarChart(weeks=out, top=top)
