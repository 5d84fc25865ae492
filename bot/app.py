"""build_app(services) -> the web app: webhooks, dashboard, JSON API, simulator, health."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from bot.api.routes import router as api_router
from bot.channels import webhooks
from bot.clock import utcnow
from bot.dashboard import auth, language, routes, simulator
from bot.services import Services
from bot.web import health
from bot.web.security import BodyLimit, SecurityHeaders
from scheduler.plan import load_default_plan
from scheduler.runner import build_scheduler

STATIC = Path(__file__).parent / "dashboard" / "static"


def build_api() -> FastAPI:
    """The JSON API, mounted at /api/v1 with its own OpenAPI description."""
    api = FastAPI(
        title="returnee-bot API",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.include_router(api_router)
    return api


def build_app(services: Services, *, sender: bool = True, scheduler: bool = True) -> FastAPI:
    """Assemble the web app; the lifespan runs the outbox sender and the scheduler timer."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(services.outbox.run(clock=utcnow))] if sender else []
        timer = (
            build_scheduler(
                services.unit_of_work,
                services.conversations,
                services.outbox,
                load_default_plan(),
                utcnow,
            )
            if scheduler
            else None
        )
        if timer is not None:
            timer.start()
        try:
            yield
        finally:
            if timer is not None:
                timer.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.close()

    app = FastAPI(
        title="returnee-bot", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.services = services
    api = build_api()
    api.state.services = services
    app.include_router(webhooks.router)  # first: routes are tried in order, this is the hot path
    for router in (health.router, auth.router, language.router, routes.router, simulator.router):
        app.include_router(router)
    app.mount("/api/v1", api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(auth.LoginRequired, _to_login)
    api.add_exception_handler(RequestValidationError, _unprocessable)
    https = services.settings.public_base_url.startswith("https://")
    app.add_middleware(
        SessionMiddleware,
        secret_key=str(services.settings.secret_key),
        session_cookie="__Host-rb_session" if https else "rb_session",  # host-only, Secure
        max_age=auth.ABSOLUTE_SECONDS,
        same_site="lax",
        https_only=https,
    )
    app.add_middleware(language.LanguageMiddleware, cookie=language.cookie_name(https))
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, hsts=https)
    return app


async def _to_login(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


async def _unprocessable(request: Request, exc: Exception) -> Response:
    """Name the field in a 422, without echoing the (possibly personal) input back."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)
