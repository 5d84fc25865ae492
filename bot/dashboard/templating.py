"""The Jinja2 environment of the dashboard: autoescaping, gettext, labels and times, CSRF."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from bot.clock import utcnow
from bot.dashboard import translation
from bot.dashboard.labels import label, reason
from bot.dashboard.translation import gettext as _
from bot.i18n import format_pattern
from bot.web.security import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# CLDR patterns per style: French keeps the familiar 01/12/2026; English names the month, so
# that 01/12 is never read as January 12th.
DATE_STYLES = {
    "fr": {"datetime": "dd/MM/y HH:mm", "date": "dd/MM/y", "day": "dd/MM", "short": "dd/MM HH:mm"},
    "en": {"datetime": "d MMM y, HH:mm", "date": "d MMM y", "day": "d MMM", "short": "d MMM HH:mm"},
}


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the request's language: "il y a 3 h", "3 h ago"."""
    if moment is None:
        return "—"
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 60:
        return _("à l'instant")
    if seconds < 3600:
        return _("il y a {n} min").format(n=int(seconds // 60))
    if seconds < 48 * 3600:
        return _("il y a {n} h").format(n=int(seconds // 3600))
    return _("il y a {n} j").format(n=int(seconds // 86400))


def when(moment: date | None, tz: str | None = None, style: str = "datetime") -> str:
    """A date or a time as the dashboard shows it, in a zone (UTC by default)."""
    if moment is None:
        return "—"
    lang = translation.current()
    return format_pattern(moment, DATE_STYLES[lang][style], lang=lang, tz=tz or "UTC")


def _install(env: Any) -> None:  # Any: the i18n extension adds its methods at run time
    """Give templates {% trans %} and _(); the callables read each request's language."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # a msgid is not changed by the template's layout
    env.install_gettext_callables(
        gettext=translation.gettext,
        ngettext=translation.ngettext,
        pgettext=translation.pgettext,
        npgettext=translation.npgettext,
        newstyle=True,  # %(name)s placeholders, escaped values
    )
    env.filters.update(ago=ago, when=when, label=label, reason=reason)
    env.globals["languages"] = translation.LANGUAGES


_install(templates.env)


def flash(request: Request, text: str) -> None:
    """Keep a short confirmation for the next page (after a redirect)."""
    request.session["flash"] = text[:300]


def page(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render a page with the CSRF token, the signed-in user, any flash and the language."""
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("flash", request.session.pop("flash", None))
    lang = translation.current()
    response = templates.TemplateResponse(
        request,
        name,
        {"csrf": csrf_token(request), "lang": lang, **context},
        status_code=status_code,
    )
    response.headers["cache-control"] = "no-store"  # pages hold personal data
    response.headers["content-language"] = lang
    return response
