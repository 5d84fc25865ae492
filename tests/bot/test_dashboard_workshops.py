"""Workshops: create in local time, enroll several at once, mark attendance, the funnel,
reschedule and cancel (only one's own workshop, unless admin)."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.models import Enrollment, ScheduledSend, Workshop
from bot.services import Services
from tests.bot.test_dashboard_support import ADMIN, AMINA, build_world, signed_in


async def test_create_reads_times_in_the_workshop_zone(services: Services) -> None:
    await build_world(services)
    form = {"title": "Atelier <emploi>", "starts": "2030-03-04T10:00", "ends": "2030-03-04T09:00",
            "timezone": "Africa/Tunis", "location": "Sfax", "country": "TN"}  # fmt: skip
    async with signed_in(services, AMINA) as amina:
        refused = await amina.post("/workshops/new", form)
        assert refused.status_code == 422
        assert "La fin doit venir après le début." in refused.text
        answer = await amina.post("/workshops/new", {**form, "ends": "2030-03-04T16:00"})
        assert answer.status_code == 303
        page = (await amina.http.get(answer.headers["location"])).text
    assert "Atelier &lt;emploi&gt;" in page
    assert "04/03/2030 10:00" in page
    async with services.unit_of_work() as db:
        workshop = (
            await db.execute(select(Workshop).where(Workshop.location == "Sfax"))
        ).scalar_one()
    assert workshop.starts_at == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # Tunis is UTC+1


async def test_enroll_several_then_mark_attendance_and_count_the_funnel(
    services: Services,
) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        picker = (await amina.http.get(f"/workshops/{world.w_amina}/enroll")).text
        assert "Sami Trabelsi" in picker
        assert "Fatima" not in picker  # already enrolled
        assert "Awa" not in picker  # another caseload
        empty = await amina.post("/workshops/new", {
            "title": "Coaching", "starts": "2030-01-05T10:00", "ends": "2030-01-05T12:00",
            "timezone": "Africa/Casablanca"})  # fmt: skip
        new_id = int(empty.headers["location"].rsplit("/", 1)[1])
        answer = await amina.post(
            f"/workshops/{new_id}/enroll", {"returnee_id": [str(world.a1), str(world.a2)]}
        )
        assert answer.status_code == 303
        page = (await amina.http.get(f"/workshops/{new_id}")).text
        assert "2 personnes inscrites." in page
        assert re.findall(r"<b>(\d+)</b>", page) == ["2", "0", "0"]
        async with services.unit_of_work() as db:
            rows = (
                (await db.execute(select(Enrollment).where(Enrollment.workshop_id == new_id)))
                .scalars()
                .all()
            )
            rows[0].status = "confirmed"
        first, second = sorted(r.id for r in rows)
        for enrollment_id, status in ((first, "attended"), (second, "absent")):
            marked = await amina.post(
                f"/workshops/{new_id}/attendance",
                {"enrollment_id": str(enrollment_id), "status": status},
            )
            assert marked.status_code == 303
        page = (await amina.http.get(f"/workshops/{new_id}")).text
        assert re.findall(r"<b>(\d+)</b>", page) == ["2", "1", "1"]  # invited, confirmed, came
        assert "Présent·e" in page
        assert "Absent·e" in page
        assert (
            await amina.post(f"/workshops/{new_id}/attendance",
                             {"enrollment_id": str(first), "status": "declined"})
        ).status_code == 422  # fmt: skip
        listing = (await amina.http.get("/workshops")).text
        assert "Coaching" in listing


async def test_reschedule_and_cancel(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        form = {"title": "Atelier Amina (reporté)", "starts": "2030-02-01T10:00",
                "ends": "2030-02-01T08:00", "location": "Salle 3"}  # fmt: skip
        refused = await amina.post(f"/workshops/{world.w_amina}/edit", form)
        assert refused.status_code == 422
        assert "La fin doit venir après le début." in refused.text
        answer = await amina.post(
            f"/workshops/{world.w_amina}/edit", {**form, "ends": "2030-02-01T16:00"}
        )
        assert answer.status_code == 303
        async with services.unit_of_work() as db:
            workshop = await db.get(Workshop, world.w_amina)
            assert workshop is not None
            assert (workshop.title, workshop.location, workshop.version) == (
                "Atelier Amina (reporté)", "Salle 3", 2,
            )  # fmt: skip
            assert workshop.starts_at == datetime(
                2030, 2, 1, 10, 0, tzinfo=ZoneInfo("Africa/Casablanca")
            )
            notices = (
                await db.execute(select(ScheduledSend.purpose).where(
                    ScheduledSend.enrollment_id == world.e_a1, ScheduledSend.status == "planned"))
            ).scalars().all()  # fmt: skip
            assert notices == ["reschedule"]
        assert (await amina.post(f"/workshops/{world.w_amina}/cancel")).status_code == 303
        page = (await amina.http.get(f"/workshops/{world.w_amina}")).text
        assert "annulé" in page
        assert "Inscrire des personnes" not in page
        async with services.unit_of_work() as db:
            enrollment = await db.get(Enrollment, world.e_a1)
            assert enrollment is not None
            assert enrollment.status == "cancelled"
        enrolling = await amina.post(
            f"/workshops/{world.w_amina}/enroll", {"returnee_id": [str(world.a2)]}
        )
        assert enrolling.status_code == 409


async def test_a_shared_workshop_is_changed_by_an_admin_only(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, ADMIN) as admin:  # Moussa's person joins Amina's workshop
        await admin.post(f"/workshops/{world.w_amina}/enroll", {"returnee_id": [str(world.m1)]})
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/workshops/{world.w_amina}")).text
        assert "Awa Diop" not in page  # the roster shows her caseload only
        assert re.findall(r"<b>(\d+)</b>", page)[0] == "1"
        assert (await amina.post(f"/workshops/{world.w_amina}/cancel")).status_code == 403
    async with signed_in(services, ADMIN) as admin:
        assert (await admin.post(f"/workshops/{world.w_amina}/cancel")).status_code == 303
