"""A run of hostile requests against the whole app: no 5xx, no row changed, still serving.

The test sends the issue's 10,000 (about 30 s on SQLite); bench/bench_hostile.py runs the same
mix with any --count and prints the figures (status mix, p99 latency, memory).
"""

from collections import Counter
from pathlib import Path

from bot.services import Services
from tests.security.harness import channel_settings, http_client, offline_services, snapshot
from tests.security.hostile import CHANGED_BY_REPLAYS, changed_rows, requests, send_all

COUNT = 10_000


async def test_hostile_requests_get_no_5xx_and_change_nothing(
    database_url: str, tmp_path: Path
) -> None:
    services: Services = offline_services(channel_settings(database_url, tmp_path / "var"))
    batch = requests(COUNT, seed=7)
    kinds = Counter(item.kind for item in batch)
    assert kinds["twilio_valid_replay"] > 1
    assert kinds["telegram_valid_replay"] > 1
    try:
        async with http_client(services) as http:
            before = await snapshot(services)
            report = await send_all(http, batch)
            health = await http.get("/healthz")
            changed = await changed_rows(services, before)
    finally:
        await services.close()
    assert report.sent == COUNT
    assert report.server_errors == []
    assert all(400 <= s < 500 for s in report.statuses if s not in (200, 303)), report.statuses
    assert changed == CHANGED_BY_REPLAYS  # each genuine message stored once, nothing else
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
