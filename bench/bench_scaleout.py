"""Scheduler and outbox sender with 1, 2 and 4 worker processes on PostgreSQL.

Each run starts from an empty database, seeds and plans N enrollments whose invitations are due,
then starts K `returnee-bot tick` processes at once (dispatch and drain through the simulator
channel, so the provider is not the bottleneck) and measures messages sent per second (process
start-up included) and duplicates.
Run: python bench/bench_scaleout.py [--enrollments N] [--admin-url postgresql://postgres@127.0.0.1/postgres]
Target (issue 8): 0 duplicates, and >= 1.6x from 1 to 2 processes.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from bench_fanout import NOW, seed
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from starlette.config import Config

from bot.db import crypto
from bot.db.migrate import upgrade
from bot.db.models import Message, OutboxItem
from bot.services import build_services
from bot.settings import load
from scheduler.jobs import PassSummary, plan_pass
from scheduler.plan import load_default_plan

DB = "returnee_bench"


async def fresh_database(admin_url: str, name: str = DB) -> str:
    """Drop and create a bench database; return its URL."""
    connection = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://"))
    await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await connection.execute(f"CREATE DATABASE {name}")
    await connection.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def one_run(admin_url: str, count: int, workers: int, key: str) -> dict[str, float]:
    """Seed, run `workers` tick processes at once, count what went out."""
    url = await fresh_database(admin_url)
    settings = load(
        Config(environ={"DATABASE_URL": url, "DATA_ENCRYPTION_KEY": key, "SECRET_KEY": "b" * 40}),
        var_dir=Path(tempfile.mkdtemp()),
    )
    crypto.configure(key)
    await asyncio.to_thread(upgrade, url)
    services = build_services(settings, worker_id="bench")
    await seed(services, count)
    # Plan first: the processes then share the dispatch and the sending, which is what scales
    # (a one-shot plan of a few thousand rows is one batch, taken by whichever process is first).
    await plan_pass(
        services.unit_of_work,
        load_default_plan(),
        now=NOW,
        summary=PassSummary(),
        flows_known=set(services.conversations.registry),
    )
    env = {**os.environ, "DATABASE_URL": url, "DATA_ENCRYPTION_KEY": key, "SECRET_KEY": "b" * 40}
    began = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "tick",
            "--now",
            NOW.isoformat(),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    outputs = [await p.communicate() for p in processes]
    elapsed = time.perf_counter() - began
    failed = [
        err.decode()[-300:] for (_, err), p in zip(outputs, processes, strict=True) if p.returncode
    ]
    async with services.unit_of_work() as db:
        sent = (
            await db.execute(select(func.count()).where(OutboxItem.status == "sent"))
        ).scalar_one()
        per_person = (
            await db.execute(
                select(func.count()).select_from(
                    select(Message.returnee_id)
                    .where(Message.direction == "out")
                    .group_by(Message.returnee_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        ).scalar_one()
    await services.close()
    return {
        "workers": workers,
        "sent": sent,
        "seconds": round(elapsed, 2),
        "per_s": round(sent / elapsed),
        "duplicates": per_person,
        "failed_processes": len(failed),
    }


def main() -> None:
    """Run 1, 2 and 4 workers; print the table and a BENCH line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=3000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    key = Fernet.generate_key().decode()
    runs = [asyncio.run(one_run(args.admin_url, args.enrollments, k, key)) for k in (1, 2, 4)]
    base = runs[0]["per_s"]
    print(
        "| scale-out (PostgreSQL) | processes | messages | seconds | messages/s | speed-up "
        "| duplicates |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| plan + dispatch + send | {run['workers']} | {run['sent']} | {run['seconds']} | "
            f"{run['per_s']} | {run['per_s'] / base:.2f}x | {run['duplicates']} |"
        )
    print("BENCH " + json.dumps({"bench": "scaleout", "runs": runs}))
    ok = all(
        r["duplicates"] == 0 and r["failed_processes"] == 0 and r["sent"] == args.enrollments
        for r in runs
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
