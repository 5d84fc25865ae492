"""The command line: parse arguments, load settings, run one command; errors are one line."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.config import Config

from bot import commands
from bot.settings import Settings, SettingsError, load

Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def _iso(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs a UTC offset, e.g. +00:00 or Z")
    return when


def parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    p = argparse.ArgumentParser(prog="returnee-bot", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply the migrations")
    serve = sub.add_parser("serve", help="web app, outbox sender and scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-scheduler", action="store_true")
    serve.add_argument("--telegram-polling", action="store_true")
    sub.add_parser("worker", help="scheduler timer and outbox sender, no web app")
    tick = sub.add_parser("tick", help="one scheduler pass, then drain the outbox once")
    tick.add_argument("--now", type=_iso, default=None)
    demo = sub.add_parser("demo").add_subparsers(dest="action", required=True)
    demo.add_parser("load", help="load the demo programme")
    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create a dashboard account")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=("admin", "caseworker", "viewer"))
    add.add_argument("--password-stdin", action="store_true")
    tokens = sub.add_parser("tokens").add_subparsers(dest="action", required=True)
    tokens.add_parser("create", help="print a new API token").add_argument("name")
    imp = sub.add_parser("import").add_subparsers(dest="action", required=True)
    ret = imp.add_parser("returnees", help="import returnees from .csv or .xlsx")
    ret.add_argument("file", type=Path)
    ret.add_argument("--dry-run", action="store_true")
    und = sub.add_parser("understand", help="classify replies read from stdin")
    und.add_argument("--question", default="any", choices=("attendance", "wellbeing", "any"))
    und.add_argument("--lang", default=None, choices=("fr", "ar", "wo"))
    flows = sub.add_parser("flows").add_subparsers(dest="action", required=True)
    flows.add_parser("check", help="validate every flow and translation")
    sim = sub.add_parser("simulate", help="chat with the flows in the terminal")
    sim.add_argument("--lang", default="fr", choices=("fr", "ar", "wo"))
    sim.add_argument("--channel", default="sms", choices=("sms", "whatsapp", "telegram"))
    schedule = sub.add_parser("schedule").add_subparsers(dest="action", required=True)
    show = schedule.add_parser("show", help="what was planned, sent, skipped or expired, and why")
    show.add_argument("returnee", type=int, help="the returnee's id")
    _privacy_commands(sub)
    return p


def _privacy_commands(sub: Any) -> None:
    """keys, retention and returnee: the data-protection commands (each one audited)."""
    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True)
    rotate = keys.add_parser("rotate", help="re-encrypt personal data with the newest key")
    rotate.add_argument("--batch", type=int, default=200, help="rows per transaction")
    keys.add_parser("new", help="print a new data encryption key")
    retention = sub.add_parser("retention").add_subparsers(dest="action", required=True)
    run = retention.add_parser("run", help="erase free text older than RETENTION_DAYS")
    run.add_argument("--now", type=_iso, default=None)
    returnee = sub.add_parser("returnee").add_subparsers(dest="action", required=True)
    export = returnee.add_parser("export", help="everything about one returnee, as JSON")
    export.add_argument("id", type=int)
    erase = returnee.add_parser("erase", help="delete a returnee and every row about them")
    erase.add_argument("id", type=int)
    erase.add_argument("--yes", action="store_true", required=True, help="yes, erase them")


HANDLERS: dict[str, Handler] = {
    "db upgrade": commands.db_upgrade,
    "serve": commands.serve,
    "worker": commands.worker,
    "tick": commands.tick,
    "demo load": commands.demo_load,
    "users add": commands.users_add,
    "tokens create": commands.tokens_create,
    "import returnees": commands.import_returnees,
    "understand": commands.understand,
    "flows check": commands.flows_check,
    "simulate": commands.simulate,
    "schedule show": commands.schedule_show,
    "keys rotate": commands.keys_rotate,
    "retention run": commands.retention_run,
    "returnee export": commands.returnee_export,
    "returnee erase": commands.returnee_erase,
}


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exit 0 on success, 1 on failure, 2 on a usage error."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command in ("serve", "worker") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    name = " ".join(x for x in (args.command, getattr(args, "action", None)) if x)
    if name == "keys new":  # needs no configuration: it may be making the very first key
        print(commands.new_data_key())
        sys.exit(0)
    try:
        settings = load(Config(".env" if os.path.exists(".env") else None))
        status = asyncio.run(HANDLERS[name](settings, args))
    except (SettingsError, commands.CommandError) as error:
        if args.debug:
            raise
        print(f"returnee-bot: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        if args.debug:
            raise
        print(
            f"returnee-bot: {type(error).__name__}: {error} (--debug shows more)", file=sys.stderr
        )
        sys.exit(1)
    sys.exit(status)
