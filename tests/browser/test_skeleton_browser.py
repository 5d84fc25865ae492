"""In a real browser: the simulator answers in the returnee's language; the caseworker sees it,
in French first or in English."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.demo import ADMIN
from tests.browser.conftest import LiveServer, Screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{server.url}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_a_returnee_confirms_in_the_simulator_and_the_caseworker_sees_it(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    page.goto(f"{live_server.url}/simulator")
    page.get_by_role("link", name="Fatima Zahra Idrissi").click()
    page.get_by_label("Démarrer une conversation").select_option("invitation")
    page.get_by_role("button", name="Démarrer").click()
    expect(page.locator(".bubble.out").first).to_contain_text("atelier")
    page.get_by_role("button", name="Oui").click()
    expect(page.locator(".bubble.in").last).to_contain_text("Oui")
    expect(page.locator(".bubble.out").last).to_contain_text("Merci")
    page.get_by_label("Message").fill("<script>alert('x')</script> merci")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".bubble.in").last).to_contain_text("<script>alert('x')</script>")
    screenshot(page, "simulator")

    sign_in(page, live_server, *ADMIN)
    expect(page.get_by_role("heading", name="Réponses récentes")).to_be_visible()
    row = page.locator("tr", has_text="Fatima Zahra Idrissi").filter(has_text="Oui")
    expect(row).to_contain_text("confirmed")
    expect(page.locator("td.msg", has_text="<script>")).to_have_count(1)  # shown as text
    screenshot(page, "replies")


def test_the_login_page_refuses_a_wrong_password(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    sign_in(page, live_server, ADMIN[0], "not the password")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("incorrect"))
    screenshot(page, "login")


def test_any_flow_runs_in_the_simulator_in_wolof(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    page.goto(f"{live_server.url}/simulator")
    page.get_by_role("link", name="Mamadou Fall").click()
    page.get_by_label("Démarrer une conversation").select_option("wellbeing")
    page.get_by_role("button", name="Démarrer").click()
    expect(page.locator(".bubble.out").last).to_contain_text("Baaxul")
    page.get_by_label("Message").fill("2")
    page.get_by_role("button", name="Envoyer").click()
    page.get_by_label("Message").fill("waaw")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".bubble.out").last).to_contain_text("conseiller")
    screenshot(page, "simulator-wolof-wellbeing")


def test_a_caseworker_switches_the_dashboard_to_english_and_back(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Email address").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Recent replies")).to_be_visible()
    page.get_by_role("link", name="Workshops").click()
    expect(page.get_by_role("heading", name="Workshops", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()
    page.get_by_role("link", name="FR", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/workshops")  # back on the same page
    expect(page.get_by_role("heading", name="Ateliers", exact=True)).to_be_visible()


def test_an_english_browser_gets_english_until_french_is_chosen(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="FR", exact=True).click()
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    context.close()
