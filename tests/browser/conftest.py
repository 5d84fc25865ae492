"""A live server (the real `returnee-bot serve`) and Debian's Chromium driven by Playwright."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import TEST_KEY

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class LiveServer:
    """A running server and how to reach it."""

    url: str
    env: dict[str, str]
    cwd: Path

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run a command against the same database."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Migrate, load the demo and serve it on a free port, as `make run` does."""
    cwd = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{cwd}/live.db",
        "SECRET_KEY": "k" * 40,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = LiveServer(f"http://127.0.0.1:{port}", env, cwd)
    server.cli("db", "upgrade")
    server.cli("demo", "load")
    # No scheduler timer: what it would send depends on the hour (quiet time starts at 21:00 in
    # the returnee's zone), so the tests start conversations from the simulator instead.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-scheduler"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(server.url)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the live server did not become healthy")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make browser-deps` installs it with apt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 800})
    yield context.new_page()
    context.close()


Screenshot = Callable[[Page, str], None]


@pytest.fixture
def screenshot(update_screenshots: bool) -> Screenshot:
    """Save a picture of a main page in docs/, only when --update-screenshots asks."""

    def take(page: Page, name: str) -> None:
        if update_screenshots:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
