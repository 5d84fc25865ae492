"""The command line, run as a user runs it: exit codes, one-line errors, JSON output."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY

# Tomorrow at noon UTC: daytime in Dakar, Tunis and Casablanca, before the demo's workshops.
NOW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(12), UTC).isoformat()


def run(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot` in a scratch directory with a SQLite database there."""
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "SECRET_KEY": "s" * 40,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    """A migrated database holding the demo programme."""
    assert run(tmp_path, "db", "upgrade").returncode == 0
    loaded = run(tmp_path, "demo", "load")
    assert loaded.returncode == 0, loaded.stderr
    assert "already loaded" in run(tmp_path, "demo", "load").stdout  # idempotent
    return tmp_path


def test_tick_prints_a_summary_and_a_second_pass_sends_nothing(demo_db: Path) -> None:
    first = run(demo_db, "tick", "--now", NOW)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    # 12 returnees invited to 2 workshops: one question at a time, the second invitation waits
    assert (summary["due"], summary["sent"], summary["deferred"]) == (12, 12, 12)
    assert summary["failed"] == 0
    assert summary["planned"] == 24 * 4
    again = json.loads(run(demo_db, "tick", "--now", NOW).stdout.strip())
    assert (again["planned"], again["due"], again["sent"]) == (0, 0, 0)


def test_usage_errors_exit_2_and_failures_exit_1(tmp_path: Path) -> None:
    bad_time = run(tmp_path, "tick", "--now", "yesterday")
    assert bad_time.returncode == 2
    assert "ISO-8601" in bad_time.stderr
    assert run(tmp_path, "frobnicate").returncode == 2
    missing = run(tmp_path, "import", "returnees", "nowhere.csv")
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "Traceback" not in missing.stderr


def test_production_refuses_default_secrets(tmp_path: Path) -> None:
    refused = run(tmp_path, "tick", env={"BOT_ENV": "production", "SECRET_KEY": "changeme"})
    assert refused.returncode == 1
    assert "SECRET_KEY" in refused.stderr


def test_tokens_create_prints_the_token_alone(demo_db: Path) -> None:
    made = run(demo_db, "tokens", "create", "reporting")
    assert made.returncode == 0
    assert len(made.stdout.splitlines()) == 1
    assert made.stdout.startswith("rb_")


def test_users_add_reads_the_password_from_stdin(demo_db: Path) -> None:
    added = run(
        demo_db,
        "users",
        "add",
        "new@example.org",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    again = run(
        demo_db,
        "users",
        "add",
        "new@example.org",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_understand_answers_one_json_object_per_line(tmp_path: Path) -> None:
    answered = run(tmp_path, "understand", "--question", "attendance", stdin="waaw\nنعم\nstop\n")
    assert answered.returncode == 0, answered.stderr
    lines = [json.loads(line) for line in answered.stdout.splitlines()]
    assert [(x["text"], x["intent"]) for x in lines] == [
        ("waaw", "yes"),
        ("نعم", "yes"),
        ("stop", "stop"),
    ]
    assert all(set(x) == {"text", "intent", "score", "confidence"} for x in lines)


def test_flows_check_passes(tmp_path: Path) -> None:
    checked = run(tmp_path, "flows", "check")
    assert checked.returncode == 0, checked.stderr


def test_simulate_chats_in_the_terminal(tmp_path: Path) -> None:
    chat = run(tmp_path, "simulate", "--lang", "wo", stdin="waaw\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("bot>") == 2


def test_schedule_show_explains_each_send(demo_db: Path) -> None:
    assert run(demo_db, "tick", "--now", NOW).returncode == 0
    shown = run(demo_db, "schedule", "show", "1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "purpose" in lines[0]
    assert any("invitation" in line and "sent" in line for line in lines)
    assert any("reminder" in line and "planned" in line for line in lines)
    missing = run(demo_db, "schedule", "show", "999")
    assert missing.returncode == 1
    assert "no returnee 999" in missing.stderr
