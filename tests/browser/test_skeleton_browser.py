"""In a real browser: the simulator answers in the returnee's language; the caseworker sees it."""

import re

import pytest
from playwright.sync_api import Page, expect

from bot.demo import ADMIN
from tests.browser.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{server.url}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_a_returnee_confirms_in_the_simulator_and_the_caseworker_sees_it(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/simulator")
    page.get_by_role("link", name="Fatima Zahra Idrissi").click()
    expect(page.locator(".bubble.out").first).to_contain_text("atelier", timeout=20_000)
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


def test_the_login_page_refuses_a_wrong_password(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, ADMIN[0], "not the password")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("incorrect"))
    screenshot(page, "login")


def test_any_flow_runs_in_the_simulator_in_wolof(page: Page, live_server: LiveServer) -> None:
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
