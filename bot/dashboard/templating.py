"""The Jinja2 environment of the dashboard, with autoescaping and the CSRF helper."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from bot.web.security import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def page(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render a page; every page gets the CSRF token and the signed-in user."""
    context.setdefault("user", getattr(request.state, "user", None))
    return templates.TemplateResponse(
        request, name, {"csrf": csrf_token(request), **context}, status_code=status_code
    )
