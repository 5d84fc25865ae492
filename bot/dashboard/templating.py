"""The Jinja2 environment of the dashboard: autoescaping, French labels and times, CSRF."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from bot.clock import utcnow
from bot.dashboard.labels import label
from bot.web.security import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in French: "il y a 3 h"."""
    if moment is None:
        return "—"
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 60:
        return "à l'instant"
    if seconds < 3600:
        return f"il y a {int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"il y a {int(seconds // 3600)} h"
    return f"il y a {int(seconds // 86400)} j"


def when(moment: datetime | None, tz: str | None = None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A time as the dashboard shows it, in a zone (UTC by default)."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz or "UTC")).strftime(fmt)


templates.env.filters.update(ago=ago, when=when, label=label)


def flash(request: Request, text: str) -> None:
    """Keep a short confirmation for the next page (after a redirect)."""
    request.session["flash"] = text[:300]


def page(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render a page; every page gets the CSRF token, the signed-in user and any flash."""
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("flash", request.session.pop("flash", None))
    response = templates.TemplateResponse(
        request, name, {"csrf": csrf_token(request), **context}, status_code=status_code
    )
    response.headers["cache-control"] = "no-store"  # pages hold personal data
    return response
