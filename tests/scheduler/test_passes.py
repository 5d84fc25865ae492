"""Scheduler passes against the database: once, in each returnee's time, through changes."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import programme
from bot.conversation import Conversations
from bot.db.models import Alert, Message, OutboxItem, ScheduledSend
from bot.ports import InboundMessage
from bot.services import Services
from scheduler.jobs import PassSummary, dispatch_pass
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.builders import make_enrollment, make_returnee, make_workshop

# Tuesday 1 December 2026, 09:00 UTC: daytime everywhere; the workshop is Monday 7, 10:00 local.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START_DAKAR = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
PLAN = load_default_plan()


async def _enrolled(
    services: Services,
    *,
    country: str = "SN",
    tz: str = "Africa/Dakar",
    starts_at: datetime = START_DAKAR,
    n: int = 0,
) -> tuple[int, int, str]:
    phone = {"SN": "77123450", "TN": "2012345", "MA": "061234560"}[country] + str(n)
    async with services.unit_of_work() as db:
        returnee = await make_returnee(
            db,
            now=NOW,
            country=country,
            phone=phone,
            language={"SN": "wo", "TN": "ar", "MA": "fr"}[country],
        )
        workshop = await make_workshop(db, now=NOW, starts_in=starts_at - NOW, tz=tz)
        enrollment = await make_enrollment(db, workshop, returnee, now=NOW)
        assert returnee.phone is not None
        return workshop.id, enrollment.id, returnee.phone


async def _tick(services: Services, now: datetime) -> PassSummary:
    return await tick(services.unit_of_work, services.conversations, services.outbox, PLAN, now=now)


async def _sends(services: Services) -> dict[str, tuple[str, datetime, str | None]]:
    async with services.unit_of_work() as db:
        rows = (await db.execute(select(ScheduledSend))).scalars().all()
    return {r.key.split(":", 2)[2]: (r.status, r.send_at, r.reason) for r in rows}


async def _outgoing(services: Services) -> list[str | None]:
    async with services.unit_of_work() as db:
        rows = await db.execute(
            select(Message.purpose).where(Message.direction == "out").order_by(Message.id)
        )
    return list(rows.scalars())


@pytest.mark.parametrize(
    ("country", "tz", "first_reminder_utc"),
    [
        ("SN", "Africa/Dakar", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
        ("TN", "Africa/Tunis", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("MA", "Africa/Casablanca", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
    ],
)
async def test_the_default_schedule_in_each_country(
    services: Services, country: str, tz: str, first_reminder_utc: datetime
) -> None:
    local_start = START_DAKAR.replace(tzinfo=None)  # 10:00 wall clock in each country
    from zoneinfo import ZoneInfo

    starts = local_start.replace(tzinfo=ZoneInfo(tz))
    await _enrolled(services, country=country, tz=tz, starts_at=starts)
    await _tick(services, NOW)
    sends = await _sends(services)
    assert sends["invitation"][0] == "sent"
    assert sends["reminder:first"][1] == first_reminder_utc
    assert sends["reminder:last"][1] == starts - timedelta(hours=2)
    assert sends["attendance_check"][1] == starts + timedelta(hours=7)  # 1 h after a 6 h day


async def test_reminders_go_out_when_due_and_only_once(services: Services) -> None:
    await _enrolled(services)
    await _tick(services, NOW)
    first = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert (await _tick(services, first - timedelta(minutes=1))).due == 0
    assert (await _tick(services, first)).due == 1
    assert (await _tick(services, first)).due == 0
    assert await _outgoing(services) == ["invitation", "reminder"]


async def test_a_confirmed_returnee_gets_a_reminder_not_a_question(services: Services) -> None:
    _, _, phone = await _enrolled(services, country="MA", tz="Africa/Casablanca")
    await _tick(services, NOW)
    await services.conversations.handle(
        InboundMessage(channel="sms", address=phone, text="oui"), now=NOW
    )
    await _tick(services, datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    async with services.unit_of_work() as db:
        last = (await db.execute(select(Message).order_by(Message.id.desc()).limit(1))).scalar_one()
    assert last.purpose == "reminder"
    assert not last.choices


async def test_declining_drops_everything_planned(services: Services) -> None:
    _, _, phone = await _enrolled(services)
    await _tick(services, NOW)
    await services.conversations.handle(
        InboundMessage(channel="sms", address=phone, text="déedéet"), now=NOW
    )
    statuses = {k: v[0] for k, v in (await _sends(services)).items()}
    assert statuses == {
        "invitation": "sent",
        "reminder:first": "cancelled",
        "reminder:last": "cancelled",
        "attendance_check": "cancelled",
    }
    await _tick(services, START_DAKAR + timedelta(days=1))
    # nothing more about the workshop; the fortnightly wellbeing check-in is not about it
    assert await _outgoing(services) == ["invitation", "reply", "wellbeing_checkin"]


async def test_stop_drops_everything_planned(services: Services) -> None:
    _, _, phone = await _enrolled(services)
    await _tick(services, NOW)
    await services.conversations.handle(
        InboundMessage(channel="sms", address=phone, text="STOP"), now=NOW
    )
    assert {v[0] for k, v in (await _sends(services)).items() if k != "invitation"} == {"cancelled"}


async def test_rescheduling_replans_and_tells_the_returnee(services: Services) -> None:
    workshop_id, _, _ = await _enrolled(services)
    await _tick(services, NOW)
    later = START_DAKAR + timedelta(days=7)
    async with services.unit_of_work() as db:
        workshop = await db.get(programme.Workshop, workshop_id)
        assert workshop is not None
        await programme.change_workshop(
            db, workshop, {"starts_at": later, "ends_at": later + timedelta(hours=6)}, now=NOW
        )
    summary = await _tick(services, NOW + timedelta(minutes=1))
    assert summary.planned == 3  # the new version's reminders and check; the invitation is past
    assert (await _outgoing(services))[-1] == "reschedule"
    async with services.unit_of_work() as db:
        rows = (
            await db.execute(select(ScheduledSend.key, ScheduledSend.status, ScheduledSend.send_at))
        ).all()
    old = {k: s for k, s, _ in rows if ":v1:" in k and "invitation" not in k}
    assert set(old.values()) == {"cancelled"}
    new_first = next(at for k, s, at in rows if k.endswith(":v2:reminder:first"))
    assert new_first == datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    # the old reminder's time passes: nothing goes out for the old date
    assert (await _tick(services, datetime(2026, 12, 5, 10, 0, tzinfo=UTC))).due == 0


async def test_cancelling_tells_the_returnee_and_drops_the_rest(services: Services) -> None:
    workshop_id, enrollment_id, _ = await _enrolled(services)
    await _tick(services, NOW)
    async with services.unit_of_work() as db:
        workshop = await db.get(programme.Workshop, workshop_id)
        assert workshop is not None
        await programme.change_workshop(db, workshop, {"status": "cancelled"}, now=NOW)
    await _tick(services, NOW + timedelta(minutes=1))
    assert await _outgoing(services) == ["invitation", "cancellation"]
    await _tick(services, START_DAKAR + timedelta(hours=12))
    assert await _outgoing(services) == ["invitation", "cancellation"]
    async with services.unit_of_work() as db:
        enrollment = await db.get(programme.Enrollment, enrollment_id)
    assert enrollment is not None
    assert enrollment.status == "cancelled"


async def test_after_a_two_day_outage_meaningful_sends_go_and_stale_ones_expire(
    services: Services,
) -> None:
    await _enrolled(services, starts_at=datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    await _tick(services, NOW)  # invitation sent; nothing else due yet
    summary = await _tick(services, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # 2 days later
    sends = await _sends(services)
    assert sends["reminder:first"][0] == "expired"
    assert "expired" in (sends["reminder:first"][2] or "")
    assert sends["reminder:last"][0] == "expired"
    assert sends["attendance_check"][0] == "planned"  # due 17:00, still ahead
    assert summary.skipped == 2
    assert summary.reasons == {"expired": 2}


async def test_a_crash_in_the_middle_of_a_pass_sends_nothing_twice(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        await _enrolled(services, n=n)
    from scheduler.jobs import plan_pass

    summary = PassSummary()
    await plan_pass(
        services.unit_of_work,
        PLAN,
        now=NOW,
        summary=summary,
        flows_known=set(services.conversations.registry),
    )
    calls = 0
    original = Conversations.start_flow

    async def crash_on_third(self: Conversations, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the process died here")
        await original(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "start_flow", crash_on_third)
    with pytest.raises(RuntimeError):
        await dispatch_pass(
            services.unit_of_work, services.conversations, now=NOW, summary=PassSummary()
        )
    assert await _outgoing(services) == []  # the batch's transaction rolled back as a whole
    monkeypatch.setattr(Conversations, "start_flow", original)
    await _tick(services, NOW)
    await _tick(services, NOW)
    assert await _outgoing(services) == ["invitation"] * 3
    async with services.unit_of_work() as db:
        keys = (await db.execute(select(func.count(OutboxItem.id)))).scalar_one()
    assert keys == 3


async def test_quiet_hours_hold_a_send_until_morning(services: Services) -> None:
    night = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 22:30 in Dakar
    async with services.unit_of_work() as db:
        returnee = await make_returnee(db, now=night)
        workshop = await make_workshop(db, now=night, starts_in=timedelta(days=5))
        await make_enrollment(db, workshop, returnee, now=night)
    assert (await _tick(services, night)).due == 0
    sends = await _sends(services)
    assert sends["invitation"][1] == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert (await _tick(services, datetime(2026, 12, 2, 8, 0, tzinfo=UTC))).due == 1


async def test_a_returnee_handled_by_a_caseworker_is_not_interrupted(services: Services) -> None:
    await _enrolled(services)
    async with services.unit_of_work() as db:
        returnee_id = (await db.execute(select(ScheduledSend.returnee_id))).scalar()
    async with services.unit_of_work() as db:
        from bot.accounts import add_user

        user = await add_user(db, "cw@example.org", "caseworker", "a long password", now=NOW)
        returnee_id = (await db.execute(select(programme.Returnee.id))).scalar_one()
        db.add(
            Alert(
                returnee_id=returnee_id,
                kind="help",
                priority=2,
                status="open",
                assigned_to=user.id,
                created_at=NOW,
            )
        )
    summary = await _tick(services, NOW)
    assert (summary.due, summary.deferred) == (0, 1)
    assert await _outgoing(services) == []
