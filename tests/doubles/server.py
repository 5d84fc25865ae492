"""Plumbing shared by the test doubles: serving an ASGI app in a thread, sliding-window limits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

_STARTUP_TIMEOUT = 5.0
_SHUTDOWN_TIMEOUT = 5.0


class ServerStartError(RuntimeError):
    """The server thread died or did not start in time (its log says why)."""

    def __init__(self) -> None:
        super().__init__("the test server did not start within 5 s; see the uvicorn log")


class NotServingError(RuntimeError):
    """A double's base_url was read outside its serve() block."""

    def __init__(self) -> None:
        super().__init__("the double is not serving: use `with double.serve():`")


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A server that is accepting connections on 127.0.0.1."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        """Return the root URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"


@contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[RunningServer]:
    """Run `app` until the block ends; the port is bound before the thread starts."""
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted sockets (else +40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _ThreadServer(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield RunningServer("127.0.0.1", port)
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT)
        sock.close()


class _ThreadServer(uvicorn.Server):
    """uvicorn.Server that notices `should_exit` within 10 ms instead of 100 ms."""

    async def main_loop(self) -> None:
        """Tick every 10 ms until asked to exit."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)


def _config(app: ASGIApp) -> uvicorn.Config:
    # h11 and no websockets: the same protocol stack on every machine, and no optional imports.
    return uvicorn.Config(
        app,
        log_level="warning",
        http="h11",
        ws="none",
        lifespan="auto",
        timeout_graceful_shutdown=1,
    )


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise ServerStartError
        if time.monotonic() > deadline:
            raise ServerStartError
        time.sleep(0.005)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` accepted calls in any window of `per_seconds` seconds."""

    count: int
    per_seconds: float = 1.0


class SlidingWindow:
    """Times of the accepted calls per key, checked against one RateLimit."""

    def __init__(self, limit: RateLimit | None) -> None:
        self.limit = limit
        self._times: defaultdict[Hashable, deque[float]] = defaultdict(deque)

    def wait_needed(self, key: Hashable, now: float) -> float:
        """Return how many seconds `key` must wait before its next call (0.0: none)."""
        if self.limit is None:
            return 0.0
        times = self._times[key]
        while times and times[0] <= now - self.limit.per_seconds:
            times.popleft()
        if len(times) < self.limit.count:
            return 0.0
        return times[0] + self.limit.per_seconds - now

    def record(self, key: Hashable, now: float) -> None:
        """Count an accepted call."""
        self._times[key].append(now)
