"""Key rotation over N returnees (default 10,000) while the service keeps answering.

Run: .venv/bin/python bench/bench_keys.py [--count N] [--database-url sqlite:///...]
Prints the rotation's figures and the service's during it; exit 1 on any read error or a value
left under the old key.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.db import crypto
from bot.db.migrate import upgrade
from bot.keyrotation import PAUSE
from tests.conftest import TEST_KEY, make_settings
from tests.security.harness import offline_services
from tests.security.rotation import (
    Load,
    found_by_phone,
    load_alone,
    readable_with_only,
    ring_with_only,
    rotate_under_load,
    seed,
)


async def run(count: int, url: str, var: Path, pause: float) -> int:
    """Seed, rotate under load, verify; print a table; return the exit status."""
    await asyncio.to_thread(upgrade, url)
    services = offline_services(make_settings(url, var))
    try:
        started = time.perf_counter()
        ids = await seed(services, count)
        seeded = time.perf_counter() - started
        new_key = Fernet.generate_key().decode()
        crypto.configure(f"{new_key},{TEST_KEY}")
        baseline = await load_alone(services, ids, seconds=3.0)
        outcome = await rotate_under_load(services, ids, new_key=new_key, pause=pause)
        ring_with_only(new_key, TEST_KEY)
        readable = await readable_with_only(services, new_key)
        found = await found_by_phone(services, ids)
    finally:
        await services.close()
    report, load = outcome.report, outcome.load
    current = f"{report.current} / {report.conflicts} / {report.unreadable}"
    rows = [
        ("returnees", f"{count:,}"),
        ("seeding (s)", f"{seeded:.1f}"),
        ("values re-encrypted", f"{report.rotated:,}"),
        ("already current / conflicts / unreadable", current),
        ("rotation (s)", f"{report.seconds:.1f}"),
        ("service reads / writes during it", f"{load.reads:,} / {load.writes:,}"),
        ("service errors", f"{len(load.errors)}"),
        ("service latency p50 / p99 / max (ms), rotating", _latency(load)),
        ("service latency p50 / p99 / max (ms), baseline", _latency(baseline)),
        ("values readable with the new key alone", f"{readable:,}"),
        ("found by phone (blind index), of 50", f"{found}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for error in load.errors[:10]:
        print(f"ERROR: {error}")
    ok = not load.errors and report.unreadable == 0 and found == 50
    return 0 if ok else 1


def _latency(load: Load) -> str:
    return " / ".join(f"{load.percentile_ms(q):.1f}" for q in (0.5, 0.99, 1.0))


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pause", type=float, default=PAUSE, help="seconds between batches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench-keys.db"
        return asyncio.run(run(args.count, url, Path(scratch) / "var", args.pause))


if __name__ == "__main__":
    sys.exit(main())
