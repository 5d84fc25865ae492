"""Key rotation over 1,000 returnees while the service keeps answering (10,000: bench_keys.py).

Reads (the API and the lookup by phone) and a few writes (inbound messages) run throughout; none
may fail. Afterwards every value decrypts with the new key alone, and the blind index still finds
people by phone once DATA_INDEX_KEY holds the retired key.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, keyrotation
from bot.db import crypto
from bot.db.models import Returnee
from bot.services import Services
from tests.conftest import TEST_KEY
from tests.security.rotation import (
    found_by_phone,
    readable_with_only,
    ring_with_only,
    rotate_under_load,
    seed,
)

COUNT = 1_000


async def test_rotation_while_serving_leaves_every_value_under_the_new_key(
    services: Services,
) -> None:
    ids = await seed(services, COUNT)
    new_key = Fernet.generate_key().decode()
    crypto.configure(f"{new_key},{TEST_KEY}")  # the new key first; the old one still reads

    outcome = await rotate_under_load(services, ids, new_key=new_key)

    assert outcome.load.errors == []
    assert outcome.load.reads > 50  # the service really was answering during the rotation
    assert outcome.load.writes > 0
    report = outcome.report
    assert report.unreadable == 0
    assert report.columns["returnees.name"] == COUNT
    assert report.columns["addresses.address"] == 2 * COUNT
    assert report.rotated >= 4 * COUNT  # name, phone, two addresses; plus messages
    assert report.rotated + report.current + report.conflicts == sum(report.columns.values())

    ring_with_only(new_key, TEST_KEY)
    # every value reads with the new key alone; the service may have written a few more after
    # the rotation passed their column (written with the new key already)
    assert await readable_with_only(services, new_key) >= sum(report.columns.values())
    assert await found_by_phone(services, ids) == 50

    again = await keyrotation.rotate_all(services.unit_of_work, newest_key=new_key, actor="cli")
    assert again.rotated == 0  # stopped and rerun, it only finishes the job
    async with services.unit_of_work() as db:
        runs = await audit.search(db, audit.AuditQuery(action="keys_rotated"))
    assert [e.actor for e in runs] == ["cli", "test"]


async def test_a_value_changed_during_the_rotation_is_not_overwritten(services: Services) -> None:
    ids = await seed(services, 10)
    new_key = Fernet.generate_key().decode()
    crypto.configure(f"{new_key},{TEST_KEY}")
    calls = 0

    @asynccontextmanager
    async def meddling() -> AsyncIterator[AsyncSession]:
        nonlocal calls
        calls += 1
        if calls == 2:  # between the first batch's read and its write-back, a caseworker edits
            async with services.unit_of_work() as db:
                person = await db.get(Returnee, ids[0])
                assert person is not None
                person.name = "Nom corrige"
        async with services.unit_of_work() as db:
            yield db

    report = await keyrotation.rotate_all(meddling, newest_key=new_key, actor="cli", pause=0)
    assert report.conflicts == 1
    ring_with_only(new_key, TEST_KEY)
    assert await readable_with_only(services, new_key) == 40
    async with services.unit_of_work() as db:
        person = await db.get(Returnee, ids[0])
    assert person is not None
    assert person.name == "Nom corrige"
