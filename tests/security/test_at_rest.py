"""Personal data at rest: the database file, its WAL, a backup, a dump and the logs show none of it.

Names, phone numbers, a Telegram chat id and phrases go in through the real paths: the JSON API,
signed Twilio webhooks (a reply, a wellbeing score and its comment, a call for help) and an alert
note. Logging is at DEBUG everywhere, SQL echo included, while they do.
"""

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import Alert, Checkin, Message, Returnee
from bot.effects import Turn
from bot.services import Services
from tests.bot.webapp import api_token
from tests.conftest import FIXED_NOW
from tests.security.harness import (
    TWILIO_URL,
    channel_settings,
    http_client,
    inbound_form,
    offline_services,
    twilio_signature,
)

NAME = "Zeynabou Ndiaye-Kebe"
OTHER_NAME = "Mamadou Faye-Sarr"
PHONE = "+221779876543"
CHAT_ID = "813377991"
REPLY = "ma boulangerie de Thies a ferme hier"
COMMENT = "je dors mal a cause des dettes de Karim"
NOTE = "appele le frere Ibrahima au 70 555 12 34"
NEEDLES = [
    NAME,
    "Zeynabou",
    "Ndiaye-Kebe",
    OTHER_NAME,
    "Faye-Sarr",
    PHONE,
    PHONE[1:],
    "779876543",
    "77 987 65 43",
    CHAT_ID,
    REPLY,
    "boulangerie",
    COMMENT,
    "dettes de Karim",
    NOTE,
    "Ibrahima",
]


async def _seed(services: Services) -> int:
    """Everything goes in through the app's own doors; returns the first returnee's id."""
    headers = await api_token(services)
    async with http_client(services) as http:
        created = await http.post(
            "/api/v1/returnees",
            headers=headers,
            json={
                "name": NAME,
                "phone": "77 987 65 43",
                "country": "SN",
                "language": "fr",
                "channel": "sms",
                "consent": True,
            },
        )
        assert created.status_code == 201, created.text
        other = await http.post(
            "/api/v1/returnees",
            headers=headers,
            json={
                "name": OTHER_NAME,
                "country": "SN",
                "language": "wo",
                "channel": "telegram",
                "telegram_chat_id": CHAT_ID,
            },
        )
        assert other.status_code == 201, other.text
        returnee_id = int(created.json()["id"])
        await _say(http, "SM" + "1" * 32, REPLY)
        await _start_wellbeing(services, returnee_id)
        await _say(http, "SM" + "2" * 32, "4")
        await _say(http, "SM" + "3" * 32, COMMENT)
        await _say(http, "SM" + "4" * 32, "aide")
    async with services.unit_of_work() as db:
        alert = (await db.execute(select(Alert))).scalars().one()
        alert.note = NOTE  # as the dashboard's inbox writes it
    return returnee_id


async def _say(http: httpx.AsyncClient, sid: str, body: str) -> None:
    form = inbound_form(sid, PHONE, body)
    signature = {"X-Twilio-Signature": twilio_signature(TWILIO_URL, form)}
    answer = await http.post("/webhooks/twilio", data=form, headers=signature)
    assert answer.status_code == 200, answer.text


async def _start_wellbeing(services: Services, returnee_id: int) -> None:
    async with services.unit_of_work() as db:
        returnee = await db.get(Returnee, returnee_id)
        assert returnee is not None
        turn = Turn(now=FIXED_NOW, key="sched:wellbeing-test", purpose="wellbeing_checkin")
        await services.conversations.start_flow(db, returnee, "wellbeing", turn=turn, fields={})


async def _stored_in_clear_somewhere(services: Services) -> None:
    """The seeds really are in the database, readable with the key (the test is not vacuous)."""
    async with services.unit_of_work() as db:
        names = {r.name for r in (await db.execute(select(Returnee))).scalars()}
        texts = {m.text for m in (await db.execute(select(Message))).scalars()}
        comments = {c.comment for c in (await db.execute(select(Checkin))).scalars()}
        notes = {a.note for a in (await db.execute(select(Alert))).scalars()}
    assert names == {NAME, OTHER_NAME}
    assert REPLY in texts
    assert any("Zeynabou" in t for t in texts)  # "Bonjour Zeynabou, ..." went out
    assert comments == {COMMENT}
    assert notes == {NOTE}


def _hits(data: bytes) -> list[str]:
    lowered = data.lower()
    return [n for n in NEEDLES if n.lower().encode() in lowered]


def _files(db_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db_path.parent.glob(db_path.name + "*")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # it reads the files
async def test_no_personal_data_in_clear_in_the_database_files_or_the_logs(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path = Path(database_url.removeprefix("sqlite:///"))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # SQL echo, parameters included
    services = offline_services(channel_settings(database_url, tmp_path / "var"))
    try:
        await _seed(services)
        await services.outbox.drain(now=FIXED_NOW + timedelta(minutes=1))
        await _stored_in_clear_somewhere(services)
        live_files = _files(db_path)  # the WAL is there while connections are open
    finally:
        await services.close()
    assert any(name.endswith("-wal") for name in live_files)
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db_path) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
        dump = "\n".join(source.iterdump()).encode()
    files = {**live_files, **_files(db_path), "backup": backup.read_bytes()}
    assert all(b"asked for help" in data for data in (files["backup"], dump))  # grep does work
    for name, data in files.items():
        assert _hits(data) == [], name
    assert _hits(dump) == []
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "INSERT INTO messages" in logged  # SQL echo was on, and still nothing leaked
    assert _hits(logged.encode()) == []
