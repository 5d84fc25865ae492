"""The app driven from synchronous code (Hypothesis, benchmarks), on an event loop of its own."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from bot.services import Services
from bot.settings import Settings
from tests.security.harness import http_client, offline_services, snapshot

T = TypeVar("T")


class Live:
    """Services and an HTTP client on one private event loop."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.services: Services = offline_services(settings)
        self.http: httpx.AsyncClient = http_client(self.services)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine to its end on the private loop."""
        return self.loop.run_until_complete(coroutine)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST through the whole ASGI stack."""
        return self.run(self.http.post(path, **kwargs))

    def snapshot(self) -> dict[str, str]:
        """Digest of every table."""
        return self.run(snapshot(self.services))

    def close(self) -> None:
        """Release the client, the engine and the loop."""
        self.run(self.http.aclose())
        self.run(self.services.close())
        self.loop.close()
