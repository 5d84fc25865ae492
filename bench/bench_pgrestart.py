"""PostgreSQL restarted in the middle of a wave: the worker recovers by itself and loses nothing.

Run: .venv/bin/python bench/bench_pgrestart.py [--messages 500]
                                               [--admin-url postgresql://postgres@127.0.0.1/postgres]

Queues one SMS for each of N returnees in a fresh PostgreSQL database, starts
`python -m bot worker` (scheduler timer + outbox sender) against the Twilio double (10 SMS/s),
and once a quarter of the wave has been accepted restarts the machine's PostgreSQL cluster
(`pg_ctlcluster ... restart`: run this bench only where that is acceptable). Then waits until
every row is "sent". Checks: the worker never exited; every returnee got their message (0 lost);
duplicates no more than the rows in flight at the restart, each marked `recovered_at`; how long
after PostgreSQL came back the wave finished. Prints Markdown rows and a `BENCH {...}` line;
exit 1 if a target is missed.
"""

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
from cryptography.fernet import Fernet
from starlette.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_scaleout import fresh_database

from bot import programme
from bot.clock import utcnow
from bot.db.migrate import upgrade
from bot.effects import Turn, queue_message
from bot.services import build_services
from bot.settings import load
from tests.doubles import TwilioDouble

DB = "returnee_bench_restart"
SMS_FROM = "+33755550100"
WAVE_SECONDS = 240.0  # a wave not finished by then has failed


def phone(n: int) -> str:
    """The n-th returnee's number (Senegalese mobile, E.164)."""
    return f"+22177{n:07d}"


async def queue_wave(env: dict[str, str], count: int) -> None:
    """Create `count` returnees and queue one SMS for each."""
    services = build_services(load(Config(environ=env)), worker_id="bench-setup", channels={})
    now = utcnow()
    try:
        async with services.unit_of_work() as db:
            for n in range(count):
                returnee = await programme.create_returnee(
                    db,
                    programme.NewReturnee(
                        name=f"Personne {n}",
                        phone=phone(n),
                        country="SN",
                        language="fr",
                        channel="sms",
                        consent=True,
                    ),
                    now=now,
                )
                turn = Turn(now=now, key=f"bench:restart:{n}", purpose="reminder")
                await queue_message(db, returnee, turn, text="Rappel : atelier jeudi a 14h30.")
    finally:
        await services.close()


async def statuses(url: str) -> Counter[str] | None:
    """Outbox rows by status, or None while the database does not answer."""
    try:
        connection = await asyncpg.connect(url.replace("postgresql://", "postgres://"), timeout=2)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        rows = await connection.fetch("SELECT status, count(*) FROM outbox GROUP BY status")
        recovered = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE recovered_at IS NOT NULL"
        )
    except (OSError, asyncpg.PostgresError):
        return None
    finally:
        await connection.close()
    counts = Counter({r["status"]: int(r["count"]) for r in rows})
    counts["recovered"] = int(recovered)
    return counts


def restart_postgres() -> float:
    """Restart the machine's PostgreSQL cluster; return how long it was down (seconds)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    started = time.perf_counter()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.perf_counter() - started


async def run(args: argparse.Namespace, scratch: Path, double: TwilioDouble) -> dict[str, object]:
    """Queue, start the worker, restart PostgreSQL mid-wave, wait for the end; the figures."""
    url = await fresh_database(args.admin_url, DB)
    env = {
        "DATABASE_URL": url,
        "BOT_ENV": "development",
        "VAR_DIR": str(scratch / "var"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # status callbacks: none are posted
        "TWILIO_ACCOUNT_SID": double.account_sid,
        "TWILIO_AUTH_TOKEN": double.auth_token,
        "TWILIO_API_BASE": double.base_url,
        "TWILIO_SMS_FROM": SMS_FROM,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    await asyncio.to_thread(upgrade, url)
    await queue_wave(env, args.messages)
    log = (scratch / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        env={**os.environ, **env},
        cwd=scratch,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    began = time.perf_counter()
    figures: dict[str, object] = {"bench": "pgrestart", "messages": args.messages}
    try:
        while len(double.messages) < args.messages // 4:
            if time.perf_counter() - began > WAVE_SECONDS or worker.returncode is not None:
                raise RuntimeError("the wave did not start")
            await asyncio.sleep(0.05)
        before = await statuses(url) or Counter()
        figures["sent_before_restart"] = len(double.messages)
        figures["in_flight_at_restart"] = before["sending"]
        figures["down_s"] = round(await asyncio.to_thread(restart_postgres), 1)
        back = time.perf_counter()
        counts: Counter[str] | None = None
        while time.perf_counter() - began < WAVE_SECONDS:
            counts = await statuses(url)
            if counts is not None and counts["sent"] == args.messages:
                break
            await asyncio.sleep(0.25)
        figures["finished_s_after_restart"] = round(time.perf_counter() - back, 1)
        figures["worker_alive"] = worker.returncode is None
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), timeout=30)
        log.close()
    counts = counts or Counter()
    to = Counter(m.to for m in double.messages)
    figures["rows_sent"] = counts["sent"]
    figures["rows_not_sent"] = args.messages - counts["sent"]
    figures["lost"] = sum(1 for n in range(args.messages) if phone(n) not in to)
    figures["duplicates"] = sum(c - 1 for c in to.values())
    figures["marked_recovered"] = counts["recovered"]
    figures["drain_failures_logged"] = (
        (scratch / "worker.log").read_text().count("outbox drain failed")
    )
    return figures


def report(f: dict[str, object]) -> bool:
    """Print the rows and the BENCH line; return whether the targets held."""
    in_flight = int(f["in_flight_at_restart"])  # type: ignore[call-overload]
    duplicates = int(f["duplicates"])  # type: ignore[call-overload]
    checks = {
        "worker_alive": bool(f["worker_alive"]),
        "lost": f["lost"] == 0 and f["rows_not_sent"] == 0,
        "duplicates": duplicates <= in_flight and int(f["marked_recovered"]) >= duplicates,  # type: ignore[call-overload]
    }
    print("| PostgreSQL restart mid-wave | result | check |")
    print("|---|---|---|")
    print(
        f"| wave of {f['messages']} SMS at 10/s, restart after {f['sent_before_restart']}"
        f" accepted | PostgreSQL down {f['down_s']} s; {f['in_flight_at_restart']} rows"
        f" in flight; {f['drain_failures_logged']} failed drains logged | |"
    )
    print(
        f"| worker process | {'kept running' if f['worker_alive'] else 'EXITED'} | "
        f"{_word(checks['worker_alive'])} |"
    )
    print(
        f"| messages lost | {f['lost']} ({f['rows_not_sent']} rows not sent) | "
        f"{_word(checks['lost'])} |"
    )
    print(
        f"| duplicates sent | {duplicates} ({f['marked_recovered']} rows marked recovered_at) |"
        f" <= {in_flight} in flight: {_word(checks['duplicates'])} |"
    )
    print(f"| wave finished after PostgreSQL came back | {f['finished_s_after_restart']} s | |")
    f["targets_held"] = all(checks.values())
    print("BENCH " + json.dumps(f))
    return all(checks.values())


def _word(ok: bool) -> str:
    return "held" if ok else "MISSED"


def main() -> int:
    """Parse the arguments, serve the double, run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    double = TwilioDouble(auto_callbacks=False)
    with double.serve(), tempfile.TemporaryDirectory(prefix="bench-pgrestart-") as scratch:
        figures = asyncio.run(run(args, Path(scratch), double))
    return 0 if report(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
