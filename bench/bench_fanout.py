"""Plan and dispatch a reminder wave for 100,000 enrollments: rows per second, peak memory.

Run: python bench/bench_fanout.py [--enrollments N] [--database-url URL]
Targets (scheduler issue): >= 20,000 planned rows/s on SQLite, peak memory < 300 MB.
"""

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, update
from starlette.config import Config

from bot.db import crypto
from bot.db.migrate import upgrade
from bot.db.models import Address, Enrollment, Message, Returnee, ScheduledSend, Workshop
from bot.services import build_services
from bot.settings import load
from scheduler.jobs import PassSummary, dispatch_pass, plan_pass
from scheduler.plan import load_default_plan

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FIRST_REMINDER = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # 10:00 in Dakar


async def seed(services: object, count: int) -> None:
    """Bulk-insert returnees (encrypted like any), their addresses, one workshop, enrollments."""
    uow = services.unit_of_work  # type: ignore[attr-defined]
    async with uow() as db:
        workshop_id = (
            await db.execute(
                insert(Workshop).returning(Workshop.id),
                [
                    {
                        "title": "Atelier",
                        "starts_at": START,
                        "ends_at": START + timedelta(hours=6),
                        "timezone": "Africa/Dakar",
                        "location": "Centre OIM",
                        "status": "scheduled",
                        "version": 1,
                        "created_at": NOW,
                    }
                ],
            )
        ).scalar_one()
    step = 5000
    for first in range(0, count, step):
        people = range(first, min(count, first + step))
        async with uow() as db:
            ids = (
                (
                    await db.execute(
                        insert(Returnee).returning(Returnee.id),
                        [
                            {
                                "name": f"Personne {n}",
                                "phone": f"+22177{n:07d}",
                                "phone_index": f"+22177{n:07d}",
                                "country": "SN",
                                "language": "wo",
                                "channel": "sms",
                                "consent": "given",
                                "opted_out": False,
                                "created_at": NOW,
                                "first_enrolled_at": NOW,
                                "wellbeing_planned_until": NOW + timedelta(days=30),
                            }
                            for n in people
                        ],
                    )
                )
                .scalars()
                .all()
            )
            await db.execute(
                insert(Address),
                [
                    {
                        "returnee_id": i,
                        "channel": "sms",
                        "address": f"+22177{n:07d}",
                        "address_index": f"+22177{n:07d}",
                        "opted_out": False,
                    }
                    for i, n in zip(ids, people, strict=True)
                ],
            )
            await db.execute(
                insert(Enrollment),
                [
                    {
                        "workshop_id": workshop_id,
                        "returnee_id": i,
                        "status": "confirmed",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )


async def run(url: str, count: int) -> dict[str, float]:
    """Seed, then time the plan pass and the dispatch of the first reminder to everyone."""
    key = Fernet.generate_key().decode()
    settings = load(
        Config(environ={"DATABASE_URL": url, "DATA_ENCRYPTION_KEY": key, "SECRET_KEY": "b" * 40}),
        var_dir=Path(tempfile.mkdtemp()),
    )
    crypto.configure(key)
    await asyncio.to_thread(upgrade, url)
    services = build_services(settings, worker_id="bench")
    began = time.perf_counter()
    await seed(services, count)
    seeded = time.perf_counter() - began
    plan = load_default_plan()
    flows = set(services.conversations.registry)
    summary = PassSummary()
    began = time.perf_counter()
    await plan_pass(services.unit_of_work, plan, now=NOW, summary=summary, flows_known=flows)
    planning = time.perf_counter() - began
    async with services.unit_of_work() as db:  # the invitations went out at enrollment
        await db.execute(
            update(ScheduledSend)
            .where(ScheduledSend.purpose == "invitation")
            .values(status="sent", decided_at=NOW)
        )
    wave = PassSummary()
    began = time.perf_counter()
    await dispatch_pass(
        services.unit_of_work, services.conversations, now=FIRST_REMINDER, summary=wave
    )
    dispatching = time.perf_counter() - began
    async with services.unit_of_work() as db:
        planned = (await db.execute(select(func.count()).select_from(ScheduledSend))).scalar_one()
        messages = (await db.execute(select(func.count()).select_from(Message))).scalar_one()
    await services.close()
    assert planned == summary.planned, (planned, summary.planned)
    assert messages == wave.due == count, (messages, wave.due, count)  # the first reminder
    return {
        "enrollments": count,
        "seed_s": round(seeded, 1),
        "planned_rows": planned,
        "plan_s": round(planning, 2),
        "planned_rows_per_s": round(planned / planning),
        "dispatched": wave.due,
        "dispatch_s": round(dispatching, 1),
        "dispatched_per_s": round(wave.due / dispatching),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    """Run the fan-out benchmark and print its table and a BENCH line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/fanout.db"
    figures = asyncio.run(run(url, args.enrollments))
    backend = url.split(":")[0]
    print("| fan-out | backend | enrollments | planned rows/s | dispatched/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    print(
        f"| plan + dispatch a reminder wave | {backend} | {figures['enrollments']} | "
        f"{figures['planned_rows_per_s']} ({figures['planned_rows']} rows in "
        f"{figures['plan_s']} s) | {figures['dispatched_per_s']} ({figures['dispatched']} in "
        f"{figures['dispatch_s']} s) | {figures['peak_rss_mb']} |"
    )
    print("BENCH " + json.dumps({"bench": "fanout", "backend": backend, **figures}))
    ok = figures["planned_rows_per_s"] >= 20_000 and figures["peak_rss_mb"] < 300
    sys.exit(0 if ok or backend != "sqlite" else 1)


if __name__ == "__main__":
    main()
