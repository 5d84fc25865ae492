"""In a real browser: a caseworker triages an alert, replies, enrolls, marks attendance and
exports; a returnee's HTML or script shows as text. Screenshots of the main pages go to docs/."""

import asyncio
import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import Checkin, Returnee
from bot.demo import CASEWORKERS, DEMO_PASSWORD
from bot.services import build_services
from tests.browser.conftest import LiveServer, Screenshot
from tests.browser.test_skeleton_browser import sign_in
from tests.conftest import make_settings

pytestmark = pytest.mark.browser
AMINA = CASEWORKERS[0][0]


def say(page: Page, server: LiveServer, who: str, text: str) -> None:
    """Write as a demo returnee through the simulator (their real channel's path)."""
    page.goto(f"{server.url}/simulator")
    page.get_by_role("link", name=who).click()
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".bubble.in").last).to_contain_text(text[:12])


def add_checkins(server: LiveServer, tmp: Path) -> None:
    """Twelve weeks of wellbeing answers for Amina's caseload, straight into the database."""

    async def run() -> None:
        services = build_services(make_settings(server.env["DATABASE_URL"], tmp))
        now = utcnow()
        async with services.unit_of_work() as db:
            people = (await db.execute(select(Returnee).order_by(Returnee.id))).scalars().all()
            for n, person in enumerate(people[:7]):
                for week in range(12):
                    score = 1 + (n + week * 3) % 5
                    at = now - timedelta(weeks=week, days=n % 5, hours=n)
                    db.add(Checkin(returnee_id=person.id, score=score, created_at=at))
        await services.close()

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        pool.submit(asyncio.run, run()).result()


def test_a_caseworker_triages_replies_enrolls_and_exports(
    page: Page, live_server: LiveServer, tmp_path: Path, screenshot: Screenshot
) -> None:
    say(page, live_server, "Fatima Zahra Idrissi", "besoin d'aide")
    say(page, live_server, "Hind Ouazzani", "je n'en peux plus")
    sign_in(page, live_server, AMINA, DEMO_PASSWORD)

    # the inbox: distress first, then the help request, which I take and annotate
    page.goto(f"{live_server.url}/inbox")
    expect(page.locator("li.alert").first).to_contain_text("Détresse")
    expect(page.locator("li.alert").first).to_contain_text("Hind Ouazzani")
    card = page.locator("li.alert", has_text="Fatima Zahra Idrissi")
    expect(card).to_contain_text("Demande d'aide")
    expect(card).to_contain_text(re.compile(r"attend depuis (à l'instant|il y a \d+ min)"))
    card.get_by_role("button", name="M'attribuer").click()
    card = page.locator("li.alert", has_text="Fatima Zahra Idrissi")
    expect(card).to_contain_text("Prise en charge par Amina Benali")
    card.get_by_label(re.compile("Note pour")).fill("Appeler demain matin")
    card.get_by_role("button", name="Ajouter la note").click()
    expect(page.locator("li.alert", has_text="Fatima").locator(".note")).to_contain_text(
        "Appeler demain matin"
    )
    screenshot(page, "inbox")

    # the timeline: her message, a reply by hand, then the alert resolved
    page.locator("li.alert", has_text="Fatima").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Fatima Zahra Idrissi")).to_be_visible()
    expect(page.locator(".ev.in").last).to_contain_text("besoin d'aide")
    reply = "Bonjour Fatima, je vous appelle demain <b>à 10 h</b>."
    page.get_by_label(re.compile("Votre message")).fill(reply)
    page.get_by_role("button", name="Envoyer la réponse").click()
    manual = page.locator(".ev.out", has_text="réponse d'un conseiller").last
    expect(manual.locator(".text")).to_have_text(reply)  # the tags are text
    page.reload()
    expect(page.locator(".ev.out", has_text="réponse d'un conseiller").last).to_contain_text(
        re.compile("envoyé|distribué")
    )
    page.locator("#alertes").scroll_into_view_if_needed()
    screenshot(page, "timeline")
    page.get_by_role("button", name="Résoudre").click()
    page.goto(f"{live_server.url}/inbox")
    expect(page.locator("li.alert", has_text="Fatima")).to_have_count(0)

    # a workshop: create, enroll two people at once, mark one present
    page.goto(f"{live_server.url}/workshops/new")
    page.get_by_label("Titre").fill("Atelier emploi et formation")
    page.get_by_label("Début", exact=True).fill("2030-01-07T10:00")
    page.get_by_label("Fin", exact=True).fill("2030-01-07T16:00")
    page.get_by_label("Lieu").fill("Centre OIM, salle 3")
    page.get_by_role("button", name="Créer l'atelier").click()
    page.get_by_role("link", name="Inscrire des personnes").click()
    page.get_by_label("Fatima Zahra Idrissi").check()
    page.get_by_label("Karim Bennani").check()
    page.get_by_role("button", name="Inscrire les personnes cochées").click()
    expect(page.get_by_role("status")).to_have_text("2 personnes inscrites.")
    expect(page.locator("#roster tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Présent : Fatima Zahra Idrissi").click()
    expect(page.locator("#roster tr", has_text="Fatima")).to_contain_text("Présent·e")
    expect(page.locator(".funnel")).to_contain_text("Invités 2")
    expect(page.locator(".funnel")).to_contain_text("Présents 1")
    screenshot(page, "workshop")

    # the list, and the caseload's wellbeing
    page.goto(f"{live_server.url}/returnees")
    expect(page.locator("table.list tbody tr")).to_have_count(7)  # Amina's caseload only
    screenshot(page, "returnees")
    add_checkins(live_server, tmp_path)
    page.goto(f"{live_server.url}/wellbeing")
    expect(page.locator("svg.chart rect").first).to_be_visible()
    screenshot(page, "wellbeing")

    # exports: attendance as CSV, by name and then pseudonymised
    page.goto(f"{live_server.url}/exports")
    form = page.locator("#export-attendance")
    with page.expect_download() as named:
        form.get_by_role("button", name="Télécharger en CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(named.value.path()).read_text("utf-8-sig"))))
    mine = [r for r in rows if r["workshop"] == "Atelier emploi et formation"]
    assert {(r["name"], r["status"]) for r in mine} == {
        ("Fatima Zahra Idrissi", "attended"),
        ("Karim Bennani", "invited"),
    }
    assert {r["country"] for r in rows} <= {"MA", "TN"}  # Amina's caseload only
    form.get_by_label(re.compile("Pseudonymiser")).check()
    with page.expect_download() as pseudo:
        form.get_by_role("button", name="Télécharger en CSV").click()
    text = Path(pseudo.value.path()).read_text("utf-8-sig")
    assert "Fatima" not in text
    assert text.startswith("pseudonym,country,language,workshop_id")


def test_a_reply_containing_html_or_script_renders_literally(
    page: Page, live_server: LiveServer
) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    payload = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2; alert('x')</script> ok"
    say(page, live_server, "Karim Bennani", payload)
    sign_in(page, live_server, AMINA, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/returnees?q=karim")
    page.get_by_role("link", name="Karim Bennani").click()
    message = page.locator(".ev.in .text", has_text="window.pwned").last
    expect(message).to_have_text(payload)
    expect(message).to_have_attribute("dir", "auto")
    expect(page.locator(".ev.in img")).to_have_count(0)
    page.goto(f"{live_server.url}/")
    expect(page.locator("td.msg", has_text="window.pwned").first).to_have_text(payload)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []


def test_a_caseworker_cannot_open_another_caseload(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, CASEWORKERS[1][0], DEMO_PASSWORD)  # Moussa: Senegal only
    page.goto(f"{live_server.url}/returnees")
    expect(page.locator("table.list")).not_to_contain_text("Fatima")
    answer = page.goto(f"{live_server.url}/returnees/2")  # Fatima's id in the demo
    assert answer is not None
    assert answer.status == 404
