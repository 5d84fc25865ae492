"""The limiter never lets a provider count more than its limit, however late requests arrive."""

import asyncio
import itertools
import random
import time

from bot.channels.ratelimit import RateLimiter


async def _send(limiter: RateLimiter, to: str, arrivals: list[tuple[str, float]]) -> None:
    """A request that reaches the provider late and is answered later still."""
    async with limiter.slot(to):
        await asyncio.sleep(random.uniform(0, 0.04))  # on its way to the provider
        arrivals.append((to, time.monotonic()))  # where the provider counts it
        await asyncio.sleep(random.uniform(0, 0.04))  # the answer on its way back


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of times that fall within one window of that length."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times))


async def test_overall_rate_holds_under_random_latency() -> None:
    random.seed(7)
    limiter = RateLimiter(20)
    arrivals: list[tuple[str, float]] = []
    await asyncio.gather(*(_send(limiter, f"chat{n}", arrivals) for n in range(50)))
    assert len(arrivals) == 50
    assert most_in_any_window([t for _, t in arrivals], 1.0) <= 20


async def test_each_recipient_is_spaced_by_its_own_period() -> None:
    random.seed(8)
    limiter = RateLimiter(100, per_recipient=10)
    arrivals: list[tuple[str, float]] = []
    await asyncio.gather(*(_send(limiter, f"chat{n % 2}", arrivals) for n in range(10)))
    for chat in ("chat0", "chat1"):
        times = sorted(t for to, t in arrivals if to == chat)
        assert len(times) == 5
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1


async def test_a_429_pushes_every_later_send_back() -> None:
    limiter = RateLimiter(1000)
    limiter.slow_down(0.3)
    started = time.monotonic()
    async with limiter.slot("chat"):
        waited = time.monotonic() - started
    assert waited >= 0.3
