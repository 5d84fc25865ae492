"""Retention: old free text erased, recent text kept, the report matches, a rerun does nothing."""

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from starlette.config import Config

from bot import audit, retention
from bot.db.models import Checkin, Enrollment, Message
from bot.services import Services
from bot.settings import load
from tests.conftest import FIXED_NOW, TEST_KEY
from tests.security.people import COMMENT, full_person

RUN_AT = FIXED_NOW + timedelta(days=400)  # with 365 days, the cutoff is FIXED_NOW + 35 days


async def _expected(services: Services, cutoff: datetime) -> tuple[int, int, int]:
    """What a purge should erase, counted independently of bot.retention."""
    async with services.unit_of_work() as db:
        messages = (await db.execute(select(Message))).scalars().all()
        checkins = (await db.execute(select(Checkin).order_by(Checkin.id))).scalars().all()
        enrollments = (await db.execute(select(Enrollment))).scalars().all()
    return (
        sum(1 for m in messages if m.created_at < cutoff and m.text),
        sum(1 for c in checkins if c.created_at < cutoff and c.comment is not None),
        sum(1 for e in enrollments if e.updated_at < cutoff and e.feedback is not None),
    )


async def test_old_texts_are_erased_recent_ones_kept_and_a_rerun_does_nothing(
    services: Services,
) -> None:
    await full_person(services, name="Awa Sall", phone="771110001")
    recent = FIXED_NOW + timedelta(days=200)
    await full_person(services, name="Fatou Gueye", phone="771110002", now=recent)
    async with services.unit_of_work() as db:
        for enrollment in (await db.execute(select(Enrollment))).scalars():
            enrollment.feedback = "tres bien, merci"
    cutoff = retention.cutoff_for(RUN_AT, services.settings.retention_days)
    expected = await _expected(services, cutoff)
    assert all(expected)

    first = await retention.run(
        services.unit_of_work, days=services.settings.retention_days, now=RUN_AT, actor="cli"
    )
    again = await retention.run(
        services.unit_of_work, days=services.settings.retention_days, now=RUN_AT, actor="cli"
    )

    assert (first.messages, first.checkin_comments, first.enrollment_feedback) == expected
    assert (again.messages, again.checkin_comments, again.enrollment_feedback) == (0, 0, 0)
    assert await _expected(services, cutoff) == (0, 0, 0)
    async with services.unit_of_work() as db:
        messages = (await db.execute(select(Message))).scalars().all()
        checkins = (await db.execute(select(Checkin))).scalars().all()
        runs = await audit.search(db, audit.AuditQuery(action="retention_run"))
    old = [m for m in messages if m.created_at < cutoff]
    kept = [m for m in messages if m.created_at >= cutoff]
    assert old
    assert {m.text for m in old} == {""}
    assert {m.status for m in old} != {""}  # the facts around the text stay
    assert COMMENT in {m.text for m in kept}
    assert sorted((c.comment or "", c.score) for c in checkins) == [("", 4), (COMMENT, 4)]
    assert len(runs) == 2
    assert runs[0].detail is not None
    assert "messages=0" in runs[0].detail
    assert first.as_dict()["cutoff"] == cutoff.isoformat()


async def test_the_retention_age_comes_from_the_settings(tmp_path: Path) -> None:
    environ = {"RETENTION_DAYS": "30", "SECRET_KEY": "s" * 40, "DATA_ENCRYPTION_KEY": TEST_KEY}
    settings = load(Config(environ=environ), var_dir=tmp_path)
    assert settings.retention_days == 30
    assert retention.cutoff_for(FIXED_NOW, 30) == FIXED_NOW - timedelta(days=30)
