"""The JSON API on alerts: filters, one alert with its note, assign, note, resolve; logged."""

from datetime import timedelta

from sqlalchemy import select

from bot.db import repo
from bot.db.models import AuditEvent
from bot.effects import raise_alert
from bot.services import Services
from tests.bot.webapp import add_user, api_token, client
from tests.builders import make_returnee
from tests.conftest import FIXED_NOW

AMINA = "amina@example.org"


async def _world(services: Services) -> tuple[int, int, int]:
    """Two returnees; a help alert about the first, a distress alert about the second."""
    await add_user(services, AMINA)
    async with services.unit_of_work() as db:
        awa = await make_returnee(db, now=FIXED_NOW)
        sami = await make_returnee(
            db, now=FIXED_NOW, name="Sami Trabelsi", country="TN", language="ar"
        )
        help_ = await raise_alert(db, awa, kind="help", priority=2, reason="", now=FIXED_NOW)
        distress = await raise_alert(
            db, sami, kind="distress", priority=1, reason="", now=FIXED_NOW - timedelta(hours=1)
        )
        return awa.id, help_.id, distress.id


async def test_alerts_are_filtered_by_kind_returnee_and_assignee(services: Services) -> None:
    awa, help_, distress = await _world(services)
    headers = await api_token(services)
    async with client(services) as http:
        every = (await http.get("/api/v1/alerts?status=open", headers=headers)).json()
        assert [a["id"] for a in every] == [distress, help_]
        assert set(every[0]) >= {"id", "returnee_id", "kind", "priority", "created_at", "status"}
        kind = (await http.get("/api/v1/alerts?kind=help", headers=headers)).json()
        assert [a["id"] for a in kind] == [help_]
        mine = (await http.get(f"/api/v1/alerts?returnee_id={awa}", headers=headers)).json()
        assert [a["id"] for a in mine] == [help_]
        await http.post(
            f"/api/v1/alerts/{help_}/assign", json={"caseworker": AMINA}, headers=headers
        )
        taken = (await http.get(f"/api/v1/alerts?assignee={AMINA}", headers=headers)).json()
        assert [(a["id"], a["assignee"]) for a in taken] == [(help_, AMINA)]
        free = (await http.get("/api/v1/alerts?assignee=none", headers=headers)).json()
        assert [a["id"] for a in free] == [distress]
        huge = await http.get(f"/api/v1/alerts?returnee_id={2**40}", headers=headers)
        assert huge.status_code == 200
        assert huge.json() == []


async def test_assign_note_and_resolve(services: Services) -> None:
    awa, help_, _ = await _world(services)
    headers = await api_token(services)
    async with client(services) as http:
        assigned = await http.post(
            f"/api/v1/alerts/{help_}/assign", json={"caseworker": AMINA}, headers=headers
        )
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["assignee"] == AMINA
        async with services.unit_of_work() as db:
            assert await repo.handled_by_caseworker(db, awa)  # automated sends pause
        noted = await http.post(
            f"/api/v1/alerts/{help_}/notes",
            json={"text": "Appelée, rappeler lundi"},
            headers=headers,
        )
        assert noted.status_code == 201
        (line,) = noted.json()["notes"]
        assert line.endswith("api:tests : Appelée, rappeler lundi")
        released = await http.post(
            f"/api/v1/alerts/{help_}/assign", json={"caseworker": None}, headers=headers
        )
        assert released.json()["assignee"] is None
        resolved = await http.post(
            f"/api/v1/alerts/{help_}/resolve", json={"note": "Réglé"}, headers=headers
        )
        assert resolved.status_code == 200
        body = resolved.json()
        assert body["status"] == "resolved"
        assert body["resolved_at"] is not None
        assert len(body["notes"]) == 2
        again = await http.post(f"/api/v1/alerts/{help_}/resolve", headers=headers)
        assert again.status_code == 409
        closed = await http.post(
            f"/api/v1/alerts/{help_}/assign", json={"caseworker": AMINA}, headers=headers
        )
        assert closed.status_code == 409
        shown = await http.get(f"/api/v1/alerts/{help_}", headers=headers)
        assert shown.json()["notes"] == body["notes"]
    async with services.unit_of_work() as db:
        rows = (
            await db.execute(
                select(AuditEvent.actor, AuditEvent.action)
                .where(AuditEvent.target == f"alert:{help_}")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("api:tests", "alert_assign"),
        ("api:tests", "alert_note"),
        ("api:tests", "alert_release"),
        ("api:tests", "alert_note"),
        ("api:tests", "alert_resolve"),
        ("api:tests", "view_alert"),
    ]


async def test_unknown_alerts_are_404_and_bad_input_422(services: Services) -> None:
    _, help_, _ = await _world(services)
    headers = await api_token(services)
    async with client(services) as http:
        for method, path, body in [
            ("GET", "/api/v1/alerts/999", None),
            ("POST", "/api/v1/alerts/999/assign", {"caseworker": None}),
            ("POST", "/api/v1/alerts/999/notes", {"text": "x"}),
            ("POST", "/api/v1/alerts/999/resolve", {}),
            ("GET", f"/api/v1/alerts/{2**40}", None),
        ]:
            answer = await http.request(method, path, json=body, headers=headers)
            assert answer.status_code == 404, (path, answer.text)
        for path, body, field in [
            (f"/api/v1/alerts/{help_}/assign", {"caseworker": "nobody@example.org"}, "caseworker"),
            (f"/api/v1/alerts/{help_}/assign", {}, "caseworker"),
            (f"/api/v1/alerts/{help_}/notes", {"text": ""}, "text"),
            (f"/api/v1/alerts/{help_}/notes", {"text": "   "}, "text"),
            (f"/api/v1/alerts/{help_}/notes", {"text": "x" * 2001}, "text"),
            (f"/api/v1/alerts/{help_}/resolve", {"note": 3}, "note"),
        ]:
            answer = await http.post(path, json=body, headers=headers)
            assert answer.status_code == 422, (path, body)
            assert field in [str(p) for e in answer.json()["detail"] for p in e["loc"]]
        shown = (await http.get(f"/api/v1/alerts/{help_}", headers=headers)).json()
    assert shown["status"] == "open"
    assert shown["assignee"] is None
    assert shown["notes"] == []
