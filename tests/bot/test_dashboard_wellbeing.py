"""Wellbeing: a returnee's scores over time and the caseload's weekly distribution, as SVG."""

import re
from datetime import UTC, date, datetime, timedelta

from bot.dashboard.charts import HEIGHT, line_chart, monday_of, weekly_bars
from bot.services import Services
from tests.bot.test_dashboard_support import AMINA, MOUSSA, build_world, signed_in


def test_a_score_line_runs_from_the_first_to_the_last_check_in() -> None:
    start = datetime(2026, 11, 2, 10, tzinfo=UTC)
    chart = line_chart(
        [(start, 1), (start + timedelta(days=7), 5), (start + timedelta(days=14), 3)]
    )
    assert chart is not None
    xs = [p.x for p in chart.points]
    ys = [p.y for p in chart.points]
    assert xs == sorted(xs)
    assert xs[1] - xs[0] == xs[2] - xs[1]  # evenly spaced in time
    assert ys[1] < ys[2] < ys[0]  # 5 on top, 1 at the bottom
    assert chart.polyline.count(",") == 3
    assert [label for _, label in chart.ticks] == ["02/11/2026", "16/11/2026"]
    single = line_chart([(start, 4)])
    assert single is not None
    assert len(single.ticks) == 1
    assert line_chart([]) is None


def test_weekly_bars_stack_the_scores_of_each_week() -> None:
    last = date(2026, 11, 23)
    scores = [(date(2026, 11, 24), 1), (date(2026, 11, 25), 1), (date(2026, 11, 29), 5),
              (date(2026, 11, 17), 3), (date(2026, 1, 1), 2)]  # fmt: skip
    chart = weekly_bars(scores, last_monday=last, weeks=4)
    assert [w.monday for w in chart.weeks] == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23),
    ]  # fmt: skip
    assert chart.top == 3
    week = chart.weeks[-1]
    assert week.counts == {1: 2, 2: 0, 3: 0, 4: 0, 5: 1}
    assert [s.score for s in week.segments] == [1, 5]
    bottom, top = week.segments
    assert bottom.y + bottom.height == HEIGHT - 24  # on the axis
    assert top.y + top.height == bottom.y  # stacked
    assert chart.weeks[0].segments == []
    assert monday_of(date(2026, 11, 29)) == date(2026, 11, 23)


async def test_the_wellbeing_page_charts_the_caseload(services: Services) -> None:
    await build_world(services)
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get("/wellbeing")).text
        assert page.count('<rect class="s') >= 2 + 5  # two scores, plus the legend
        assert "2 réponses sur la période" in page
        low = re.search(r"Dernier score bas.*?</div>", page, re.S)
        assert low is not None
        assert "Fatima Zahra Idrissi" in low.group(0)  # her latest score is 2
        assert (await amina.http.get("/wellbeing?weeks=1000")).status_code == 422
    async with signed_in(services, MOUSSA) as moussa:
        page = (await moussa.http.get("/wellbeing?weeks=4")).text
        assert "1 réponse sur la période" in page
        assert "Fatima" not in page
