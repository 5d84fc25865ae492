"""A crash in the middle of a burst: nothing is lost; only what was in flight is sent again."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import OutboxItem
from bot.outbox import STALE_CLAIM, Outbox
from bot.ports import OutboundMessage, SendResult
from scheduler.plan import load_default_plan
from scheduler.tick import scheduler_pass
from tests.builders import make_enrollment, make_workshop
from tests.channels.conftest import Wired
from tests.conftest import FIXED_NOW

BURST = 10


class Crash(Exception):
    """The process dies right after the provider accepted a message."""


class CrashingChannel:
    """The real SMS adapter, but the process dies after the fifth acceptance."""

    def __init__(self, real: object) -> None:
        self.real, self.name, self.accepted = real, "sms", 0

    async def send(self, message: OutboundMessage) -> SendResult:
        result: SendResult = await self.real.send(message)  # type: ignore[attr-defined]
        self.accepted += 1
        if self.accepted == 5:
            raise Crash
        return result


async def invite_a_burst(wired: Wired, *, prefix: str) -> None:
    """Enroll BURST returnees (numbers prefix + 00..) and let a scheduler pass invite them all."""
    from bot import programme

    async with wired.services.unit_of_work() as db:
        workshop = await make_workshop(db, now=FIXED_NOW)
        for n in range(BURST):
            returnee = await programme.create_returnee(
                db,
                programme.NewReturnee(
                    name=f"Personne {n}",
                    phone=f"{prefix}{n:02d}",
                    country="MA",
                    language="fr",
                    channel="sms",
                    consent=True,
                ),
                now=FIXED_NOW,
            )
            await make_enrollment(db, workshop, returnee, now=FIXED_NOW)
    await scheduler_pass(
        wired.services.unit_of_work,
        wired.services.conversations,
        load_default_plan(),
        now=FIXED_NOW,
    )


async def test_a_crash_mid_burst_loses_nothing_and_resends_only_the_message_in_flight(
    wired: Wired,
) -> None:
    await invite_a_burst(wired, prefix="+2126123456")
    channels = dict(wired.services.outbox.channels)
    crashing = Outbox(
        wired.services.unit_of_work,
        {**channels, "sms": CrashingChannel(channels["sms"])},
        worker_id="doomed",
        concurrency=1,
    )
    with pytest.raises(ExceptionGroup) as crashed:
        await crashing.drain(now=FIXED_NOW)
    assert crashed.group_contains(Crash)

    restarted = Outbox(wired.services.unit_of_work, channels, worker_id="restarted")
    later = FIXED_NOW + STALE_CLAIM + timedelta(seconds=1)
    requeued = await restarted.reconcile(now=later)
    assert requeued == BURST - 4  # the one in flight and the five not yet tried
    result = await restarted.drain(now=later)
    if result.retried:  # the double enforces 10/s strictly; a 429 is retried, never failed
        result = await restarted.drain(now=later + timedelta(seconds=5))
    assert result.failed == 0

    sent_to = Counter(m.to for m in wired.twilio.messages)
    assert set(sent_to) == {f"+2126123456{n:02d}" for n in range(BURST)}  # nothing lost
    assert sorted(sent_to.values()) == [1] * (BURST - 1) + [2]  # one duplicate: the in-flight
    async with wired.services.unit_of_work() as db:
        items = (await db.execute(select(OutboxItem))).scalars().all()
    assert {i.status for i in items} == {"sent"}
    noted = [i for i in items if i.recovered_at is not None]
    assert len(noted) == BURST - 4  # the record says which ones may have gone out twice


class FlakyStore:
    """The real SMS adapter, but the database 'goes away' once, right after an acceptance."""

    def __init__(self, real: object) -> None:
        self.real, self.name, self.accepted, self.failed = real, "sms", 0, False

    async def send(self, message: OutboundMessage) -> SendResult:
        result: SendResult = await self.real.send(message)  # type: ignore[attr-defined]
        self.accepted += 1
        if self.accepted == 3 and not self.failed:
            self.failed = True
            raise ConnectionResetError("server closed the connection unexpectedly")
        return result


async def test_a_sender_that_outlives_a_database_outage_puts_its_claims_back_at_once(
    wired: Wired,
) -> None:
    await invite_a_burst(wired, prefix="+2126123457")
    channels = dict(wired.services.outbox.channels)
    survivor = Outbox(
        wired.services.unit_of_work,
        {**channels, "sms": FlakyStore(channels["sms"])},
        worker_id="survivor",
        concurrency=1,
    )
    # The same process keeps running (no restart, no 5-minute wait for stale claims).
    running = asyncio.create_task(survivor.run(clock=lambda: FIXED_NOW, idle_seconds=0.05))
    try:
        for _ in range(400):
            async with wired.services.unit_of_work() as db:
                statuses = Counter((await db.execute(select(OutboxItem.status))).scalars())
            if set(statuses) == {"sent"}:
                break
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert statuses == Counter({"sent": BURST})  # nothing lost, nothing stuck "sending"
    sent_to = Counter(m.to for m in wired.twilio.messages)
    assert set(sent_to) == {f"+2126123457{n:02d}" for n in range(BURST)}
    assert sorted(sent_to.values()) == [1] * (BURST - 1) + [2]  # only the one in flight, twice
    async with wired.services.unit_of_work() as db:
        noted = (
            (await db.execute(select(OutboxItem).where(OutboxItem.recovered_at.is_not(None))))
            .scalars()
            .all()
        )
    assert noted
    assert all("drain failed" in (i.last_error or "") for i in noted)


@pytest.mark.parametrize("steps", range(4))
async def test_the_sender_stops_when_told_even_as_it_is_woken(wired: Wired, steps: int) -> None:
    sender = Outbox(wired.services.unit_of_work, {}, worker_id="stopping")
    running = asyncio.create_task(sender.run(clock=lambda: FIXED_NOW, idle_seconds=30))
    await asyncio.sleep(0.2)  # idle, waiting to be woken
    sender.wake()  # new work arrives...
    for _ in range(steps):
        await asyncio.sleep(0)
    running.cancel()  # ...just as the process shuts down
    async with asyncio.timeout(5):
        (outcome,) = await asyncio.gather(running, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
