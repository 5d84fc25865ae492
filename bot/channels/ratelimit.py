"""Pace sends under a provider's limits: a rate overall and a rate per recipient.

A provider counts a request when it reaches it: after we let it go, before its answer is back.
`async with limiter.slot(to): <send>` uses both ends: a send counts against the limits from the
moment it is let go until its answer is back plus the limit's period, so the provider can never
count more than its limit, however late a request reaches it, and no safety margin is needed.
"""

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable

_FORGET_AFTER = 10_000  # recipients remembered before the ones whose slots have passed are dropped


class RateLimiter:
    """Book evenly spaced slots, overall and per recipient; hold each place until answered."""

    def __init__(
        self,
        per_second: float,
        per_recipient: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second
        self.burst = max(1, math.floor(per_second))  # at most `burst` sends per `period`
        self.period = self.burst / per_second
        self.recipient_period = 1.0 / per_recipient if per_recipient else 0.0
        self.clock = clock
        self._next = 0.0
        self._next_for: dict[str, float] = {}
        self._paused_until = 0.0
        self._counted: list[float] = []  # until when each send counts (inf: in flight)
        self._counted_for: dict[str, float] = {}
        self._answered = asyncio.Event()

    def reserve(self, recipient: str) -> float:
        """Return the seconds to wait before sending to `recipient`, booking that slot."""
        now = self.clock()
        slot = max(now, self._next, self._next_for.get(recipient, 0.0))
        self._next = slot + self.interval
        if self.recipient_period:
            self._next_for[recipient] = slot + self.recipient_period
            if len(self._next_for) > _FORGET_AFTER:
                self._next_for = {k: v for k, v in self._next_for.items() if v > now}
        return slot - now

    @contextlib.asynccontextmanager
    async def slot(self, recipient: str) -> AsyncIterator[None]:
        """Hold a place within the limits for one send, from letting it go to its answer."""
        delay = self.reserve(recipient)
        if delay > 0:
            await asyncio.sleep(delay)
        await self._until_free(recipient)
        self._counted.append(math.inf)
        if self.recipient_period:
            self._counted_for[recipient] = math.inf
        try:
            yield
        finally:
            answered = self.clock()
            self._counted.remove(math.inf)
            self._counted.append(answered + self.period)
            if self.recipient_period:
                self._counted_for[recipient] = answered + self.recipient_period
            self._answered.set()
            self._answered = asyncio.Event()

    async def _until_free(self, recipient: str) -> None:
        while (hold := self._hold(recipient, self.clock())) > 0:
            if math.isinf(hold):  # the place frees when an answer comes back
                await self._answered.wait()
            else:
                await asyncio.sleep(hold)

    def _hold(self, recipient: str, now: float) -> float:
        """Seconds until `recipient` may be sent to (inf: when an answer comes back)."""
        self._counted = [until for until in self._counted if until > now]
        ready = self._paused_until
        if len(self._counted) >= self.burst:
            ready = max(ready, sorted(self._counted)[len(self._counted) - self.burst])
        if self.recipient_period:
            ready = max(ready, self._counted_for.get(recipient, 0.0))
        if len(self._counted_for) > _FORGET_AFTER:
            self._counted_for = {k: v for k, v in self._counted_for.items() if v > now}
        return ready - now

    def slow_down(self, seconds: float) -> None:
        """The provider said 429: push every slot back, including the ones already booked."""
        now = self.clock()
        self._next = max(self._next, now + seconds)
        self._paused_until = max(self._paused_until, now + seconds)
