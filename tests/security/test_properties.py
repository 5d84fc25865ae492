"""Hostile input, generated: the reply parser, both webhooks and the CSV import never break.

Each webhook example is checked against the whole database: a request that is refused (4xx)
changes no row of any table, and nothing unsigned is ever accepted.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import importer
from bot.services import load_packaged_lexicons
from flows.understand import INTENTS, QUESTIONS, understand
from tests.security.harness import (
    FORM,
    PROPERTY,
    STATUS_URL,
    TG_SECRET,
    TWILIO_URL,
    channel_settings,
    twilio_signature,
)
from tests.security.live import Live

LEX = load_packaged_lexicons()
ANY_CHAR = st.characters(exclude_categories=())  # surrogates, controls, unassigned: everything
NASTY = st.sampled_from(
    ["\u202e", "\u200f", "\u200b", "\ufeff", "\x00", "٢", "５", "🙏", "STOP", "aide", "waaw", "لا"]
)
REPLIES = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=40).map(" ".join),
    st.text(max_size=5).map(lambda t: t * 2000),
)
TWILIO_KEYS = ["MessageSid", "From", "To", "Body", "ButtonPayload", "ProfileName", "AccountSid"]
SIGNING = st.sampled_from(["none", "valid", "wrong", "changed_after"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    """The app with Twilio and Telegram on, driven synchronously."""
    app = Live(channel_settings(database_url, tmp_path / "var"))
    yield app
    app.close()


@PROPERTY
@given(
    text=REPLIES,
    question=st.sampled_from(QUESTIONS),
    lang=st.sampled_from([None, "fr", "ar", "wo"]),
)
def test_the_reply_parser_never_raises_and_names_a_valid_intent(
    text: str, question: str, lang: str | None
) -> None:
    got = understand(text, lexicons=LEX, question=question, lang=lang)
    assert got.intent in INTENTS
    assert 0.0 <= got.confidence <= 1.0
    assert got.score is None or 1 <= got.score <= 5


def test_twilio_webhook_takes_no_hostile_form(live: Live) -> None:
    forms = st.dictionaries(
        st.sampled_from(TWILIO_KEYS) | st.text(max_size=12), st.text(max_size=120), max_size=10
    )

    @PROPERTY
    @given(
        form=forms,
        signing=SIGNING,
        path=st.sampled_from(["/webhooks/twilio", "/webhooks/twilio/status"]),
    )
    def check(form: dict[str, str], signing: str, path: str) -> None:
        url = TWILIO_URL if path.endswith("twilio") else STATUS_URL
        headers = _twilio_headers(url, form, signing)
        sent = {**form, "Body": form.get("Body", "") + "!"} if signing == "changed_after" else form
        before = live.snapshot()
        response = live.post(path, data=sent, headers=headers)
        assert response.status_code < 500
        if signing != "valid":
            assert response.status_code in (403, 415)  # 415: an empty form has no content type
        if response.status_code >= 400:
            assert live.snapshot() == before

    check()


def test_twilio_webhook_takes_no_hostile_bytes(live: Live) -> None:
    @PROPERTY
    @given(body=st.binary(max_size=3000), content_type=st.sampled_from([FORM, "text/plain", ""]))
    def check(body: bytes, content_type: str) -> None:
        before = live.snapshot()
        headers = {"content-type": content_type, "X-Twilio-Signature": "bm9wZQ=="}
        response = live.post("/webhooks/twilio", content=body, headers=headers)
        assert response.status_code in (400, 403, 415)
        assert live.snapshot() == before

    check()


def test_telegram_webhook_takes_no_hostile_update(live: Live) -> None:
    message = st.fixed_dictionaries(
        {"message_id": JSON_VALUES | st.integers(), "date": JSON_VALUES | st.integers()},
        optional={
            "chat": st.fixed_dictionaries({"id": JSON_VALUES, "type": JSON_VALUES}) | JSON_VALUES,
            "text": st.text(ANY_CHAR, max_size=100) | JSON_VALUES,
            "contact": JSON_VALUES,
        },
    )
    updates = st.fixed_dictionaries(
        {"update_id": st.integers() | JSON_VALUES},
        optional={"message": message | JSON_VALUES, "callback_query": JSON_VALUES},
    )

    @PROPERTY
    @given(update=updates | JSON_VALUES, secret=st.sampled_from(["valid", "wrong", "none"]))
    def check(update: Any, secret: str) -> None:
        headers = {"content-type": "application/json"}
        if secret != "none":
            headers["X-Telegram-Bot-Api-Secret-Token"] = TG_SECRET if secret == "valid" else "x"
        body = json.dumps(update).encode("utf-8", "surrogatepass")
        before = live.snapshot()
        response = live.post("/webhooks/telegram", content=body, headers=headers)
        assert response.status_code < 500
        if secret != "valid":
            assert response.status_code == 403
        if response.status_code >= 400:
            assert live.snapshot() == before

    check()


def test_csv_import_reports_problems_and_raises_nothing_else(live: Live) -> None:
    cell = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
    header = st.lists(st.sampled_from([*importer.COLUMNS, "x", ""]), min_size=1, max_size=10)
    structured = st.builds(
        _csv_bytes,
        header,
        st.lists(st.lists(cell, max_size=10), max_size=6),
        st.sampled_from(",;\t"),
    )

    @PROPERTY
    @given(data=structured | st.binary(max_size=2000))
    def check(data: bytes) -> None:
        try:
            rows = importer.read_csv(data)
        except importer.ImportFileError:
            return
        report = live.run(_validate(live, rows))
        assert report.valid + len(report.errors) == len(rows)

    check()


def _twilio_headers(url: str, form: dict[str, str], signing: str) -> dict[str, str]:
    if signing == "none":
        return {}
    if signing == "wrong":
        return {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    return {"X-Twilio-Signature": twilio_signature(url, form)}


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    return "\n".join(lines).encode()


class _Rollback(Exception):
    pass


async def _validate(live: Live, rows: list[dict[str, str]]) -> importer.ImportReport:
    """Validate the rows the way the import does, inside a transaction that is then undone."""
    report = importer.ImportReport()
    try:
        async with live.services.unit_of_work() as db:
            report = await importer.validate_and_store(db, rows, now=_now())
            raise _Rollback
    except _Rollback:
        pass
    return report


def _now() -> Any:
    from tests.conftest import FIXED_NOW

    return FIXED_NOW
