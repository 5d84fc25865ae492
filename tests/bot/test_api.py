"""The JSON API: tokens, the resources of INTERFACE.md, and clear errors that change nothing."""

from typing import Any

import pytest

from bot.services import Services
from tests.bot.webapp import api_token, client

RETURNEE = {
    "name": "Awa Diop",
    "phone": "77 123 45 67",
    "country": "SN",
    "language": "wo",
    "channel": "whatsapp",
    "consent": True,
}
WORKSHOP = {
    "title": "Atelier de developpement personnel",
    "starts_at": "2026-12-10T10:00:00+00:00",
    "ends_at": "2026-12-10T16:00:00+00:00",
    "timezone": "Africa/Dakar",
    "location": "Centre OIM",
}


async def test_returnee_workshop_and_enrollment(services: Services) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        created = await http.post("/api/v1/returnees", json=RETURNEE, headers=headers)
        assert created.status_code == 201, created.text
        person: dict[str, Any] = created.json()
        assert person["phone"] == "+221771234567"
        assert person["timezone"] == "Africa/Dakar"
        assert (await http.get(f"/api/v1/returnees/{person['id']}", headers=headers)).json()[
            "name"
        ] == "Awa Diop"
        workshop = (await http.post("/api/v1/workshops", json=WORKSHOP, headers=headers)).json()
        enrolled = await http.post(
            f"/api/v1/workshops/{workshop['id']}/enrollments",
            json={"returnee_id": person["id"]},
            headers=headers,
        )
        assert enrolled.status_code == 201
        assert enrolled.json()["status"] == "invited"
        roster = (
            await http.get(f"/api/v1/workshops/{workshop['id']}/enrollments", headers=headers)
        ).json()
        assert [(e["returnee_id"], e["status"]) for e in roster] == [(person["id"], "invited")]
        listed = (await http.get("/api/v1/returnees?country=SN", headers=headers)).json()
        assert [p["id"] for p in listed["items"]] == [person["id"]]
        assert listed["next"] is None
        patched = await http.patch(
            f"/api/v1/returnees/{person['id']}", json={"language": "fr"}, headers=headers
        )
        assert patched.json()["language"] == "fr"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"country": "FR"}, "country"),
        ({"language": "en"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_returnee_gets_422_naming_the_field(
    services: Services, change: dict[str, Any], field: str
) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.post("/api/v1/returnees", json={**RETURNEE, **change}, headers=headers)
        assert answer.status_code == 422
        assert field in [str(part) for e in answer.json()["detail"] for part in e["loc"]]
        assert (await http.get("/api/v1/returnees", headers=headers)).json()["items"] == []


async def test_malformed_json_is_refused_and_nothing_is_stored(services: Services) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        answer = await http.post(
            "/api/v1/returnees",
            content=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 422
        assert (await http.get("/api/v1/returnees", headers=headers)).json()["items"] == []


async def test_unknown_ids_are_404(services: Services) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        assert (await http.get("/api/v1/returnees/999", headers=headers)).status_code == 404
        assert (
            await http.get("/api/v1/returnees/999/messages", headers=headers)
        ).status_code == 404
        assert (
            await http.post(
                "/api/v1/workshops/999/enrollments", json={"returnee_id": 1}, headers=headers
            )
        ).status_code == 404


async def test_tokens_are_required(services: Services) -> None:
    async with client(services) as http:
        assert (await http.get("/api/v1/returnees")).status_code == 401
        assert (
            await http.get("/api/v1/returnees", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        spec = await http.get("/api/v1/openapi.json")
        assert spec.status_code == 200
        assert "/returnees" in spec.json()["paths"]


async def test_healthz(services: Services) -> None:
    async with client(services) as http:
        answer = await http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_out_of_range_ids_and_dates_are_422_not_500(services: Services) -> None:
    headers = await api_token(services)
    async with client(services) as http:
        huge = 2**70
        assert (await http.get(f"/api/v1/returnees/{huge}", headers=headers)).status_code == 422
        assert (
            await http.get(f"/api/v1/returnees?cursor={huge}", headers=headers)
        ).status_code == 422
        far = {
            **WORKSHOP,
            "starts_at": "9999-12-31T10:00:00+00:00",
            "ends_at": "9999-12-31T16:00:00+00:00",
        }
        answer = await http.post("/api/v1/workshops", json=far, headers=headers)
        assert answer.status_code == 422
        assert "starts_at" in str(answer.json())


async def test_views_of_a_returnee_are_audited(services: Services) -> None:
    from sqlalchemy import select

    from bot.db.models import AuditEvent

    headers = await api_token(services)
    async with client(services) as http:
        person = (await http.post("/api/v1/returnees", json=RETURNEE, headers=headers)).json()
        await http.get(f"/api/v1/returnees/{person['id']}", headers=headers)
        await http.get(f"/api/v1/returnees/{person['id']}/messages", headers=headers)
    async with services.unit_of_work() as db:
        rows = (
            await db.execute(
                select(AuditEvent.actor, AuditEvent.action, AuditEvent.target).order_by(
                    AuditEvent.id
                )
            )
        ).all()
    target = f"returnee:{person['id']}"
    assert [tuple(r) for r in rows] == [
        ("api:tests", "returnee_create", target),  # changes are logged too
        ("api:tests", "view_returnee", target),
        ("api:tests", "view_messages", target),
    ]
