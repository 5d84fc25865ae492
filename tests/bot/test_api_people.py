"""The JSON API on one returnee: a reply by hand (with WhatsApp's window rule), consent, a
Telegram link code; and importing returnees from a file, all rows or none."""

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.clock import utcnow
from bot.db.models import Address, AuditEvent, LinkCode, OutboxItem, Returnee, ScheduledSend
from bot.services import Services
from tests.bot.webapp import api_token, client
from tests.builders import make_returnee

SID = "HX" + "c" * 32


async def _person(services: Services, **fields: Any) -> int:
    async with services.unit_of_work() as db:
        return (await make_returnee(db, now=utcnow() - timedelta(days=1), **fields)).id


async def _count(services: Services, model: type, *where: Any) -> int:
    async with services.unit_of_work() as db:
        query = select(func.count()).select_from(model).where(*where)
        return int((await db.execute(query)).scalar_one())


async def test_a_reply_is_queued_and_logged(services: Services) -> None:
    rid = await _person(services)  # on SMS: no window
    headers = await api_token(services)
    async with client(services) as http:
        sent = await http.post(
            f"/api/v1/returnees/{rid}/messages", json={"text": " Bonjour Awa "}, headers=headers
        )
        assert sent.status_code == 201, sent.text
        message = sent.json()
        assert (message["direction"], message["channel"], message["purpose"]) == (
            "out",
            "sms",
            "manual",
        )
        assert message["text"] == "Bonjour Awa"
        listed = (await http.get(f"/api/v1/returnees/{rid}/messages", headers=headers)).json()
        assert [m["id"] for m in listed] == [message["id"]]
    assert await _count(services, OutboxItem, OutboxItem.status == "pending") == 1
    assert await _count(services, AuditEvent, AuditEvent.action == "manual_reply") == 1


async def test_outside_the_window_the_api_asks_for_a_choice(services: Services) -> None:
    rid = await _person(services, channel="whatsapp")  # never wrote: window closed
    headers = await api_token(services)
    url = f"/api/v1/returnees/{rid}/messages"
    async with client(services) as http:
        refused = await http.post(url, json={"text": "Bonjour"}, headers=headers)
        assert refused.status_code == 409
        assert refused.json()["detail"]["reason"] == "choice_required"
        no_template = await http.post(
            url, json={"text": "Bonjour", "as_template": True}, headers=headers
        )
        assert no_template.json()["detail"]["reason"] == "no_template"
        by_sms = await http.post(url, json={"text": "Bonjour", "by_sms": True}, headers=headers)
        assert by_sms.status_code == 201
        assert by_sms.json()["channel"] == "sms"
        services.outbox.templates = {("manual", "wo"): SID}
        templated = await http.post(
            url, json={"text": "Bonjour", "as_template": True}, headers=headers
        )
        assert templated.status_code == 201
        assert templated.json()["channel"] == "whatsapp"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"opted_out": True}, "opted_out"),
        ({"consent": "withdrawn"}, "consent_withdrawn"),
        ({"channel": "telegram"}, "no_address"),
    ],
)
async def test_a_reply_nobody_may_receive_is_409(
    services: Services, change: dict[str, Any], reason: str
) -> None:
    rid = await _person(services)
    async with services.unit_of_work() as db:
        returnee = await db.get(Returnee, rid)
        assert returnee is not None
        for name, value in change.items():
            setattr(returnee, name, value)
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.post(
            f"/api/v1/returnees/{rid}/messages",
            json={"text": "x", "as_template": True, "by_sms": True},
            headers=headers,
        )
    assert answer.status_code == 409
    assert answer.json()["detail"]["reason"] == reason
    assert await _count(services, OutboxItem) == 0


async def test_a_bad_reply_is_422_and_an_unknown_returnee_404(services: Services) -> None:
    rid = await _person(services)
    headers = await api_token(services)
    async with client(services) as http:
        for body, field in [
            ({}, "text"),
            ({"text": ""}, "text"),
            ({"text": "   "}, "text"),
            ({"text": "x" * 1601}, "text"),
            ({"text": "x", "by_sms": "maybe"}, "by_sms"),
            ({"text": "x", "extra": 1}, "extra"),
        ]:
            answer = await http.post(
                f"/api/v1/returnees/{rid}/messages", json=body, headers=headers
            )
            assert answer.status_code == 422, body
            assert field in [str(p) for e in answer.json()["detail"] for p in e["loc"]]
        unknown = await http.post(
            "/api/v1/returnees/999/messages", json={"text": "x"}, headers=headers
        )
        assert unknown.status_code == 404
    assert await _count(services, OutboxItem) == 0


async def test_consent_history_and_withdrawal(services: Services) -> None:
    rid = await _person(services)  # consent given at registration
    async with services.unit_of_work() as db:
        db.add(
            ScheduledSend(
                key="w1",
                returnee_id=rid,
                purpose="wellbeing_checkin",
                due_at=utcnow() + timedelta(days=1),
                send_at=utcnow() + timedelta(days=1),
                not_after=utcnow() + timedelta(days=2),
                created_at=utcnow(),
            )
        )
    headers = await api_token(services)
    url = f"/api/v1/returnees/{rid}/consents"
    async with client(services) as http:
        withdrawn = await http.post(url, json={"kind": "withdrawn"}, headers=headers)
        assert withdrawn.status_code == 201
        assert (withdrawn.json()["kind"], withdrawn.json()["method"]) == ("withdrawn", "api")
        history = (await http.get(url, headers=headers)).json()
        assert [(c["kind"], c["method"]) for c in history] == [
            ("given", "registration"),
            ("withdrawn", "api"),
        ]
        person = (await http.get(f"/api/v1/returnees/{rid}", headers=headers)).json()
        assert person["consent"] == "withdrawn"
        bad = await http.post(url, json={"kind": "maybe"}, headers=headers)
        assert bad.status_code == 422
        assert "kind" in str(bad.json()["detail"])
        assert (
            await http.get("/api/v1/returnees/999/consents", headers=headers)
        ).status_code == 404
        assert (
            await http.post(
                "/api/v1/returnees/999/consents", json={"kind": "given"}, headers=headers
            )
        ).status_code == 404
    assert await _count(services, ScheduledSend, ScheduledSend.status == "planned") == 0
    assert await _count(services, AuditEvent, AuditEvent.action == "consent_withdrawn") == 1


async def test_a_link_code_is_shown_once_and_stored_hashed(services: Services) -> None:
    rid = await _person(services, channel="telegram")
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.post(f"/api/v1/returnees/{rid}/link-code", headers=headers)
        assert answer.status_code == 201
        issued = answer.json()
        assert issued["link"] == f"https://t.me/returnee_bot?start={issued['code']}"
        lifetime = datetime.fromisoformat(issued["expires_at"]) - utcnow()
        assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)
        missing = await http.post("/api/v1/returnees/999/link-code", headers=headers)
        assert missing.status_code == 404
    async with services.unit_of_work() as db:
        (stored,) = (await db.execute(select(LinkCode.code_index))).scalars()
    assert stored != issued["code"]  # only a keyed hash
    assert await _count(services, AuditEvent, AuditEvent.action == "link_code") == 1


CSV_HEADER = "name,phone,country,language,channel,consent\n"
GOOD_ROWS = "Awa Diop,77 123 45 67,SN,wo,sms,oui\nSami Trabelsi,20 123 456,TN,ar,whatsapp,\n"


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_import_dry_run_then_for_real(services: Services) -> None:
    headers = await api_token(services)
    files = {"file": ("people.csv", (CSV_HEADER + GOOD_ROWS).encode(), "text/csv")}
    async with client(services) as http:
        dry = await http.post("/api/v1/returnees/import?dry_run=true", files=files, headers=headers)
        assert dry.status_code == 200, dry.text
        assert dry.json() == {"dry_run": True, "valid": 2, "imported": 0}
        assert await _count(services, Returnee) == 0
        done = await http.post("/api/v1/returnees/import", files=files, headers=headers)
        assert done.status_code == 201
        assert done.json() == {"dry_run": False, "valid": 2, "imported": 2}
    assert await _count(services, Returnee) == 2
    assert await _count(services, Address) == 4
    assert await _count(services, AuditEvent, AuditEvent.action == "import") == 1


async def test_import_reports_every_bad_row_and_imports_nothing(services: Services) -> None:
    headers = await api_token(services)
    body = _xlsx(
        [
            ["name", "phone", "country", "language", "channel"],
            ["Awa Diop", "77 123 45 67", "SN", "wo", "sms"],
            ["", "20 123 456", "TN", "ar", "sms"],
            ["Sami", "12", "TN", "ar", "sms"],
            ["Fatima", "0612345678", "FR", "fr", "sms"],
        ]
    )
    files = {"file": ("people.xlsx", body, "application/octet-stream")}
    async with client(services) as http:
        answer = await http.post("/api/v1/returnees/import", files=files, headers=headers)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [
        ["file", 3, "name"],
        ["file", 4, "phone"],
        ["file", 5, "country"],
    ]
    assert await _count(services, Returnee) == 0


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("people.txt", CSV_HEADER.encode()),
        ("people.csv", b"\xff\xfe not utf-8"),
        ("people.csv", b"name,colour\nAwa,blue\n"),
        ("people.xlsx", b"not a workbook"),
    ],
)
async def test_an_unreadable_file_is_422(services: Services, name: str, data: bytes) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.post(
            "/api/v1/returnees/import", files={"file": (name, data)}, headers=headers
        )
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"][-1] == "file"
        nothing = await http.post("/api/v1/returnees/import", headers=headers)
        assert nothing.status_code == 422
