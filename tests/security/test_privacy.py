"""Rights of the people in the data: a complete export, a complete erasure, both audited."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from bot import audit, privacy
from bot.db import crypto
from bot.db.base import Base
from bot.db.models import Address, AuditEvent, Returnee
from bot.services import Services
from tests.conftest import FIXED_NOW
from tests.security.people import COMMENT, NOTE, full_person

# every table with a returnee_id column, and where the export shows it
EXPORTED = {
    "addresses": "addresses",
    "alerts": "alerts",
    "checkins": "checkins",
    "consent_events": "consent",
    "conversations": "conversation",
    "enrollments": "enrollments",
    "link_codes": "link_codes",
    "messages": "messages",
    "scheduled_sends": "scheduled_sends",
}
NAME, PHONE, E164 = "Awa Sall", "771110001", "+221771110001"
OTHER_NAME, OTHER_PHONE = "Fatou Gueye", "771110002"


async def _two_people(services: Services) -> tuple[int, int]:
    return (
        await full_person(services, name=NAME, phone=PHONE),
        await full_person(services, name=OTHER_NAME, phone=OTHER_PHONE),
    )


async def test_the_export_holds_every_table_about_the_person(services: Services) -> None:
    person, _ = await _two_people(services)
    async with services.unit_of_work() as db:
        data = await privacy.export_returnee(db, person, actor="cli", now=FIXED_NOW)
        counts = await privacy.count_rows_about(db, person)
    about_people = {t.name for t in Base.metadata.sorted_tables if "returnee_id" in t.columns}
    assert about_people == set(EXPORTED), "a new table about people: add it to the export"
    for table, key in EXPORTED.items():
        assert len(data[key]) == counts[table] > 0, table
    assert data["profile"]["name"] == NAME
    assert data["profile"]["phone"] == "+221771110001"
    assert {a["address"] for a in data["addresses"]} == {"+221771110001"}
    assert [c["kind"] for c in data["consent"]] == ["given", "withdrawn", "given"]
    assert {"oui", COMMENT, "aide"} <= {m["text"] for m in data["messages"]}
    assert [c["comment"] for c in data["checkins"]] == [COMMENT]
    assert data["alerts"][0]["note"] == NOTE
    assert OTHER_NAME not in json.dumps(data)
    json.dumps(data, allow_nan=False)  # JSON-safe
    async with services.unit_of_work() as db:
        logged = await audit.search(db, audit.AuditQuery(action="returnee_exported"))
    assert [(e.actor, e.target) for e in logged] == [("cli", f"returnee:{person}")]


async def test_erasure_removes_every_row_and_leaves_one_audit_entry(services: Services) -> None:
    person, other = await _two_people(services)
    async with services.unit_of_work() as db:
        addresses = select(func.count()).select_from(Address).where(Address.address_index == E164)
        assert await db.scalar(addresses) == 2  # sms and whatsapp, found by the blind index
        before_other = await privacy.count_rows_about(db, other)
        erased = await privacy.erase_returnee(db, person, actor="admin@example.org", now=FIXED_NOW)
    await privacy.checkpoint(services.engine)
    async with services.unit_of_work() as db:
        after = await privacy.count_rows_about(db, person)
        after_other = await privacy.count_rows_about(db, other)
        blind = await db.scalar(addresses)
        mentions = select(AuditEvent).where(AuditEvent.target == f"returnee:{person}")
        left = (await db.execute(mentions)).scalars().all()
    assert set(after.values()) == {0}
    assert erased["messages"] > 0
    assert erased["outbox"] > 0
    assert blind == 0
    assert after_other == before_other  # the other person is untouched
    assert [e.action for e in left] == ["returnee_erased"]
    assert left[0].actor == "admin@example.org"
    assert NAME not in (left[0].detail or "")
    assert "+221" not in (left[0].detail or "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # it reads the file
async def test_erased_data_is_gone_from_the_sqlite_file(services: Services) -> None:
    person, _ = await _two_people(services)
    async with services.unit_of_work() as db:
        index = crypto.blind_index(E164).encode()
        await privacy.erase_returnee(db, person, actor="cli", now=FIXED_NOW)
    await privacy.checkpoint(services.engine)
    path = Path(services.settings.database_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert index not in data  # secure_delete zeroed the blind index, even in free pages
    assert crypto.blind_index("+221771110002").encode() in data  # the other one is there


async def test_unknown_returnee(services: Services) -> None:
    async with services.unit_of_work() as db:
        with pytest.raises(privacy.UnknownReturneeError):
            await privacy.export_returnee(db, 999, actor="cli", now=FIXED_NOW)
        with pytest.raises(privacy.UnknownReturneeError):
            await privacy.erase_returnee(db, 999, actor="cli", now=FIXED_NOW)


async def test_withdrawing_consent_cancels_every_plan_and_is_audited(services: Services) -> None:
    person, _ = await _two_people(services)
    async with services.unit_of_work() as db:
        await privacy.withdraw_consent(db, person, actor="cli", method="dashboard", now=FIXED_NOW)
    async with services.unit_of_work() as db:
        data = await privacy.export_returnee(db, person, actor="cli", now=FIXED_NOW)
        query = audit.AuditQuery(target=f"returnee:{person}")
        actions = [e.action for e in await audit.search(db, query)]
    assert data["profile"]["consent"] == "withdrawn"
    assert data["consent"][-1]["kind"] == "withdrawn"
    assert "planned" not in {s["status"] for s in data["scheduled_sends"]}
    assert actions == ["returnee_exported", "consent_withdrawn"]


async def test_the_audit_log_is_append_only(services: Services) -> None:
    async with services.unit_of_work() as db:
        actor = "a@example.org\nforged: line"
        entry = await audit.record(db, actor=actor, action="login", now=FIXED_NOW)
        entry_id = entry.id
    assert entry.actor == "a@example.org forged: line"  # one line: no forged entries
    for statement in (
        update(AuditEvent).where(AuditEvent.id == entry_id).values(actor="someone else"),
        delete(AuditEvent).where(AuditEvent.id == entry_id),
    ):
        with pytest.raises(audit.AuditTamperingError):
            await _execute(services, statement)
    for change in (_rename, _remove):
        with pytest.raises(audit.AuditTamperingError):
            await change(services, entry_id)
    async with services.unit_of_work() as db:
        kept = await db.get(AuditEvent, entry_id)
        others = await db.scalar(select(func.count()).select_from(Returnee))
    assert kept is not None
    assert kept.action == "login"
    assert others == 0


async def test_the_admins_query_narrows_by_actor_and_time(services: Services) -> None:
    async with services.unit_of_work() as db:
        for minutes, actor in ((0, "a@example.org"), (10, "b@example.org"), (20, "a@example.org")):
            await audit.record(db, actor=actor, action="returnee_viewed", target="returnee:1",
                               now=FIXED_NOW + timedelta(minutes=minutes))  # fmt: skip
    query = audit.AuditQuery(
        actor="A@example.org",
        since=FIXED_NOW + timedelta(minutes=5),
        until=FIXED_NOW + timedelta(hours=1),
    )
    async with services.unit_of_work() as db:
        found = [audit.as_dict(e) for e in await audit.search(db, query)]
    assert [(e["actor"], e["created_at"]) for e in found] == [
        ("a@example.org", (FIXED_NOW + timedelta(minutes=20)).isoformat())
    ]


async def _execute(services: Services, statement: Any) -> None:
    async with services.unit_of_work() as db:
        await db.execute(statement)


async def _rename(services: Services, entry_id: int) -> None:
    async with services.unit_of_work() as db:
        loaded = await db.get(AuditEvent, entry_id)
        assert loaded is not None
        loaded.action = "nothing"


async def _remove(services: Services, entry_id: int) -> None:
    async with services.unit_of_work() as db:
        await db.delete(await db.get(AuditEvent, entry_id))
