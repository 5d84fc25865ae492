"""Two worker processes on PostgreSQL share the work: nothing twice, nothing missing."""

import asyncio
import os
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import programme
from bot.db.models import Message, OutboxItem, ScheduledSend
from bot.services import Services
from tests.builders import make_workshop
from tests.conftest import FIXED_NOW, PG_URL, TEST_KEY

pytestmark = pytest.mark.skipif(PG_URL is None, reason="needs TEST_DATABASE_URL (CI sets it)")
PEOPLE = 300


async def _tick_process(url: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "SECRET_KEY": "s" * 40,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "tick",
        "--now",
        FIXED_NOW.isoformat(),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode() + err.decode()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_concurrent_passes_send_each_message_once(
    services: Services, database_url: str
) -> None:
    async with services.unit_of_work() as db:
        workshop = await make_workshop(db, now=FIXED_NOW, starts_in=timedelta(days=5))
        for n in range(PEOPLE):
            returnee = await programme.create_returnee(
                db,
                programme.NewReturnee(
                    name=f"Personne {n}",
                    phone=f"+22177{n:07d}",
                    country="SN",
                    language="wo",
                    channel="sms",
                    consent=True,
                ),
                now=FIXED_NOW,
            )
            await programme.enroll(db, workshop, returnee, now=FIXED_NOW)
    results = await asyncio.gather(_tick_process(database_url), _tick_process(database_url))
    assert [code for code, _ in results] == [0, 0], results
    async with services.unit_of_work() as db:
        sent = (
            await db.execute(select(func.count()).where(ScheduledSend.status == "sent"))
        ).scalar_one()
        planned = (await db.execute(select(func.count()).select_from(ScheduledSend))).scalar_one()
        messages = (
            await db.execute(select(func.count()).where(Message.direction == "out"))
        ).scalar_one()
        delivered = (
            await db.execute(select(func.count()).where(OutboxItem.status == "sent"))
        ).scalar_one()
        per_person = (
            await db.execute(
                select(Message.returnee_id, func.count())
                .where(Message.direction == "out")
                .group_by(Message.returnee_id)
            )
        ).all()
    assert planned == PEOPLE * 4  # each enrollment planned once, by one of the two
    assert sent == messages == delivered == PEOPLE
    assert {count for _, count in per_person} == {1}
    assert len(per_person) == PEOPLE
