"""The data-protection commands as an operator runs them (keys, retention, export, erase)."""

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot import cli
from tests.conftest import TEST_KEY


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a SQLite database and the test keys in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    for variable in ("BOT_ENV", "DATA_INDEX_KEY", "RETENTION_DAYS"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `returnee-bot ARGS` in process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def test_export_erase_retention_and_rotation(
    operator: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "demo", "load")[0] == 0

    status, out, _ = run(capsys, "returnee", "export", "1")
    assert status == 0
    exported = json.loads(out)
    assert exported["profile"]["name"] == "Youssef El Amrani"
    assert exported["addresses"]

    status, _, err = run(capsys, "returnee", "erase", "1")
    assert status == 2  # --yes is required
    assert "--yes" in err
    status, out, _ = run(capsys, "returnee", "erase", "1", "--yes")
    assert status == 0
    assert json.loads(out)["rows"]["returnees"] == 1
    status, _, err = run(capsys, "returnee", "export", "1")
    assert status == 1
    assert err.strip() == "returnee-bot: no returnee 1"

    status, out, _ = run(capsys, "retention", "run", "--now", "2030-01-01T00:00:00+00:00")
    assert status == 0
    assert set(json.loads(out)) == {"cutoff", "messages", "checkin_comments", "enrollment_feedback"}

    status, new_key, _ = run(capsys, "keys", "new")
    assert status == 0
    new_key = new_key.strip()
    Fernet(new_key.encode())  # a valid key, alone on its line
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", f"{new_key},{TEST_KEY}")
    status, out, err = run(capsys, "keys", "rotate")
    assert status == 0
    assert json.loads(out)["rotated"] >= 11 * 2  # names and numbers of the 11 left
    assert "DATA_INDEX_KEY" in err  # the warning before the old key may go

    monkeypatch.setenv("DATA_ENCRYPTION_KEY", new_key)  # the old key retired ...
    monkeypatch.setenv("DATA_INDEX_KEY", TEST_KEY)  # ... and the blind index pinned to it
    status, out, _ = run(capsys, "returnee", "export", "2")
    assert status == 0
    assert json.loads(out)["profile"]["name"] == "Fatima Zahra Idrissi"

    with sqlite3.connect(operator / "cli.db") as db:
        entries = db.execute("SELECT actor, action, target FROM audit_log ORDER BY id").fetchall()
    assert entries == [  # every command that touched personal data, and none of it in the log
        ("cli", "returnee_exported", "returnee:1"),
        ("cli", "returnee_erased", "returnee:1"),
        ("cli", "retention_run", None),
        ("cli", "keys_rotated", None),
        ("cli", "returnee_exported", "returnee:2"),
    ]
