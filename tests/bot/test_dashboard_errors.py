"""Every error bot.programme, bot.enrollments and bot.importer can raise has the dashboard's own
wording: the services speak English (CLI, API), a caseworker never reads it."""

import ast
from pathlib import Path

import pytest

from bot.dashboard.forms import field_message, file_message
from bot.importer import ImportFileError
from bot.programme import InvalidField

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["bot/programme.py", "bot/enrollments.py", "bot/importer.py"]


def _text(node: ast.expr) -> str:
    """A message as raised, with 7 for each value an f-string puts in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        else:
            assert isinstance(value, ast.FormattedValue)
            parts.append("'7'" if value.conversion == ord("r") else "7")
    return "".join(parts)


def _raised(kind: str) -> list[str]:
    """The message of every `raise kind(...)` in the sources."""
    found = []
    for source in SOURCES:
        for node in ast.walk(ast.parse((ROOT / source).read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == kind
            ):
                found.append(_text(node.args[-1]))
    return found


FIELD_ERRORS = _raised("InvalidField")
FILE_ERRORS = _raised("ImportFileError")


def test_the_sources_were_read() -> None:
    # the parser found the raises (a change in how they are written must not empty the tests)
    assert len(FIELD_ERRORS) >= 15
    assert len(FILE_ERRORS) >= 7


@pytest.mark.parametrize("message", FIELD_ERRORS)
def test_a_field_error_is_worded_for_the_dashboard(message: str) -> None:
    shown = field_message(InvalidField("field", message))
    assert shown != message, f"no dashboard wording for {message!r} (bot/dashboard/forms.py)"


@pytest.mark.parametrize("message", FILE_ERRORS)
def test_a_file_error_is_worded_for_the_dashboard(message: str) -> None:
    shown = file_message(ImportFileError(message))
    assert shown != message, f"no dashboard wording for {message!r} (bot/dashboard/forms.py)"
