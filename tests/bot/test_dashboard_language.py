"""The dashboard speaks French first and English too: chosen in the header, else the browser's."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.dashboard import translation
from bot.dashboard.labels import label
from bot.dashboard.language import negotiate
from bot.dashboard.templating import ago, when
from bot.services import Services
from tests.bot.test_dashboard_support import AMINA, build_world, signed_in
from tests.bot.webapp import client

# page -> (a French text, its English text) that the page shows
PAGES = {
    "/login": ("Connexion", "Sign in"),
    "/inbox": ("Alertes à traiter", "Alerts to handle"),
    "/returnees": ("Dernier message reçu", "Last message received"),
    "/returnees/{a1}": ("Créer un code de liaison Telegram", "Create a Telegram link code"),
    "/workshops": ("Passés et annulés", "Past and cancelled"),
    "/exports": ("Télécharger en CSV", "Download as CSV"),
}


@pytest.mark.parametrize(
    ("chosen", "accept", "expected"),
    [
        (None, "", "fr"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "de-DE, en_GB;q=0.8, fr;q=0.7", "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, "en;q=0, de", "fr"),  # q=0: not acceptable
        (None, "en;q=oops", "fr"),
        ("en", "fr", "en"),  # the choice wins over the browser
        ("xx", "en", "en"),  # an unknown choice is ignored
    ],
)
def test_the_language_is_the_choice_else_the_browser_else_french(
    chosen: str | None, accept: str, expected: str
) -> None:
    assert negotiate(chosen, accept) == expected


async def test_key_pages_are_french_by_default_and_english_when_chosen(
    services: Services,
) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        for url, (french, english) in PAGES.items():
            page = (await amina.http.get(url.format(a1=world.a1))).text
            assert '<html lang="fr">' in page, url
            assert french in page, url
            assert english not in page, url
        switch = await amina.http.get("/language/en", params={"next": "/inbox?view=mine"})
        assert switch.status_code == 303
        assert switch.headers["location"] == "/inbox?view=mine"
        assert "Max-Age=31536000" in switch.headers["set-cookie"]
        for url, (french, english) in PAGES.items():
            answer = await amina.http.get(url.format(a1=world.a1))
            assert answer.headers["content-language"] == "en", url
            assert '<html lang="en">' in answer.text, url
            assert english in answer.text, url
            assert french not in answer.text, url


async def test_english_reaches_labels_dates_plurals_and_python_messages(
    services: Services,
) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        await amina.http.get("/language/en")
        inbox = (await amina.http.get("/inbox")).text
        timeline = (await amina.http.get(f"/returnees/{world.a1}")).text
        refused = await amina.post(f"/returnees/{world.a1}/consent", {"kind": "maybe"})
        missing = await amina.http.get("/returnees/999999")
    assert "Asked for help" in inbox  # an alert kind, from labels.py
    assert "1 open" in inbox  # a plural
    assert "raised 3 h ago" in inbox  # ago()
    assert "Morocco · French · SMS" in timeline
    assert "Wellbeing" in timeline
    assert "Bien-être" not in timeline
    assert refused.json() == {"detail": "Choose “given” or “withdrawn”."}
    assert missing.json() == {"detail": "Not found."}


async def test_the_login_page_follows_the_browser_and_its_errors_too(services: Services) -> None:
    async with client(services) as http:
        english = {"accept-language": "en-GB,en;q=0.9"}
        form = await http.get("/login", headers=english)
        assert '<html lang="en">' in form.text
        assert "Email address" in form.text
        wrong = await http.post(
            "/login", data={"email": "x@y.z", "password": "no"}, headers=english
        )
        assert "Form expired, please try again." in wrong.text
        assert "Adresse e-mail" in (await http.get("/login")).text  # no header: French


async def test_the_language_switch_goes_back_only_to_this_site(services: Services) -> None:
    async with client(services) as http:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil"):
            answer = await http.get("/language/en", params={"next": target})
            assert answer.headers["location"] == "/"
        unknown = await http.get("/language/xx", params={"next": "/login"})
        assert unknown.headers["location"] == "/login"
        assert "set-cookie" not in unknown.headers


def test_times_and_labels_read_well_in_both_languages() -> None:
    now = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert when(now, "Africa/Dakar") == "01/12/2026 09:05"
    assert label("declined", "enrollment") == "Refusé"
    token = translation.activate("en")
    try:
        assert when(now, "Africa/Dakar") == "1 Dec 2026, 09:05"  # the month named: no 12 January
        assert when(now.date(), None, "day") == "1 Dec"
        assert ago(now - timedelta(minutes=5), now) == "5 min ago"
        assert ago(now - timedelta(seconds=5), now) == "just now"
        assert label("declined", "enrollment") == "Declined"
        assert label("other", "enrollment") == "other"
    finally:
        translation.deactivate(token)
    assert translation.ngettext("{n} personne inscrite.", "{n} personnes inscrites.", 0) == (
        "{n} personne inscrite."  # French: 0 is singular
    )


def test_stored_reasons_are_shown_in_the_reader_s_language() -> None:
    from bot.dashboard import translation
    from bot.dashboard.labels import reason

    assert reason("asked for help") == "a demandé de l'aide"  # French by default
    assert reason("expired: its deadline 2026-12-01T10:00:00+00:00 passed before it was sent") == (
        "expiré : l'échéance est passée avant l'envoi"
    )
    assert reason("quiet_hours_until_after_start") == "sauté : heures calmes jusqu'après le début"
    assert reason("message could not be delivered (30003)") == "message non distribué (code 30003)"
    assert reason("something new") == "something new"  # unknown: shown as stored
    token = translation.activate("en")
    try:
        assert reason("needs help to come to the workshop") == "needs help to come to the workshop"
        assert reason("blackout:friday_prayer_until_after_start") == (
            "skipped: no-send period (friday_prayer) until after the start"
        )
        assert reason("opted_out") == "the person wrote STOP"
    finally:
        translation.deactivate(token)
