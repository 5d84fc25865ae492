"""Hostile HTTP requests against the whole app, in process (default 10,000).

Run: .venv/bin/python bench/bench_hostile.py [--count N] [--seed S]
Prints the answers by status, the 5xx count, the rows changed (only the genuine replayed
messages may add a row, once each), latency and memory; exit 1 if any target is missed.
"""

import argparse
import asyncio
import resource
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.db.migrate import upgrade
from tests.security.harness import channel_settings, http_client, offline_services, snapshot
from tests.security.hostile import CHANGED_BY_REPLAYS, changed_rows, requests, send_all


async def run(count: int, seed: int, url: str, var: Path) -> int:
    """Send the mix, check the database and /healthz; print a table; return the exit status."""
    await asyncio.to_thread(upgrade, url)
    services = offline_services(channel_settings(url, var))
    batch = requests(count, seed=seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        async with http_client(services) as http:
            before = await snapshot(services)
            report = await send_all(http, batch)
            health = await http.get("/healthz")
            changed = await changed_rows(services, before)
    finally:
        await services.close()
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    kinds = Counter(item.kind for item in batch)
    print(f"{'kind':<32} count")
    for kind, n in sorted(kinds.items()):
        print(f"{kind:<32} {n}")
    print()
    rows = [
        ("requests", f"{report.sent:,}"),
        ("answers by status", ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items()))),
        ("5xx answers", str(len(report.server_errors))),
        ("rows changed (table: delta)", str(changed or "none")),
        ("expected (replays stored once)", str(CHANGED_BY_REPLAYS)),
        ("/healthz afterwards", f"{health.status_code} {health.text}"),
        ("duration (s)", f"{report.seconds:.1f}"),
        ("latency p99 (ms)", f"{report.p99_ms():.1f}"),
        ("peak RSS growth (MB)", f"{rss_growth_mb:.1f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    ok = not report.server_errors and changed == CHANGED_BY_REPLAYS and health.status_code == 200
    return 0 if ok else 1


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/bench-hostile.db"
        return asyncio.run(run(args.count, args.seed, url, Path(scratch) / "var"))


if __name__ == "__main__":
    sys.exit(main())
