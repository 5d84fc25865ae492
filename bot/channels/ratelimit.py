"""Pace sends under a provider's limits: a rate overall and a rate per recipient."""

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """Reserve the next free slot for a recipient, overall and per recipient; sleep until then."""

    def __init__(
        self,
        per_second: float,
        per_recipient: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Margins: the provider counts from when a request reaches it, a little after our slot.
        self.interval = 1.05 / per_second
        self.recipient_interval = 1.0 / per_recipient + 0.1 if per_recipient else 0.0
        self.clock = clock
        self._next = 0.0
        self._next_for: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def reserve(self, recipient: str) -> float:
        """Return the seconds to wait before sending to `recipient`, booking that slot."""
        async with self._lock:
            now = self.clock()
            slot = max(now, self._next, self._next_for.get(recipient, 0.0))
            self._next = slot + self.interval
            if self.recipient_interval:
                self._next_for[recipient] = slot + self.recipient_interval
                if len(self._next_for) > 10_000:  # forget recipients whose slots have passed
                    self._next_for = {k: v for k, v in self._next_for.items() if v > now}
            return slot - now

    async def wait(self, recipient: str) -> None:
        """Sleep until a send to `recipient` is within the limits."""
        delay = await self.reserve(recipient)
        if delay > 0:
            await asyncio.sleep(delay)

    def slow_down(self, seconds: float) -> None:
        """The provider said 429: push every slot back."""
        self._next = max(self._next, self.clock() + seconds)
