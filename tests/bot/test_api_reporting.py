"""The JSON API's exports (CSV and Excel, pseudonymised on request) and wellbeing figures, and
the OpenAPI document listing every route."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import AuditEvent, Checkin
from bot.reports import monday_of, pseudonym
from bot.services import Services
from tests.bot.webapp import api_token, client
from tests.builders import make_enrollment, make_returnee, make_workshop


async def _world(services: Services) -> tuple[int, int]:
    """Awa enrolled in a workshop, with a low and a good check-in; Sami with a good one."""
    now = utcnow()
    async with services.unit_of_work() as db:
        awa = await make_returnee(db, now=now)
        sami = await make_returnee(db, now=now, name="Sami Trabelsi", country="TN", language="ar")
        workshop = await make_workshop(db, now=now)
        await make_enrollment(db, workshop, awa, now=now)
        db.add(Checkin(returnee_id=awa.id, score=4, created_at=now - timedelta(days=8)))
        db.add(Checkin(returnee_id=awa.id, score=2, comment="fatiguée", created_at=now))
        db.add(Checkin(returnee_id=sami.id, score=5, created_at=now))
        return awa.id, workshop.id


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_exports_as_csv_and_excel(services: Services) -> None:
    awa, workshop = await _world(services)
    headers = await api_token(services)
    async with client(services) as http:
        named = await http.get("/api/v1/exports/attendance.csv", headers=headers)
        assert named.status_code == 200
        assert named.headers["content-type"].startswith("text/csv")
        assert "attachment" in named.headers["content-disposition"]
        (row,) = _csv(named.content)
        assert (row["name"], row["status"], row["workshop_id"]) == (
            "Awa Diop",
            "invited",
            str(workshop),
        )
        pseudo = await http.get(
            "/api/v1/exports/attendance.csv?pseudonymised=true", headers=headers
        )
        (row,) = _csv(pseudo.content)
        assert row["pseudonym"] == pseudonym(awa)
        assert "name" not in row
        assert "Awa" not in pseudo.text
        one = await http.get(
            f"/api/v1/exports/attendance.csv?workshop_id={workshop}", headers=headers
        )
        assert len(_csv(one.content)) == 1
        checkins = await http.get("/api/v1/exports/checkins.xlsx", headers=headers)
        assert checkins.status_code == 200
        sheet = load_workbook(io.BytesIO(checkins.content)).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][:2] == ("name", "phone")
        assert len(values) == 4
        hidden = await http.get("/api/v1/exports/checkins.csv?pseudonymised=1", headers=headers)
        assert "fatiguée" not in hidden.content.decode("utf-8-sig")
    async with services.unit_of_work() as db:
        details = list(
            (
                await db.execute(
                    select(AuditEvent.detail)
                    .where(AuditEvent.action == "export", AuditEvent.actor == "api:tests")
                    .order_by(AuditEvent.id)
                )
            ).scalars()
        )
    assert details == [
        "attendance.csv rows=1 pseudonymised=False",
        "attendance.csv rows=1 pseudonymised=True",
        f"attendance.csv rows=1 pseudonymised=False workshop={workshop}",
        "checkins.xlsx rows=3 pseudonymised=False",
        "checkins.csv rows=3 pseudonymised=True",
    ]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/exports/attendance.pdf", 422),
        ("/api/v1/exports/checkins.json", 422),
        ("/api/v1/exports/attendance.csv?pseudonymised=perhaps", 422),
        ("/api/v1/exports/attendance.csv?workshop_id=0", 422),
        ("/api/v1/exports/attendance.csv?workshop_id=999", 404),
        ("/api/v1/exports/roster.csv", 404),
    ],
)
async def test_bad_export_requests(services: Services, path: str, status: int) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        assert (await http.get(path, headers=headers)).status_code == status
        assert (await http.get("/api/v1/exports/attendance.csv")).status_code == 401


async def test_wellbeing_counts_scores_per_week_and_lists_low_ones(services: Services) -> None:
    awa, _ = await _world(services)
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.get("/api/v1/wellbeing?weeks=4", headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        assert [w["week_of"] for w in body["weeks"]][-1] == monday_of(utcnow().date()).isoformat()
        assert len(body["weeks"]) == 4
        this_week = body["weeks"][-1]
        assert this_week["counts"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
        assert this_week["total"] == 2
        assert body["total"] == 3
        assert [(p["returnee_id"], p["score"]) for p in body["low"]] == [(awa, 2)]
        for bad in ("weeks=0", "weeks=53", "weeks=many"):
            assert (await http.get(f"/api/v1/wellbeing?{bad}", headers=headers)).status_code == 422


async def test_the_openapi_document_lists_every_route(services: Services) -> None:
    async with client(services) as http:
        spec = (await http.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        "/alerts": {"get"},
        "/alerts/{alert_id}": {"get"},
        "/alerts/{alert_id}/assign": {"post"},
        "/alerts/{alert_id}/notes": {"post"},
        "/alerts/{alert_id}/resolve": {"post"},
        "/returnees": {"get", "post"},
        "/returnees/{returnee_id}": {"get", "patch"},
        "/returnees/{returnee_id}/messages": {"get", "post"},
        "/returnees/{returnee_id}/checkins": {"get"},
        "/returnees/{returnee_id}/consents": {"get", "post"},
        "/returnees/{returnee_id}/link-code": {"post"},
        "/returnees/import": {"post"},
        "/workshops": {"get", "post"},
        "/workshops/{workshop_id}": {"get", "patch"},
        "/workshops/{workshop_id}/enrollments": {"get", "post"},
        "/workshops/{workshop_id}/enrollments/{returnee_id}": {"patch"},
        "/exports/attendance.{fmt}": {"get"},
        "/exports/checkins.{fmt}": {"get"},
        "/wellbeing": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    exports = paths["/exports/checkins.{fmt}"]["get"]["responses"]["200"]["content"]
    assert "text/csv; charset=utf-8" in exports
    reply = paths["/returnees/{returnee_id}/messages"]["post"]
    assert "409" in reply["responses"]
