"""Caseworker sign-in: session cookie, idle and absolute timeouts, throttled failures."""

import time
from collections import defaultdict, deque
from typing import Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from bot import accounts
from bot.clock import utcnow
from bot.dashboard.templating import page
from bot.dashboard.translation import gettext as _
from bot.db.models import AuditEvent, User
from bot.web.security import csrf_ok

router = APIRouter()
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
MAX_FAILURES = 5  # per address and per account in FAILURE_WINDOW
FAILURE_WINDOW = 15 * 60
_failures: dict[str, deque[float]] = defaultdict(deque)


class LoginRequired(Exception):
    """The page needs a signed-in user."""


def _throttled(*keys: str) -> bool:
    now = time.monotonic()
    for key in keys:
        window = _failures.get(key)  # .get: looking up must not grow the table (memory DoS)
        if window is None:
            continue
        while window and window[0] < now - FAILURE_WINDOW:
            window.popleft()
        if not window:
            del _failures[key]
        elif len(window) >= MAX_FAILURES:
            return True
    return False


async def current_user(request: Request) -> User:
    """Return the signed-in user, enforcing session timeouts; raise LoginRequired otherwise."""
    session: dict[str, Any] = request.session
    now = time.time()
    uid, started, seen = session.get("uid"), session.get("started", 0), session.get("seen", 0)
    if not uid or now - started > ABSOLUTE_SECONDS or now - seen > IDLE_SECONDS:
        session.pop("uid", None)
        raise LoginRequired
    async with request.app.state.services.unit_of_work() as db:
        user: User | None = await db.get(User, int(uid))
    if user is None or not user.active:
        session.clear()
        raise LoginRequired
    session["seen"] = now
    request.state.user = user
    return user


@router.get("/login")
async def login_form(request: Request) -> Response:
    """Show the sign-in form."""
    return page(request, "login.html", error=None)


@router.post("/login")
async def login(
    request: Request, email: str = Form(""), password: str = Form(""), csrf: str = Form("")
) -> Response:
    """Check the password (argon2id), then open a session."""
    if not csrf_ok(request, csrf):
        return page(
            request, "login.html", status_code=403, error=_("Formulaire expiré, réessayez.")
        )
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"email:{email.strip().lower()}")
    if _throttled(*keys):
        return page(
            request,
            "login.html",
            status_code=429,
            error=_("Trop de tentatives. Réessayez dans quelques minutes."),
        )
    services = request.app.state.services
    async with services.unit_of_work() as db:
        user = await accounts.authenticate(db, email, password)
        db.add(
            AuditEvent(
                actor=email.strip().lower()[:254],
                action="login" if user else "login_failed",
                created_at=utcnow(),
            )
        )
    if user is None:
        for key in keys:
            _failures[key].append(time.monotonic())
        return page(
            request, "login.html", status_code=401, error=_("Adresse ou mot de passe incorrect.")
        )
    request.session.clear()  # a fresh session on sign-in: no fixation
    now = time.time()
    request.session.update(uid=user.id, started=now, seen=now)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    """Close the session."""
    if csrf_ok(request, csrf):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)
