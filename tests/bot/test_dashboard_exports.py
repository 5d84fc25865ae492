"""Exports: attendance and check-ins as CSV and Excel, pseudonymised on request (always for
viewers), within the caseload, written to the audit log, never running a formula."""

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from bot.db.crypto import blind_index
from bot.db.models import AuditEvent, Enrollment
from bot.reports import pseudonym
from bot.services import Services
from bot.sheets import neutral
from tests.bot.test_dashboard_support import ADMIN, AMINA, MOUSSA, VIEWER, build_world, signed_in


def rows_of(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_attendance_csv_names_the_caseload_only(services: Services) -> None:
    world = await build_world(services)
    async with services.unit_of_work() as db:
        enrollment = await db.get(Enrollment, world.e_a1)
        assert enrollment is not None
        enrollment.status, enrollment.rating, enrollment.feedback = "attended", 5, "=HYPERLINK(1)"
    async with signed_in(services, AMINA) as amina:
        answer = await amina.http.get("/exports/attendance.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="attendance-')
    rows = rows_of(answer.content)
    assert rows == [
        {
            "name": "Fatima Zahra Idrissi",
            "phone": "+212612345678",
            "country": "MA",
            "language": "fr",
            "workshop_id": str(world.w_amina),
            "workshop": "Atelier Amina",
            "starts_at": rows[0]["starts_at"],
            "status": "attended",
            "rating": "5",
            "feedback": "'=HYPERLINK(1)",  # a returnee's words never run as a formula
        }
    ]
    async with services.unit_of_work() as db:
        logged = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == "export"))
        ).scalar_one()
    assert logged.actor == AMINA
    assert logged.detail == "attendance.csv rows=1 pseudonymised=False"


async def test_pseudonymised_exports_carry_no_name_or_number(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, ADMIN) as admin:
        attendance = await admin.http.get("/exports/attendance.csv?pseudo=true")
        checkins = await admin.http.get("/exports/checkins.csv?pseudo=true")
    for answer in (attendance, checkins):
        assert b"Idrissi" not in answer.content
        assert b"Awa" not in answer.content
        assert b"+2126" not in answer.content
        assert b"\xc3\xa7a va" not in answer.content  # free comments are left out
    rows = rows_of(checkins.content)
    assert sorted(r["pseudonym"] for r in rows) == sorted(
        [pseudonym(world.a1), pseudonym(world.a1), pseudonym(world.m1)]
    )
    assert pseudonym(world.a1) == blind_index(f"pseudo:{world.a1}")[:10]
    assert set(rows[0]) == {"pseudonym", "country", "language", "created_at", "score"}
    assert {r["pseudonym"] for r in rows_of(attendance.content)} == {
        pseudonym(world.a1),
        pseudonym(world.m1),
    }


async def test_checkins_in_excel_and_a_viewer_gets_pseudonyms_only(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, VIEWER) as viewer:
        answer = await viewer.http.get("/exports/checkins.xlsx")
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    values = list(sheet.values)
    assert values[0] == ("pseudonym", "country", "language", "created_at", "score")
    assert sorted(v[4] for v in values[1:]) == [2, 4, 5]
    assert {v[0] for v in values[1:]} == {pseudonym(world.a1), pseudonym(world.m1)}
    async with services.unit_of_work() as db:
        logged = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == "export"))
        ).scalar_one()
    assert logged.detail == "checkins.xlsx rows=3 pseudonymised=True"


async def test_a_caseworker_exports_her_own_checkins_and_workshops(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, MOUSSA) as moussa:
        rows = rows_of((await moussa.http.get("/exports/checkins.csv")).content)
        assert [(r["name"], r["score"], r["comment"]) for r in rows] == [("Awa Diop", "5", "ça va")]
        sheet = load_workbook(
            io.BytesIO((await moussa.http.get("/exports/attendance.xlsx")).content)
        ).active
        assert [row[0] for row in sheet.values] == ["name", "Awa Diop"]
        assert (
            await moussa.http.get(f"/exports/attendance.csv?workshop={world.w_amina}")
        ).status_code == 404
        assert (await moussa.http.get("/exports/people.csv")).status_code == 404
        assert (await moussa.http.get("/exports/checkins.pdf")).status_code == 404


def test_cells_that_would_run_as_formulas_are_quoted() -> None:
    assert neutral("=1+1") == "'=1+1"
    assert neutral("@SUM(A1)") == "'@SUM(A1)"
    assert neutral("-2+3") == "'-2+3"
    assert neutral("+212612345678") == "+212612345678"  # a phone number stays a phone number
    assert neutral("Bonjour") == "Bonjour"
    assert neutral(3) == 3
