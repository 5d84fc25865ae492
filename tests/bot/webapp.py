"""Helpers to drive the web app in-process (httpx over ASGI), signed in or with a token."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bot import accounts
from bot.app import build_app
from bot.services import Services
from tests.conftest import FIXED_NOW

PASSWORD = "correct horse battery"


@asynccontextmanager
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, without the sender task or the scheduler timer."""
    app = build_app(services, sender=False, scheduler=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


async def api_token(services: Services) -> dict[str, str]:
    """Create an API token and return the Authorization header."""
    async with services.unit_of_work() as db:
        token = await accounts.create_token(db, "tests", now=FIXED_NOW)
    return {"Authorization": f"Bearer {token}"}


async def add_user(services: Services, email: str, role: str = "caseworker") -> None:
    """Create a dashboard account with the test password."""
    async with services.unit_of_work() as db:
        await accounts.add_user(db, email, role, PASSWORD, now=FIXED_NOW)


def csrf_of(html: str) -> str:
    """Pull the CSRF token out of a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the login form."""
    form = await http.get("/login")
    return await http.post(
        "/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )
