"""Web security: headers and CSP, the session cookie, timeouts, login throttling, prod secrets."""

import re
import time
from collections import defaultdict, deque
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.config import Config

from bot.dashboard import auth
from bot.services import Services
from bot.settings import SettingsError, load
from tests.bot.webapp import add_user, client, csrf_of, sign_in
from tests.conftest import TEST_KEY
from tests.security.harness import channel_settings, http_client, offline_services

TEMPLATES = Path(__file__).parents[2] / "bot" / "dashboard" / "templates"
STRONG = "k" * 40


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered login failures."""
    monkeypatch.setattr(auth, "_failures", defaultdict(deque))


async def test_every_answer_has_the_security_headers_and_a_strict_csp(
    database_url: str, tmp_path: Path
) -> None:
    services = offline_services(channel_settings(database_url, tmp_path / "var"))
    async with http_client(services) as http:
        answers = [
            await http.get("/login"),
            await http.get("/healthz"),
            await http.get("/nowhere"),
            await http.post("/webhooks/twilio", content=b"x" * 70_000),
        ]
    await services.close()
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert len(answer.headers.get_list("content-security-policy")) == 1


def test_templates_need_no_inline_script() -> None:
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text("utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert "javascript:" not in html, template.name


async def test_session_cookie_is_httponly_lax_and_secure_under_https(
    database_url: str, tmp_path: Path
) -> None:
    services = offline_services(channel_settings(database_url, tmp_path / "var"))
    async with http_client(services) as http:
        cookie = (await http.get("/login")).headers["set-cookie"].lower()
    await services.close()
    assert cookie.startswith("__host-rb_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    assert "domain=" not in cookie


async def test_over_plain_http_the_cookie_is_not_marked_secure(services: Services) -> None:
    async with client(services) as http:
        cookie = (await http.get("/login")).headers["set-cookie"].lower()
    assert cookie.startswith("rb_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "; secure" not in cookie


async def test_an_idle_session_expires(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    await add_user(services, "amina@example.org")
    async with client(services) as http:
        assert (await sign_in(http, "amina@example.org")).status_code == 303
        assert (await http.get("/", follow_redirects=False)).status_code == 200
        later = time.time() + auth.IDLE_SECONDS + 60
        clock = SimpleNamespace(time=lambda: later, monotonic=time.monotonic)
        monkeypatch.setattr(auth, "time", clock)
        expired = await http.get("/", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/login"
    assert auth.IDLE_SECONDS <= 30 * 60
    assert auth.ABSOLUTE_SECONDS <= 12 * 3600


async def test_login_is_throttled_after_five_failures(services: Services) -> None:
    await add_user(services, "amina@example.org")
    async with client(services) as http:
        failures = [
            (await sign_in(http, "amina@example.org", f"wrong password {n}")).status_code
            for n in range(auth.MAX_FAILURES)
        ]
        page = await http.get("/login")
        blocked = await http.post(
            "/login",
            data={
                "email": "amina@example.org",
                "password": "correct horse battery",  # even the right password waits
                "csrf": csrf_of(page.text),
            },
        )
    assert failures == [401] * 5
    assert blocked.status_code == 429


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-but-random"}, "SECRET_KEY"),
        ({"DATA_ENCRYPTION_KEY": None}, "DATA_ENCRYPTION_KEY"),
        ({"DATA_ENCRYPTION_KEY": "secret"}, "DATA_ENCRYPTION_KEY"),
        ({"DATA_INDEX_KEY": "development"}, "DATA_INDEX_KEY"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
    ],
)
def test_production_refuses_missing_or_default_secrets(
    tmp_path: Path, overrides: dict[str, str | None], variable: str
) -> None:
    environ = {"BOT_ENV": "production", "SECRET_KEY": STRONG, "DATA_ENCRYPTION_KEY": TEST_KEY}
    environ.update({k: v for k, v in overrides.items() if v is not None})
    for name in (k for k, v in overrides.items() if v is None):
        environ.pop(name)
    with pytest.raises(SettingsError, match=variable):
        load(Config(environ=environ), var_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing generated in production


def test_production_starts_with_strong_secrets(tmp_path: Path) -> None:
    environ = {
        "BOT_ENV": "production",
        "SECRET_KEY": STRONG,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "DATA_INDEX_KEY": "i" * 40,
    }
    settings = load(Config(environ=environ), var_dir=tmp_path)
    assert settings.production
    assert settings.retention_days == 365
    assert "k" * 10 not in repr(settings)  # secrets never print in clear
