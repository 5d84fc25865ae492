"""What each command does; bot.cli parses arguments and reports errors."""

import argparse
import asyncio
import contextlib
import getpass
import json
import signal
import sys
from dataclasses import asdict

from bot import accounts, demo, flowcheck, importer, keyrotation, privacy, retention
from bot.clock import utcnow
from bot.db import crypto
from bot.db.migrate import upgrade
from bot.services import build_services, load_packaged_lexicons
from bot.settings import Settings
from flows.understand import understand as classify
from scheduler.plan import load_default_plan
from scheduler.tick import tick as one_tick


class CommandError(Exception):
    """A command that could not do its work; the message is the one line shown."""


async def db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Apply the migrations (Alembic runs its own event loop, so in a thread)."""
    await asyncio.to_thread(upgrade, settings.database_url)
    return 0


async def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the web app with the outbox sender and, unless turned off, the scheduler."""
    import uvicorn

    from bot.app import build_app

    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, worker_id=f"web-{args.port}")
    app = build_app(services, scheduler=not args.no_scheduler)
    if args.telegram_polling:
        from bot.channels.polling import poll_forever

        app.state.polling = asyncio.create_task(
            poll_forever(services.conversations, services.outbox)
        )
    print(f"returnee-bot: dashboard at http://{args.host}:{args.port}/", flush=True)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=True,
        server_header=False,
    )
    await uvicorn.Server(config).serve()
    return 0


async def worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the scheduler timer and the outbox sender until stopped."""
    import os

    from scheduler.runner import build_scheduler

    services = build_services(settings, worker_id=f"worker-{os.getpid()}")
    timer = build_scheduler(
        services.unit_of_work, services.conversations, services.outbox, load_default_plan(), utcnow
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    timer.start()
    sender = asyncio.create_task(services.outbox.run(clock=utcnow))
    await stop.wait()
    timer.shutdown(wait=False)
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    await services.close()
    return 0


async def tick(settings: Settings, args: argparse.Namespace) -> int:
    """Run one scheduler pass at --now and drain the outbox once; print a JSON summary."""
    services = build_services(settings, worker_id="tick")
    try:
        summary = await one_tick(
            services.unit_of_work,
            services.conversations,
            services.outbox,
            load_default_plan(),
            now=args.now or utcnow(),
            progress=_progress_line if sys.stderr.isatty() else None,
        )
        if sys.stderr.isatty():
            print(file=sys.stderr)
    finally:
        await services.close()
    out = asdict(summary)
    print(
        json.dumps(
            {
                k: out[k]
                for k in (
                    "planned",
                    "due",
                    "sent",
                    "failed",
                    "skipped",
                    "deferred",
                    "timed_out",
                    "reasons",
                )
            }
        )
    )
    return 0


def _progress_line(summary: object) -> None:
    """One line on the terminal, rewritten as a large pass goes (stdout keeps only the JSON)."""
    counts = {k: getattr(summary, k) for k in ("planned", "due", "skipped", "deferred")}
    print(
        "\r" + "  ".join(f"{k} {v:>7}" for k, v in counts.items()),
        end="",
        file=sys.stderr,
        flush=True,
    )


async def demo_load(settings: Settings, args: argparse.Namespace) -> int:
    """Load the demo programme (idempotent)."""
    services = build_services(settings)
    try:
        async with services.unit_of_work() as db:
            created = await demo.load(db, now=utcnow())
    finally:
        await services.close()
    print(f"demo: {created}" if created else "demo: already loaded")
    return 0


async def users_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create a dashboard account; the password comes from stdin or a prompt."""
    password = (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    )
    services = build_services(settings)
    try:
        async with services.unit_of_work() as db:
            await accounts.add_user(db, args.email, args.role, password, now=utcnow())
    except accounts.AccountError as error:
        raise CommandError(str(error)) from None
    finally:
        await services.close()
    print(f"created {args.role} {args.email.strip().lower()}", file=sys.stderr)
    return 0


async def tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new API token alone on one line."""
    services = build_services(settings)
    try:
        async with services.unit_of_work() as db:
            token = await accounts.create_token(db, args.name, now=utcnow())
    finally:
        await services.close()
    print(token)
    return 0


async def import_returnees(settings: Settings, args: argparse.Namespace) -> int:
    """Validate every row; import all of them, or none if any is invalid."""
    services = build_services(settings)
    try:
        report = await importer.import_file(
            services.unit_of_work, args.file, dry_run=args.dry_run, now=utcnow()
        )
    except importer.ImportFileError as error:
        raise CommandError(str(error)) from None
    finally:
        await services.close()
    for problem in report.errors:
        print(problem, file=sys.stderr)
    verb = "would import" if args.dry_run else "imported"
    if report.errors:
        print(f"{len(report.errors)} invalid row(s): nothing imported", file=sys.stderr)
        return 1
    print(f"{verb} {report.valid} returnee(s)")
    return 0


async def understand(settings: Settings, args: argparse.Namespace) -> int:
    """Classify one reply per stdin line, one JSON object per stdout line."""
    lexicons = load_packaged_lexicons()
    for line in sys.stdin:
        text = line.rstrip("\n")
        result = classify(text, lexicons=lexicons, question=args.question, lang=args.lang)
        print(
            json.dumps(
                {
                    "text": text,
                    "intent": result.intent,
                    "score": result.score,
                    "confidence": round(result.confidence, 3),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


async def flows_check(settings: Settings, args: argparse.Namespace) -> int:
    """Validate flows and translations; list the problems and exit 1 if any."""
    report = flowcheck.check()
    for line in report.info:
        print(line)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"{len(report.problems)} problem(s)", file=sys.stderr if report.problems else sys.stdout)
    return 1 if report.problems else 0


async def simulate(settings: Settings, args: argparse.Namespace) -> int:
    """Chat with the invitation flow in the terminal, on a throwaway in-memory database."""
    from bot.terminal_sim import run

    return await run(lang=args.lang, channel=args.channel)


async def keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    """Re-encrypt every encrypted value with the newest key; print a JSON report."""
    keys = crypto.parse_keys(str(settings.data_encryption_key))
    services = build_services(settings, worker_id="keys")
    try:
        report = await keyrotation.rotate_all(
            services.unit_of_work,
            newest_key=keys[0].decode(),
            batch=max(1, args.batch),
            actor="cli",
        )
    finally:
        await services.close()
    print(json.dumps(report.as_dict()))
    if len(keys) > 1 and settings.data_index_key is None:
        print(
            "returnee-bot: before removing the oldest key from DATA_ENCRYPTION_KEY, set "
            "DATA_INDEX_KEY to that key, or lookups by phone stop working (docs/security.md)",
            file=sys.stderr,
        )
    if report.unreadable:
        print(
            f"returnee-bot: {report.unreadable} value(s) unreadable with any key", file=sys.stderr
        )
        return 1
    return 0


def new_data_key() -> str:
    """A fresh key for DATA_ENCRYPTION_KEY."""
    return crypto.new_key()


async def retention_run(settings: Settings, args: argparse.Namespace) -> int:
    """Erase free text older than RETENTION_DAYS; print a JSON report."""
    services = build_services(settings, worker_id="retention")
    try:
        report = await retention.run(
            services.unit_of_work,
            days=settings.retention_days,
            now=args.now or utcnow(),
            actor="cli",
        )
        await privacy.checkpoint(services.engine)
    finally:
        await services.close()
    print(json.dumps(report.as_dict()))
    return 0


async def returnee_export(settings: Settings, args: argparse.Namespace) -> int:
    """Print everything about one returnee as JSON (audited)."""
    services = build_services(settings, worker_id="export")
    try:
        async with services.unit_of_work() as db:
            data = await privacy.export_returnee(db, args.id, actor="cli", now=utcnow())
    except privacy.UnknownReturneeError as error:
        raise CommandError(str(error)) from None
    finally:
        await services.close()
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


async def returnee_erase(settings: Settings, args: argparse.Namespace) -> int:
    """Delete a returnee and every row about them (audited); print what went, as JSON."""
    services = build_services(settings, worker_id="erase")
    try:
        async with services.unit_of_work() as db:
            counts = await privacy.erase_returnee(db, args.id, actor="cli", now=utcnow())
        await privacy.checkpoint(services.engine)
    except privacy.UnknownReturneeError as error:
        raise CommandError(str(error)) from None
    finally:
        await services.close()
    print(json.dumps({"erased": args.id, "rows": counts}))
    return 0


async def schedule_show(settings: Settings, args: argparse.Namespace) -> int:
    """Print a returnee's schedule: each send, when, what happened and why, in their time."""
    from bot.schedule_view import timeline

    services = build_services(settings)
    try:
        async with services.unit_of_work() as db:
            rows = await timeline(db, args.returnee)
    finally:
        await services.close()
    if rows is None:
        raise CommandError(f"no returnee {args.returnee}")
    print(f"{'due (local)':<18} {'sent/send at (local)':<21} {'purpose':<18} {'status':<10} why")
    for row in rows:
        print(f"{row.due:<18} {row.at:<21} {row.purpose:<18} {row.status:<10} {row.reason}")
    return 0
