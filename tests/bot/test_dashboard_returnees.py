"""Returnees: search and filters, create and edit with French errors, import with a preview,
Telegram link codes and the consent ledger."""

import io
import re
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import func, select

from bot.clock import utcnow
from bot.dashboard.importing import pack
from bot.db.crypto import blind_index
from bot.db.models import AuditEvent, ConsentEvent, LinkCode, Returnee, ScheduledSend, User
from bot.services import Services
from tests.bot.test_dashboard_support import ADMIN, AMINA, MOUSSA, build_world, signed_in


def names(page: str) -> list[str]:
    """The names listed on the returnee list page."""
    return re.findall(r'<td><a href="/returnees/\d+" dir="auto">([^<]+)</a>', page)


async def count(services: Services) -> int:
    async with services.unit_of_work() as db:
        return int((await db.execute(select(func.count(Returnee.id)))).scalar_one())


async def test_search_and_filters_stay_in_the_caseload(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        assert names((await amina.http.get("/returnees")).text) == [
            "Fatima Zahra Idrissi",
            "Sami Trabelsi",
        ]
        assert names((await amina.http.get("/returnees?q=zahra idr")).text) == [
            "Fatima Zahra Idrissi"
        ]
        assert names((await amina.http.get("/returnees?q=TRABÉLSI")).text) == ["Sami Trabelsi"]
        assert names((await amina.http.get("/returnees?q=20 12 34 56")).text) == ["Sami Trabelsi"]
        assert names((await amina.http.get("/returnees?q=Awa")).text) == []  # Moussa's
        assert names((await amina.http.get("/returnees?country=TN")).text) == ["Sami Trabelsi"]
        assert names((await amina.http.get("/returnees?channel=whatsapp")).text) == [
            "Sami Trabelsi"
        ]
        assert names((await amina.http.get("/returnees?language=fr")).text) == [
            "Fatima Zahra Idrissi"
        ]
        by_workshop = await amina.http.get(f"/returnees?workshop={world.w_amina}")
        assert names(by_workshop.text) == ["Fatima Zahra Idrissi"]
        assert names((await amina.http.get("/returnees?opted_out=yes")).text) == []
        # a caseworker filter naming another caseload changes nothing for a caseworker
        async with services.unit_of_work() as db:
            moussa_id = (await db.execute(select(User.id).where(User.email == MOUSSA))).scalar()
        other = await amina.http.get(f"/returnees?caseworker={moussa_id}")
        assert "Awa" not in other.text
    async with signed_in(services, ADMIN) as admin:
        assert names((await admin.http.get(f"/returnees?caseworker={moussa_id}")).text) == [
            "Awa Diop"
        ]
        assert len(names((await admin.http.get("/returnees")).text)) == 3


async def test_create_shows_errors_next_to_the_field_and_stores_nothing(
    services: Services,
) -> None:
    await build_world(services)
    before = await count(services)
    form = {"name": "Nadia <i>B</i>", "phone": "12", "country": "MA", "language": "fr",
            "channel": "sms"}  # fmt: skip
    async with signed_in(services, AMINA) as amina:
        answer = await amina.post("/returnees/new", form)
        assert answer.status_code == 422
        assert re.search(
            r'<span class="field-error" id="err-phone">« 12 » n&#39;est pas un numéro', answer.text
        )
        assert 'value="Nadia &lt;i&gt;B&lt;/i&gt;"' in answer.text  # the form keeps the input
        assert await count(services) == before
        answer = await amina.post("/returnees/new", {**form, "phone": "0612345690"})
        assert answer.status_code == 303
        page = (await amina.http.get(answer.headers["location"])).text
        assert "Nadia &lt;i&gt;B&lt;/i&gt;" in page
    async with services.unit_of_work() as db:
        created = (
            (await db.execute(select(Returnee).order_by(Returnee.id.desc()))).scalars().first()
        )
        amina_id = (await db.execute(select(User.id).where(User.email == AMINA))).scalar()
        assert created is not None
        assert created.caseworker_id == amina_id  # in her own caseload
        assert created.phone == "+212612345690"


async def test_edit_changes_the_record_or_says_why_not(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        form = {"name": "Fatima Z. Idrissi", "language": "ar", "channel": "sms",
                "timezone": "Mars/Olympus"}  # fmt: skip
        answer = await amina.post(f"/returnees/{world.a1}/edit", form)
        assert answer.status_code == 422
        assert "Fuseau horaire inconnu" in answer.text
        async with services.unit_of_work() as db:
            person = await db.get(Returnee, world.a1)
            assert person is not None
            assert (person.name, person.language) == ("Fatima Zahra Idrissi", "fr")
        answer = await amina.post(f"/returnees/{world.a1}/edit", {**form, "timezone": ""})
        assert answer.status_code == 303
        # a caseworker cannot move someone to another caseload by adding a field
        await amina.post(
            f"/returnees/{world.a1}/edit", {**form, "timezone": "", "caseworker": MOUSSA}
        )
    async with services.unit_of_work() as db:
        person = await db.get(Returnee, world.a1)
        assert person is not None
        assert (person.name, person.language) == ("Fatima Z. Idrissi", "ar")
        assert person.caseworker_id is not None
        owner = await db.get(User, person.caseworker_id)
        assert owner is not None
        assert owner.email == AMINA


CSV_WITH_ERRORS = (
    b"name;phone;country;language;channel\n"
    b"Nadia Benali;0612345691;MA;fr;sms\n"
    b";0612345692;MA;fr;sms\n"
    b"Omar Kane;12;SN;wo;sms\n"
    b"Lina Haddad;0612345693;MA;xx;sms\n"
)


async def test_the_import_preview_lists_every_invalid_row_and_saves_nothing(
    services: Services,
) -> None:
    await build_world(services)
    before = await count(services)
    async with signed_in(services, AMINA) as amina:
        answer = await amina.http.post(
            "/returnees/import",
            data={"csrf": amina.csrf},
            files={"file": ("people.csv", CSV_WITH_ERRORS, "text/csv")},
        )
        assert answer.status_code == 422
        errors = re.findall(
            r'<tr class="row-error"><td>Ligne (\d+)</td><td>([^<]+)</td>', answer.text
        )
        assert errors == [("3", "nom"), ("4", "téléphone"), ("5", "langue")]
        assert "« 12 » n&#39;est pas un numéro valide pour SN" in answer.text
        assert "/returnees/import/confirm" not in answer.text  # no confirm button
        assert await count(services) == before
        # forcing the confirm step with the same file imports nothing either
        forced = await amina.post(
            "/returnees/import/confirm", {"filename": "people.csv", "data": pack(CSV_WITH_ERRORS)}
        )
        assert forced.status_code == 422
        assert await count(services) == before


async def test_a_valid_file_is_previewed_then_imported(services: Services) -> None:
    await build_world(services)
    before = await count(services)
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "country", "language", "channel", "consent"])
    sheet.append(["Nadia Benali", "0612345691", "MA", "fr", "sms", "oui"])
    sheet.append(["Omar Kane", "771234599", "SN", "wo", "whatsapp", ""])
    data = io.BytesIO()
    book.save(data)
    async with signed_in(services, AMINA) as amina:
        preview = await amina.http.post(
            "/returnees/import",
            data={"csrf": amina.csrf},
            files={"file": ("people.xlsx", data.getvalue(), "application/octet-stream")},
        )
        assert preview.status_code == 200
        assert "Importer 2 personnes" in preview.text
        assert await count(services) == before  # the preview saved nothing
        packed = re.search(r'name="data" value="([^"]+)"', preview.text)
        assert packed is not None
        done = await amina.post(
            "/returnees/import/confirm", {"filename": "people.xlsx", "data": packed.group(1)}
        )
        assert done.status_code == 303
        listing = (await amina.http.get("/returnees")).text
        assert "2 personnes importées." in listing
        assert "Omar Kane" in listing  # in Amina's caseload
    assert await count(services) == before + 2
    async with services.unit_of_work() as db:
        logged = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == "import"))
        ).scalar_one()
        assert logged.detail == "2 returnees from people.xlsx"


async def test_a_caseworker_imports_only_into_her_own_caseload(services: Services) -> None:
    await build_world(services)
    data = f"name,phone,country,language,channel,caseworker\nNadia,0612345691,MA,fr,sms,{MOUSSA}\n"
    async with signed_in(services, AMINA) as amina:
        answer = await amina.http.post(
            "/returnees/import",
            data={"csrf": amina.csrf},
            files={"file": ("p.csv", data.encode(), "text/csv")},
        )
    assert answer.status_code == 422
    assert "Vous ne pouvez importer que dans votre dossier" in answer.text


async def test_an_unreadable_file_is_refused_in_french(services: Services) -> None:
    await build_world(services)
    async with signed_in(services, AMINA) as amina:
        answer = await amina.http.post(
            "/returnees/import",
            data={"csrf": amina.csrf},
            files={"file": ("people.pdf", b"%PDF", "application/pdf")},
        )
        assert answer.status_code == 422
        assert "Fichier illisible : choisissez un fichier .csv ou .xlsx" in answer.text
        broken = await amina.post("/returnees/import/confirm", {"filename": "a.csv", "data": "!!"})
        assert broken.status_code == 400


async def test_a_telegram_link_code_is_stored_hashed_and_shown_once(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        answer = await amina.post(f"/returnees/{world.a1}/link-code")
    assert answer.status_code == 200
    code = re.search(r'<span class="code">([A-Za-z0-9_-]{16})</span>', answer.text)
    assert code is not None
    assert f"https://t.me/returnee_bot?start={code.group(1)}" in answer.text
    assert "<svg" in answer.text  # the QR code, inline
    async with services.unit_of_work() as db:
        row = (await db.execute(select(LinkCode))).scalar_one()
    assert row.code_index == blind_index(code.group(1))
    assert code.group(1) not in row.code_index
    assert row.returnee_id == world.a1
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)


async def test_consent_recorded_here_joins_the_ledger(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        assert (
            await amina.post(f"/returnees/{world.a1}/consent", {"kind": "withdrawn"})
        ).status_code == 303
        page = (await amina.http.get(f"/returnees/{world.a1}")).text
        assert "Consentement retiré" in page
        assert "saisi ici" in page
        assert "retiré son consentement" in page  # no more replies by hand
        assert (
            await amina.post(f"/returnees/{world.a1}/consent", {"kind": "maybe"})
        ).status_code == 422
    async with services.unit_of_work() as db:
        events = (
            (await db.execute(select(ConsentEvent).where(ConsentEvent.returnee_id == world.a1)))
            .scalars()
            .all()
        )
        assert [(e.kind, e.method) for e in events] == [
            ("given", "registration"),
            ("withdrawn", "dashboard"),
        ]
        send = (await db.execute(select(ScheduledSend))).scalar_one()
        assert send.status == "skipped"  # decided already: the ledger leaves it as it was
