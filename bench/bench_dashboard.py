"""Time the dashboard's inbox and returnee list with 500 returnees in one caseload (SQLite).

Run: .venv/bin/python bench/bench_dashboard.py [--requests 50]
Builds a fresh database in a temporary folder: 500 returnees of one caseworker, each with ten
messages, three check-ins and an open alert; then requests each page in-process (httpx over
ASGI, the whole middleware stack) and prints p50/p95. Exit 1 when a p95 misses the target.
"""

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from starlette.config import Config

from bot import programme
from bot.accounts import add_user
from bot.app import build_app
from bot.clock import utcnow
from bot.db.migrate import upgrade
from bot.db.models import Alert, Checkin, Message
from bot.services import Services, build_services
from bot.settings import load

PEOPLE = 500
TARGET_P95_MS = 300.0
EMAIL, PASSWORD = "bench@example.org", "bench-password-2026"
KINDS = [("distress", 1), ("help", 2), ("low_wellbeing", 3), ("no_show", 4), ("no_response", 5)]


async def populate(services: Services) -> None:
    """One caseworker, 500 returnees, 5,000 messages, 1,500 check-ins, 500 open alerts."""
    now = utcnow()
    async with services.unit_of_work() as db:
        await add_user(db, EMAIL, "caseworker", PASSWORD, now=now, name="Bench")
        for i in range(PEOPLE):
            new = programme.NewReturnee(
                name=f"Personne {i:03d} Benali",
                phone=f"0612{i:06d}",
                country="MA",
                language=("fr", "ar")[i % 2],
                channel=("sms", "whatsapp")[i % 2],
                caseworker_email=EMAIL,
                consent=True,
            )
            person = await programme.create_returnee(db, new, now=now)
            for n in range(10):
                at = now - timedelta(hours=10 * n + i % 7)
                direction = ("in", "out")[n % 2]
                db.add(
                    Message(
                        returnee_id=person.id, direction=direction, channel=person.channel,
                        text=f"message {n} <b>pour</b> {i}",
                        status="received" if direction == "in" else "delivered",
                        purpose=None if direction == "in" else "reminder",
                        created_at=at, updated_at=at,
                    )
                )  # fmt: skip
            for week in range(3):
                at = now - timedelta(weeks=week, hours=i % 24)
                db.add(Checkin(returnee_id=person.id, score=1 + (i + week) % 5, created_at=at))
            kind, priority = KINDS[i % len(KINDS)]
            db.add(
                Alert(
                    returnee_id=person.id, kind=kind, priority=priority, reason="bench",
                    created_at=now - timedelta(minutes=i),
                )
            )  # fmt: skip


async def measure(services: Services, requests: int) -> dict[str, list[float]]:
    """Sign in, then time each page `requests` times after two warm-up requests."""
    app = build_app(services, sender=False, scheduler=False)
    transport = httpx.ASGITransport(app=app)
    timings: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        form = await http.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = await http.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert signed.status_code == 303, signed.text
        for name, url in (
            ("inbox (100 of 500 alerts)", "/inbox"),
            ("returnee list (100 of 500)", "/returnees"),
            ("returnee list, name search", "/returnees?q=personne+042"),
            ("returnee list, last page", "/returnees?page=5"),
            ("timeline (10 messages)", "/returnees/250"),
        ):
            for _ in range(2):
                assert (await http.get(url)).status_code == 200
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                answer = await http.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200
            timings[name] = times
    return timings


def report(timings: dict[str, list[float]]) -> int:
    """Print the table; return 1 when a p95 misses the target."""
    print(f"\n{'page':<30} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    missed = 0
    for name, times in timings.items():
        cuts = statistics.quantiles(times, n=20, method="inclusive")
        p50, p95 = statistics.median(times), cuts[18]
        flag = "" if p95 < TARGET_P95_MS else "  <- over target"
        missed += p95 >= TARGET_P95_MS
        print(f"{name:<30} {len(times):>4} {p50:>8.1f} {p95:>8.1f} {max(times):>8.1f}{flag}")
    print(f"\ntarget: p95 under {TARGET_P95_MS:.0f} ms with {PEOPLE} returnees in the caseload")
    return 1 if missed else 0


async def main(requests: int) -> int:
    """Build the database, measure, report."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
        environ = {"DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                   "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode()}  # fmt: skip
        services = build_services(load(Config(environ=environ), var_dir=Path(folder)))
        try:
            started = time.perf_counter()
            await populate(services)
            print(f"populated {PEOPLE} returnees in {time.perf_counter() - started:.1f} s")
            return report(await measure(services, requests))
        finally:
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    sys.exit(asyncio.run(main(parser.parse_args().requests)))
