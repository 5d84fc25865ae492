"""Inbound webhooks: the full path against a bare Starlette endpoint, same load generator, same run.

Run: .venv/bin/python bench/bench_inbound.py [--seconds 10] [--rate 200] [--returnees 200]

Builds a SQLite database in a temporary folder: returnees enrolled in a workshop, each invited by
one `returnee-bot tick` and waiting for the answer. Starts `python -m bot serve --no-scheduler`
(its replies go out through the sender task and its rate limiter to a Twilio double served by
this process) and bench/bare_app.py with the same uvicorn settings. One raw-asyncio HTTP/1.1
client drives both with signed Twilio webhooks ("oui", "non", "1", "waaw"... from the enrolled
numbers, a unique MessageSid each): (a) a closed loop of 16 connections, in alternating rounds,
for messages per second; (b) an open loop at a fixed rate for p50/p99 latency, measured from
the moment each request was due. Then checks every answer was 200 and every message is stored
exactly once. Prints Markdown rows and a `BENCH {...}` line; exit 1 if a target is missed.
"""

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import math
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from starlette.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import programme  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import load  # noqa: E402
from tests.doubles import TwilioDouble, signed_inbound_form  # noqa: E402

PYTHON = sys.executable
Figures = dict[str, float | int | str | bool | None]
SMS_FROM = "+33755550100"
REPLIES = ("oui", "non", "1", "waaw", "Oui merci", "2", "je sais pas", "deedeet")
TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0
READY_SECONDS = 120.0  # a loaded 2-core machine can take a minute to import and migrate
DRAIN_SECONDS = 20.0  # after the last request was due, wait this long for answers
MAX_CONNECTIONS = 64
REQUEST_SECONDS = 60.0  # a request not answered by then counts as failed


# -- the database and the two servers ---------------------------------------------------------


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phone(n: int) -> str:
    """The n-th enrolled number (Moroccan mobile, E.164)."""
    return f"+21261200{n:04d}"


def setup_now() -> datetime:
    """A recent Monday-to-Thursday at 10:00 UTC: no quiet hours, no Friday blackout."""
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    while day.weekday() > 3:
        day -= timedelta(days=1)
    return day


@dataclass
class Bot:
    """A database with enrolled returnees, and the environment to serve it."""

    scratch: Path
    db_path: Path
    env: dict[str, str]
    numbers: list[str]

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        """The process environment for `python -m bot ...`."""
        return {**os.environ, **self.env, **extra}


def make_bot(scratch: Path, *, returnees: int, twilio: TwilioDouble, port: int) -> Bot:
    """Migrate, enroll `returnees` people, and invite them all with one tick."""
    db_path = scratch / "bench.db"
    env = {
        "DATABASE_URL": f"sqlite:///{db_path}",
        "BOT_ENV": "development",
        "VAR_DIR": str(scratch / "var"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_BASE": twilio.base_url,
        "TWILIO_SMS_FROM": SMS_FROM,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    bot = Bot(scratch, db_path, env, [phone(n) for n in range(returnees)])
    run_cli(bot, "db", "upgrade")
    now = setup_now()
    asyncio.run(_enroll(bot, now))
    # The invitations go through the simulator (no Twilio settings here): the double stays clean.
    no_twilio = {k: v for k, v in bot.subprocess_env().items() if not k.startswith("TWILIO_")}
    summary = json.loads(run_cli(bot, "tick", "--now", now.isoformat(), env=no_twilio))
    if summary["sent"] != returnees:
        raise RuntimeError(f"the tick invited {summary['sent']} of {returnees}: {summary}")
    return bot


def run_cli(bot: Bot, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `python -m bot ARGS` to completion; return its stdout."""
    done = subprocess.run(
        [PYTHON, "-m", "bot", *args],
        env=env or bot.subprocess_env(),
        cwd=bot.scratch,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"returnee-bot {' '.join(args)}: {done.stderr.strip()[-2000:]}")
    return done.stdout


async def _enroll(bot: Bot, now: datetime) -> None:
    services = build_services(load(Config(environ=bot.env)), worker_id="bench-setup", channels={})
    try:
        async with services.unit_of_work() as db:
            workshop = await programme.create_workshop(
                db,
                programme.NewWorkshop(
                    title="Atelier de developpement personnel",
                    starts_at=now + timedelta(days=5),
                    ends_at=now + timedelta(days=5, hours=6),
                    timezone="Africa/Casablanca",
                    location="Centre OIM",
                ),
                now=now,
            )
            for n, number in enumerate(bot.numbers):
                new = programme.NewReturnee(
                    name=f"Personne {n}",
                    phone=number,
                    country="MA",
                    language="fr",
                    channel="sms",
                    consent=True,
                )
                returnee = await programme.create_returnee(db, new, now=now)
                await programme.enroll(db, workshop, returnee, now=now)
    finally:
        await services.close()


@contextlib.contextmanager
def serving(cmd: list[str], *, env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """Run a server process until the block ends; yield its pid once /healthz answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(port, proc, log)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll GET /healthz until 200 (at most READY_SECONDS)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready in {READY_SECONDS} s")


def serve_bot(bot: Bot, port: int) -> contextlib.AbstractContextManager[int]:
    """`python -m bot serve --no-scheduler` on `port`."""
    cmd = [PYTHON, "-m", "bot", "serve", "--no-scheduler", "--port", str(port)]
    return serving(cmd, env=bot.subprocess_env(), port=port, log=bot.scratch / "serve.log")


def serve_bare(bot: Bot, port: int) -> contextlib.AbstractContextManager[int]:
    """bench/bare_app.py on `port`, same uvicorn settings."""
    cmd = [PYTHON, str(ROOT / "bench" / "bare_app.py"), "--port", str(port)]
    return serving(cmd, env=bot.subprocess_env(), port=port, log=bot.scratch / "bare.log")


# -- the load generator -----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are pre-built bytes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, port: int) -> "Connection":
        """Connect to 127.0.0.1:port."""
        conn = cls(port)
        await conn._connect()
        return conn

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        sock = self.writer.transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def send(self, request: bytes) -> int:
        """Send one request, read the whole answer, return its status code."""
        if self.reader is None or self.writer is None or self.reader.at_eof():
            self.close()  # the server closed an idle keep-alive connection: open another
            await self._connect()
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Target:
    """A server under load, and what it was sent and answered."""

    name: str
    port: int
    token: str
    numbers: list[str]
    statuses: Counter[int] = field(default_factory=Counter)
    sent: list[str] = field(default_factory=list)  # MessageSids written to a socket
    answered: list[str] = field(default_factory=list)  # ... and answered 200
    _n: Iterator[int] = field(default_factory=itertools.count)

    def next_request(self) -> tuple[str, bytes]:
        """A signed inbound SMS from an enrolled number, with a new MessageSid."""
        sid = "SM" + secrets.token_hex(16)
        return sid, webhook(self.port, self.token, sid, next(self._n), self.numbers)

    async def send(self, conn: "Connection", sid: str, request: bytes) -> None:
        """Send one webhook and note its answer (0: none, the connection failed or timed out)."""
        self.sent.append(sid)
        try:
            status = await asyncio.wait_for(conn.send(request), REQUEST_SECONDS)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            conn.close()  # the next request on it reconnects
            status = 0
        self.statuses[status] += 1
        if status == 200:
            self.answered.append(sid)


def webhook(port: int, token: str, sid: str, n: int, numbers: list[str]) -> bytes:
    """The bytes of Twilio's POST for the n-th message, signed for PUBLIC_BASE_URL."""
    url = f"http://127.0.0.1:{port}/webhooks/twilio"
    form, signature = signed_inbound_form(
        url,
        token,
        from_=numbers[n % len(numbers)],
        to=SMS_FROM,
        body=REPLIES[n % len(REPLIES)],
        message_sid=sid,
    )
    body = urlencode(form).encode()
    head = (
        f"POST /webhooks/twilio HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"X-Twilio-Signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Sample:
    """Requests answered in a measurement, over how long, and their latencies (seconds)."""

    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        """Answers per second."""
        return self.count / self.seconds

    def percentile_ms(self, q: float) -> float:
        """The q-quantile of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def closed_loop(target: Target, *, seconds: float, concurrency: int) -> Sample:
    """`concurrency` connections, each sending its next request as soon as one is answered."""
    conns = [await Connection.open(target.port) for _ in range(concurrency)]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            sid, request = target.next_request()
            sent = time.perf_counter()
            await target.send(conn, sid, request)
            latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*map(worker, conns)), seconds + DRAIN_SECONDS)
    finally:
        for conn in conns:
            conn.close()
    return Sample(len(latencies), time.perf_counter() - started, latencies)


async def open_loop(target: Target, *, rate: float, seconds: float) -> Sample:
    """Send at a fixed rate whatever the answers; latency counts from when a request was due.

    At most MAX_CONNECTIONS requests are outstanding; a request waiting for a connection is
    already late, and its latency says so. Requests not answered DRAIN_SECONDS after the last
    one was due are abandoned and counted as unanswered (their latency: infinite).
    """
    pool: asyncio.Queue[Connection | None] = asyncio.Queue()
    for _ in range(MAX_CONNECTIONS):
        pool.put_nowait(None)  # a connection opened when first needed
    latencies: list[float] = []
    opened: list[Connection] = []

    async def one(due: float, sid: str, request: bytes) -> None:
        conn = await pool.get()
        if conn is None:
            conn = await Connection.open(target.port)
            opened.append(conn)
        try:
            await target.send(conn, sid, request)
            latencies.append(time.perf_counter() - due)
        finally:
            pool.put_nowait(conn)

    tasks = []
    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = started + i / rate
        sid, request = target.next_request()
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, sid, request)))
    _, late = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for conn in opened:
        conn.close()
    latencies += [math.inf] * len(late)
    return Sample(len(latencies) - len(late), time.perf_counter() - started, latencies)


# -- checks -----------------------------------------------------------------------------------


def stored_inbound(db_path: Path) -> Counter[str]:
    """Inbound message rows per provider id (MessageSid)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT provider_id, COUNT(*) FROM messages WHERE direction = 'in' GROUP BY provider_id"
        ).fetchall()
    return Counter({str(sid): int(n) for sid, n in rows})


def outbox_counts(db_path: Path) -> dict[str, int]:
    """Outbox rows per status."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


@dataclass(frozen=True)
class StoredOnce:
    """Compare the MessageSids sent with the rows stored."""

    answered: int
    missing: int  # answered 200 but not stored
    duplicated: int  # stored more than once
    unexpected: int  # stored, never sent
    unanswered: int  # sent, abandoned before an answer
    unanswered_stored: int

    @classmethod
    def check(cls, target: Target, rows: Counter[str]) -> "StoredOnce":
        """Every webhook answered 200 must be stored once; none may be stored twice."""
        sent, answered = set(target.sent), set(target.answered)
        unanswered = sent - answered
        return cls(
            answered=len(answered),
            missing=sum(1 for s in answered if rows[s] != 1),
            duplicated=sum(1 for s in sent if rows[s] > 1) + len(target.sent) - len(sent),
            unexpected=sum(n for s, n in rows.items() if s not in sent),
            unanswered=len(unanswered),
            unanswered_stored=sum(1 for s in unanswered if rows[s] == 1),
        )

    @property
    def ok(self) -> bool:
        """Every message answered is stored exactly once, and nothing twice."""
        return self.missing == self.duplicated == self.unexpected == 0


def settled_inbound(db_path: Path, *, seconds: float = DRAIN_SECONDS) -> Counter[str]:
    """The stored rows, once the server has stopped adding any for a second."""
    rows, deadline = stored_inbound(db_path), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1.0)
        again = stored_inbound(db_path)
        if again == rows:
            break
        rows = again
    return rows


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Results:
    """What the run measured."""

    closed: dict[str, list[Sample]] = field(default_factory=dict)
    opened: dict[str, Sample] = field(default_factory=dict)

    def rate(self, name: str) -> float:
        """Median messages per second over the closed-loop rounds."""
        return statistics.median(s.rate for s in self.closed[name])


async def measure(
    targets: list[Target], *, seconds: float, rate: float, rounds: int, concurrency: int
) -> Results:
    """Warm up, then closed-loop rounds alternating the targets, then one open loop each."""
    results = Results()
    for target in targets:
        await closed_loop(target, seconds=1.0, concurrency=concurrency)
    for _ in range(rounds):
        for target in targets:
            sample = await closed_loop(target, seconds=seconds / rounds, concurrency=concurrency)
            results.closed.setdefault(target.name, []).append(sample)
    for target in targets:
        results.opened[target.name] = await open_loop(target, rate=rate, seconds=seconds)
    return results


def _ms(value: float) -> str:
    return f"> {DRAIN_SECONDS * 1000:.0f}" if math.isinf(value) else f"{value:.1f}"


def _json_ms(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


def report(results: Results, targets: list[Target], stored: StoredOnce, extra: Figures) -> bool:
    """Print the Markdown rows and the BENCH line; return whether every target held."""
    rate = {t.name: results.rate(t.name) for t in targets}
    p50 = {t.name: results.opened[t.name].percentile_ms(0.50) for t in targets}
    p99 = {t.name: results.opened[t.name].percentile_ms(0.99) for t in targets}
    ratio = rate["full"] / rate["bare"]
    non_200 = sum(n for t in targets for code, n in t.statuses.items() if code != 200)
    unanswered = sum(len(t.sent) - t.statuses.total() for t in targets)
    held = {
        "ratio": ratio >= TARGET_RATIO,
        "p99": p99["full"] < TARGET_P99_MS,
        "all_200": non_200 == 0 and unanswered == 0,
        "stored_once": stored.ok,
    }
    closed, opened = f"closed loop, c={extra['concurrency']}", f"@ {extra['rate']:.0f} msg/s"
    print(f"| inbound | msg/s ({closed}; median of rounds) | p50 ms {opened} | p99 ms {opened} |")
    print("|---|---:|---:|---:|")
    for t in targets:
        rounds = ", ".join(f"{s.rate:.0f}" for s in results.closed[t.name])
        latency = f"{_ms(p50[t.name])} | {_ms(p99[t.name])}"
        print(f"| {t.name} | {rate[t.name]:.0f} ({rounds}) | {latency} |")
    print(
        f"| full / bare | {ratio:.2f} (target >= {TARGET_RATIO:.2f}: {_word(held['ratio'])}) |",
        end="",
    )
    print(f" | full p99 < {TARGET_P99_MS:.0f} ms: {_word(held['p99'])} |")
    answers = f"{sum(t.statuses[200] for t in targets)} answered 200, {non_200} other"
    print(f"| answers | {answers}, {unanswered} abandoned after {DRAIN_SECONDS:.0f} s | | |")
    print(
        f"| stored once | {stored.answered - stored.missing} of {stored.answered} answered;"
        f" {stored.duplicated} twice, {stored.unexpected} unexpected | | |"
    )
    figures = {
        "bench": "inbound",
        "bare_msg_s": round(rate["bare"], 1),
        "full_msg_s": round(rate["full"], 1),
        "ratio": round(ratio, 3),
        "full_p50_ms": _json_ms(p50["full"]),
        "full_p99_ms": _json_ms(p99["full"]),
        "bare_p50_ms": _json_ms(p50["bare"]),
        "bare_p99_ms": _json_ms(p99["bare"]),
        "non_200": non_200,
        "unanswered": unanswered,
        "stored_once": stored.ok,
        **extra,
        "targets_held": all(held.values()),
    }
    print("BENCH " + json.dumps(figures))
    return all(held.values())


def _word(ok: bool) -> str:
    return "held" if ok else "MISSED"


def run(args: argparse.Namespace, scratch: Path) -> int:
    """Set up, serve both, measure, check; return the exit status."""
    double = TwilioDouble(auto_callbacks=False)
    with double.serve():
        full_port, bare_port = free_port(), free_port()
        started = time.perf_counter()
        bot = make_bot(scratch, returnees=args.returnees, twilio=double, port=full_port)
        setup = time.perf_counter() - started
        with serve_bot(bot, full_port), serve_bare(bot, bare_port):
            targets = [
                Target("bare", bare_port, double.auth_token, bot.numbers),
                Target("full", full_port, double.auth_token, bot.numbers),
            ]
            results = asyncio.run(
                measure(
                    targets,
                    seconds=args.seconds,
                    rate=args.rate,
                    rounds=args.rounds,
                    concurrency=args.concurrency,
                )
            )
            stored = StoredOnce.check(targets[1], settled_inbound(bot.db_path))
            outbox = outbox_counts(bot.db_path)
            sent_out, rejected = len(double.messages), len(double.rejections)
    extra: Figures = {
        "rate": args.rate,
        "concurrency": args.concurrency,
        "returnees": args.returnees,
        "setup_s": round(setup, 1),
        "replies_queued": sum(outbox.values()),
        "replies_sent_during_run": sent_out,
        "twilio_429": rejected,
    }
    held = report(results, targets, stored, extra)
    print(
        f"\nreplies: {sum(outbox.values())} queued, {sent_out} accepted by the Twilio double "
        f"during the run (10/s per sender), {rejected} answered 429; setup {setup:.1f} s"
    )
    return 0 if held else 1


def main() -> int:
    """Parse the arguments and run in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds per target")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop messages/s")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--returnees", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as scratch:
        return run(args, Path(scratch))


if __name__ == "__main__":
    sys.exit(main())
