"""Which language a page gets: the visitor's choice (a cookie), else the browser's, else French.

The choice is a long-lived cookie of its own, not part of the session: it must hold on the login
page, survive signing out and the session reset at sign-in, and last longer than a session.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.dashboard import translation

router = APIRouter()
YEAR = 365 * 24 * 3600


def cookie_name(https: bool) -> str:
    """The cookie's name; over https, __Host- pins it to this host, Secure, path /."""
    return "__Host-rb_lang" if https else "rb_lang"


def negotiate(chosen: str | None, accept_language: str) -> str:
    """The language to use: the one chosen, else the browser's best offer we speak, else French."""
    if chosen in translation.LANGUAGES:
        return chosen
    ranked = []
    for order, part in enumerate(accept_language.split(",")[:20]):  # a bounded header walk
        tag, _, params = part.partition(";")
        primary = tag.strip().replace("_", "-").split("-")[0].lower()  # en-GB, en_US -> en
        quality = _quality(params)
        if quality > 0 and primary in translation.LANGUAGES:
            ranked.append((-quality, order, primary))
    return min(ranked)[2] if ranked else translation.DEFAULT


def _quality(params: str) -> float:
    """The q weight of one Accept-Language offer (1 when absent, 0 when unreadable)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


class LanguageMiddleware:
    """Set each HTTP request's dashboard language, for templates and Python messages alike."""

    def __init__(self, app: ASGIApp, *, cookie: str) -> None:
        self.app = app
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        token = translation.activate(negotiate(cookies.get(self.cookie), accept))
        try:
            await self.app(scope, receive, send)
        finally:
            translation.deactivate(token)


def _local(path: str) -> bool:
    """True for a path on this site (so the switch is no open redirect)."""
    # browsers read "/\\host" and "//host" as another site, and drop tabs and newlines first
    return path.startswith("/") and "\\" not in path and path.isprintable() and path[1:2] != "/"


@router.get("/language/{code}")
async def switch(
    request: Request, code: str, back: Annotated[str, Query(alias="next")] = "/"
) -> Response:
    """Remember the chosen language for a year, then go back to the page it was chosen on."""
    response = RedirectResponse(back if _local(back) else "/", status_code=303)
    if code in translation.LANGUAGES:
        https = request.app.state.services.settings.public_base_url.startswith("https://")
        response.set_cookie(
            cookie_name(https),
            code,
            max_age=YEAR,
            path="/",
            secure=https,
            httponly=True,
            samesite="lax",
        )
    return response
