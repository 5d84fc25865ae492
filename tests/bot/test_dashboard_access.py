"""Nobody sees or changes another caseload by any page or URL; viewers never change anything;
every form needs its CSRF token. The route table is checked against the app's own routes."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.auth import current_user
from bot.dashboard.importing import pack
from bot.dashboard.routes import PAGES, router
from bot.db.models import (
    Alert,
    ConsentEvent,
    Enrollment,
    LinkCode,
    Message,
    OutboxItem,
    Returnee,
    ScheduledSend,
    User,
    Workshop,
)
from bot.services import Services
from tests.bot.test_dashboard_support import (
    AMINA,
    MOUSSA,
    VIEWER,
    Session,
    World,
    build_world,
    signed_in,
)
from tests.bot.webapp import client

CSV = b"name,phone,country,language,channel\nNadia,0612345699,MA,fr,sms\n"


@dataclass(frozen=True)
class Case:
    """One route, filled in with Amina's objects."""

    method: str
    template: str  # the route's path, as the app declares it
    url: str
    data: dict[str, str | list[str]] = field(default_factory=dict)
    upload: bool = False


def object_routes(w: World) -> list[Case]:
    """Every route that names one of Amina's returnees, alerts, workshops or enrollments."""
    wid, rid, aid = w.w_amina, w.a1, w.alert_a1
    return [
        Case("GET", "/returnees/{returnee_id:int}", f"/returnees/{rid}"),
        Case("GET", "/returnees/{returnee_id:int}/edit", f"/returnees/{rid}/edit"),
        Case("POST", "/returnees/{returnee_id:int}/edit", f"/returnees/{rid}/edit",
             {"name": "Pirate", "language": "ar", "channel": "sms", "timezone": ""}),
        Case("POST", "/returnees/{returnee_id:int}/reply", f"/returnees/{rid}/reply",
             {"text": "Bonjour"}),
        Case("POST", "/returnees/{returnee_id:int}/consent", f"/returnees/{rid}/consent",
             {"kind": "withdrawn"}),
        Case("POST", "/returnees/{returnee_id:int}/link-code", f"/returnees/{rid}/link-code"),
        Case("POST", "/alerts/{alert_id:int}/assign", f"/alerts/{aid}/assign"),
        Case("POST", "/alerts/{alert_id:int}/release", f"/alerts/{aid}/release"),
        Case("POST", "/alerts/{alert_id:int}/resolve", f"/alerts/{aid}/resolve"),
        Case("POST", "/alerts/{alert_id:int}/note", f"/alerts/{aid}/note", {"text": "vu"}),
        Case("GET", "/workshops/{workshop_id:int}", f"/workshops/{wid}"),
        Case("GET", "/workshops/{workshop_id:int}/enroll", f"/workshops/{wid}/enroll"),
        Case("POST", "/workshops/{workshop_id:int}/edit", f"/workshops/{wid}/edit",
             {"title": "Pris", "starts": "2030-01-01T10:00", "ends": "2030-01-01T12:00"}),
        Case("POST", "/workshops/{workshop_id:int}/cancel", f"/workshops/{wid}/cancel"),
        Case("POST", "/workshops/{workshop_id:int}/enroll", f"/workshops/{wid}/enroll",
             {"returnee_id": [str(w.a2)]}),
        Case("POST", "/workshops/{workshop_id:int}/attendance", f"/workshops/{wid}/attendance",
             {"enrollment_id": str(w.e_a1), "status": "attended"}),
        Case("GET", "/exports/{kind}.{fmt}", f"/exports/attendance.csv?workshop={wid}"),
    ]  # fmt: skip


def cross_routes(w: World) -> list[Case]:
    """Moussa's own objects combined with one of Amina's."""
    return [
        Case("POST", "/workshops/{workshop_id:int}/enroll", f"/workshops/{w.w_moussa}/enroll",
             {"returnee_id": [str(w.m1), str(w.a1)]}),
        Case("POST", "/workshops/{workshop_id:int}/attendance",
             f"/workshops/{w.w_moussa}/attendance",
             {"enrollment_id": str(w.e_a1), "status": "absent"}),
    ]  # fmt: skip


def own_routes(w: World) -> list[Case]:
    """Routes that name no object: lists, and forms that create in one's own caseload."""
    return [
        Case("GET", "/", "/"),
        Case("GET", "/inbox", "/inbox"),
        Case("GET", "/returnees", "/returnees?q=Fatima"),
        Case("GET", "/returnees/new", "/returnees/new"),
        Case("POST", "/returnees/new", "/returnees/new",
             {"name": "Nadia", "phone": "0612345698", "country": "MA", "language": "fr",
              "channel": "sms"}),
        Case("GET", "/returnees/import", "/returnees/import"),
        Case("POST", "/returnees/import", "/returnees/import", upload=True),
        Case("POST", "/returnees/import/confirm", "/returnees/import/confirm",
             {"filename": "people.csv", "data": pack(CSV)}),
        Case("GET", "/workshops", "/workshops"),
        Case("GET", "/workshops/new", "/workshops/new"),
        Case("POST", "/workshops/new", "/workshops/new",
             {"title": "T", "starts": "2030-01-01T10:00", "ends": "2030-01-01T12:00",
              "timezone": "Africa/Dakar"}),
        Case("GET", "/wellbeing", "/wellbeing"),
        Case("GET", "/exports", "/exports"),
        Case("GET", "/exports/{kind}.{fmt}", "/exports/checkins.csv"),
        Case("GET", "/account/password", "/account/password"),
        Case("POST", "/account/password", "/account/password",
             {"current": "x", "new": "y", "confirm": "y"}),
    ]  # fmt: skip


async def snapshot(services: Services) -> dict[str, object]:
    """Everything the dashboard can change, as comparable values."""
    async with services.unit_of_work() as db:
        return {
            "alerts": await _all(db, Alert.id, Alert.status, Alert.assigned_to, Alert.note),
            "returnees": await _all(
                db, Returnee.id, Returnee.name, Returnee.language, Returnee.channel,
                Returnee.caseworker_id, Returnee.consent, Returnee.opted_out,
            ),
            "enrollments": await _all(db, Enrollment.id, Enrollment.status),
            "workshops": await _all(
                db, Workshop.id, Workshop.title, Workshop.status, Workshop.version,
                Workshop.starts_at, Workshop.location,
            ),
            "sends": await _all(db, ScheduledSend.id, ScheduledSend.status),
            "messages": await _count(db, Message.id),
            "outbox": await _count(db, OutboxItem.id),
            "consents": await _count(db, ConsentEvent.id),
            "codes": await _count(db, LinkCode.id),
            "users": await _all(db, User.id, User.password_hash),
        }  # fmt: skip


async def _all(db: AsyncSession, *columns: object) -> list[tuple[object, ...]]:
    rows = await db.execute(select(*columns).order_by(columns[0]))  # type: ignore[call-overload]
    return [tuple(r) for r in rows.all()]


async def _count(db: AsyncSession, column: object) -> int:
    return int((await db.execute(select(func.count(column)))).scalar_one())  # type: ignore[arg-type]


async def _send(s: Session, case: Case, *, csrf: bool = True) -> int:
    if case.method == "GET":
        return (await s.http.get(case.url)).status_code
    data = {**case.data, **({"csrf": s.csrf} if csrf else {})}
    files = {"file": ("people.csv", CSV, "text/csv")} if case.upload else None
    return (await s.http.post(case.url, data=data, files=files)).status_code


def test_the_route_table_covers_every_dashboard_route() -> None:
    """A new page cannot be forgotten here: every route behind the login is in a table."""
    now = datetime.now(UTC)
    w = World(now, 1, 2, 3, 4, 5, 6, 7, 8, 9)
    covered = {(c.method, c.template) for c in object_routes(w) + own_routes(w)}
    declared = {
        (method, route.path)
        for module_router in (router, *(m.router for m in PAGES))
        for route in module_router.routes
        if isinstance(route, APIRoute)
        and any(dep.call is current_user for dep in route.dependant.dependencies)
        for method in route.methods or ()
    }
    assert len(declared) > 30
    assert declared == covered


async def test_another_caseload_gets_404_everywhere_and_nothing_changes(
    services: Services,
) -> None:
    world = await build_world(services)
    async with signed_in(services, MOUSSA) as moussa:
        before = await snapshot(services)
        for case in object_routes(world) + cross_routes(world):
            status = await _send(moussa, case)
            assert status == 404, (case.method, case.url, status)
        assert await snapshot(services) == before
        for case in own_routes(world):
            if case.method == "GET":
                page = await moussa.http.get(case.url)
                assert page.status_code == 200, case.url
                for secret in ("Idrissi", "Trabelsi", "Atelier Amina", "+21261", "merci"):
                    assert secret not in page.text, (case.url, secret)
        assert "Secret de Moussa" in (await moussa.http.get("/")).text  # his own, though


async def test_a_viewer_reads_everything_and_changes_nothing(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, VIEWER) as viewer:
        before = await snapshot(services)
        for case in object_routes(world) + own_routes(world):
            status = await _send(viewer, case)
            if case.method == "GET":
                assert status == 200, case.url
            elif case.template != "/account/password":  # their own password: theirs to change
                assert status == 403, (case.url, status)
        assert await snapshot(services) == before
        timeline = await viewer.http.get(f"/returnees/{world.a1}")
        assert "Fatima" in timeline.text
        assert 'action="/returnees/' not in timeline.text  # no forms offered


async def test_every_form_needs_the_csrf_token(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        before = await snapshot(services)
        for case in object_routes(world) + own_routes(world):
            if case.method == "POST":
                status = await _send(amina, case, csrf=False)
                assert status == 403, (case.url, status)
        assert await snapshot(services) == before


async def test_signed_out_every_page_sends_to_the_login(services: Services) -> None:
    world = await build_world(services)
    async with client(services) as http:
        for case in object_routes(world) + own_routes(world):
            answer = await (
                http.get(case.url) if case.method == "GET" else http.post(case.url, data={})
            )
            assert answer.status_code == 303, case.url
            assert answer.headers["location"] == "/login"


@pytest.mark.parametrize("huge", ["99999999999999999999", "2147483648"])
async def test_ids_that_cannot_exist_are_not_found(services: Services, huge: str) -> None:
    await build_world(services)
    async with signed_in(services, AMINA) as amina:
        for url in (f"/returnees/{huge}", f"/workshops/{huge}", f"/returnees?workshop={huge}"):
            assert (await amina.http.get(url)).status_code in (200, 404), url
        assert (await amina.http.get(f"/returnees/{huge}")).status_code == 404
        assert (await amina.post(f"/alerts/{huge}/resolve")).status_code == 404
        assert (await amina.http.get(f"/exports/attendance.csv?workshop={huge}")).status_code == 404
