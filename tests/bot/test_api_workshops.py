"""The JSON API on workshops: the list and its filters, the funnel, enrolling several people
at once (and one, as before), attendance and answers marked by hand."""

from datetime import timedelta

from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import AuditEvent, Enrollment, ScheduledSend
from bot.services import Services
from tests.bot.webapp import api_token, client
from tests.builders import make_returnee, make_workshop
from tests.conftest import FIXED_NOW

WORKSHOP = {
    "title": "Atelier de Tunis",
    "starts_at": "2026-12-20T09:00:00+01:00",
    "ends_at": "2026-12-20T15:00:00+01:00",
    "timezone": "Africa/Tunis",
    "country": "TN",
}


async def _people(services: Services) -> list[int]:
    async with services.unit_of_work() as db:
        return [
            (await make_returnee(db, now=utcnow(), name=name, country=c, language=lang)).id
            for name, c, lang in (("Awa Diop", "SN", "wo"), ("Sami Trabelsi", "TN", "ar"))
        ]


async def test_workshops_are_listed_and_filtered(services: Services) -> None:
    headers = await api_token(services)
    async with services.unit_of_work() as db:
        # before WORKSHOP's fixed date whatever day the tests run
        dakar = (await make_workshop(db, now=FIXED_NOW, starts_in=timedelta(days=3))).id
    async with client(services) as http:
        tunis = (await http.post("/api/v1/workshops", json=WORKSHOP, headers=headers)).json()
        every = (await http.get("/api/v1/workshops", headers=headers)).json()
        assert [w["id"] for w in every] == [dakar, tunis["id"]]
        by_country = (await http.get("/api/v1/workshops?country=TN", headers=headers)).json()
        assert [w["id"] for w in by_country] == [tunis["id"]]
        await http.patch(
            f"/api/v1/workshops/{dakar}", json={"status": "cancelled"}, headers=headers
        )
        live = (await http.get("/api/v1/workshops?status=scheduled", headers=headers)).json()
        assert [w["id"] for w in live] == [tunis["id"]]
        after = await http.get(
            "/api/v1/workshops",
            params={"starts_after": "2026-12-15T00:00:00+00:00"},
            headers=headers,
        )
        assert [w["id"] for w in after.json()] == [tunis["id"]]
        for query, field in [
            ("status=done", "status"),
            ("country=FR", "country"),
            ("starts_after=soon", "starts_after"),
            ("starts_before=2026-12-15T00:00:00", "starts_before"),
        ]:
            bad = await http.get(f"/api/v1/workshops?{query}", headers=headers)
            assert bad.status_code == 422, query
            assert field in [str(p) for e in bad.json()["detail"] for p in e["loc"]]
    async with services.unit_of_work() as db:
        actions = (
            await db.execute(select(AuditEvent.action).where(AuditEvent.actor == "api:tests"))
        ).scalars()
        assert {"workshop_create", "workshop_cancel"} <= set(actions)


async def test_bulk_enrollment_the_funnel_and_attendance(services: Services) -> None:
    awa, sami = await _people(services)
    headers = await api_token(services)
    async with client(services) as http:
        workshop = (await http.post("/api/v1/workshops", json=WORKSHOP, headers=headers)).json()
        url = f"/api/v1/workshops/{workshop['id']}/enrollments"
        one = await http.post(url, json={"returnee_id": awa}, headers=headers)
        assert one.status_code == 201
        assert {"id", "returnee_id", "status"} <= set(one.json())
        assert (one.json()["returnee_id"], one.json()["status"]) == (awa, "invited")
        many = await http.post(url, json={"returnee_ids": [awa, sami, sami]}, headers=headers)
        assert many.status_code == 201, many.text
        body = many.json()
        assert [e["returnee_id"] for e in body["enrolled"]] == [sami]
        assert body["already_enrolled"] == [awa]
        marked = await http.patch(f"{url}/{awa}", json={"status": "attended"}, headers=headers)
        assert marked.status_code == 200
        assert marked.json()["status"] == "attended"
        declined = await http.patch(f"{url}/{sami}", json={"status": "declined"}, headers=headers)
        assert declined.json()["status"] == "declined"
        detail = (await http.get(f"/api/v1/workshops/{workshop['id']}", headers=headers)).json()
        assert detail["title"] == "Atelier de Tunis"
        assert detail["funnel"] == {
            "invited": 2,
            "confirmed": 1,
            "attended": 1,
            "by_status": {"attended": 1, "declined": 1},
        }
    async with services.unit_of_work() as db:
        actions = list(
            (
                await db.execute(
                    select(AuditEvent.action, AuditEvent.detail)
                    .where(AuditEvent.target == f"workshop:{workshop['id']}")
                    .order_by(AuditEvent.id)
                )
            ).all()
        )
        planned = (
            await db.execute(select(ScheduledSend).where(ScheduledSend.status == "planned"))
        ).all()
    assert [a for a, _ in actions] == [
        "workshop_create",
        "enroll",
        "enroll",
        "mark_attended",
        "mark_declined",
    ]
    assert actions[2][1] == "1 enrolled"
    assert planned == []


async def test_enrollment_errors(services: Services) -> None:
    awa, _ = await _people(services)
    headers = await api_token(services)
    async with client(services) as http:
        workshop = (await http.post("/api/v1/workshops", json=WORKSHOP, headers=headers)).json()
        url = f"/api/v1/workshops/{workshop['id']}/enrollments"
        for body, field in [
            ({}, "returnee_id"),
            ({"returnee_id": awa, "returnee_ids": [awa]}, "returnee_id"),
            ({"returnee_ids": []}, "returnee_ids"),
            ({"returnee_ids": [awa, 999]}, "returnee_ids"),
            ({"returnee_ids": [0]}, "returnee_ids"),
            ({"returnee_ids": list(range(1, 1002))}, "returnee_ids"),
            ({"returnee_id": 999}, "returnee_id"),
        ]:
            answer = await http.post(url, json=body, headers=headers)
            assert answer.status_code == 422, body
            assert field in [str(p) for e in answer.json()["detail"] for p in e["loc"]]
        bad_mark = await http.patch(f"{url}/{awa}", json={"status": "attended"}, headers=headers)
        assert bad_mark.status_code == 404  # not enrolled
        await http.post(url, json={"returnee_id": awa}, headers=headers)
        wrong = await http.patch(f"{url}/{awa}", json={"status": "cancelled"}, headers=headers)
        assert wrong.status_code == 422
        assert "status" in str(wrong.json()["detail"])
        for path in ("/api/v1/workshops/999", f"/api/v1/workshops/{2**40}"):
            assert (await http.get(path, headers=headers)).status_code == 404
        assert (
            await http.patch(
                f"/api/v1/workshops/999/enrollments/{awa}",
                json={"status": "attended"},
                headers=headers,
            )
        ).status_code == 404
        assert (
            await http.patch(f"{url}/{2**40}", json={"status": "attended"}, headers=headers)
        ).status_code == 404
        assert (
            await http.post(
                "/api/v1/workshops/999/enrollments", json={"returnee_ids": [awa]}, headers=headers
            )
        ).status_code == 404
        await http.patch(
            f"/api/v1/workshops/{workshop['id']}", json={"status": "cancelled"}, headers=headers
        )
        closed = await http.post(url, json={"returnee_ids": [awa]}, headers=headers)
        assert closed.status_code == 422
        assert "workshop" in str(closed.json()["detail"])
    async with services.unit_of_work() as db:
        statuses = (await db.execute(select(Enrollment.status))).scalars()
        assert list(statuses) == ["cancelled"]  # only the one enrolled before the cancellation
