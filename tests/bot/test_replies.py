"""The rule for a reply by hand (free text, the approved template, SMS, or a call), and the
templates file that says which templates exist and how they read."""

import re
from datetime import timedelta

import pytest

from bot.db.models import Address, Returnee
from bot.replies import ReplyOptions, ReplyRefused, options, route
from bot.templates import TemplateError, fill, load_catalog, load_templates, wording
from tests.conftest import FIXED_NOW

SID = "HX" + "a" * 32
TEMPLATES = {("manual", "ar"): SID}
TEXTS = {("manual", "ar"): "Bonjour {{1}}, votre conseiller vous écrit : {{2}}"}


def person(channel: str = "whatsapp", **fields: object) -> Returnee:
    values: dict[str, object] = {
        "id": 1,
        "name": "Sami Trabelsi",
        "language": "ar",
        "channel": channel,
        "opted_out": False,
        "consent": "given",
    }
    return Returnee(**{**values, **fields})


def addresses(
    *, wrote_hours_ago: float | None = None, sms: bool = True, sms_opted_out: bool = False
) -> list[Address]:
    last = None if wrote_hours_ago is None else FIXED_NOW - timedelta(hours=wrote_hours_ago)
    out = [Address(channel="whatsapp", address="+21620123456", last_inbound_at=last)]
    if sms:
        out.append(Address(channel="sms", address="+21620123456", opted_out=sms_opted_out))
    return out


def decide(returnee: Returnee, found: list[Address], *, templates: bool = True) -> ReplyOptions:
    return options(
        returnee,
        found,
        FIXED_NOW,
        templates=TEMPLATES if templates else {},
        texts=TEXTS if templates else {},
    )


def test_inside_the_window_free_text_goes_on_their_channel() -> None:
    opts = decide(person(), addresses(wrote_hours_ago=23))
    assert opts == ReplyOptions(free_text=True, sms=True)
    assert not opts.choice_needed
    assert route(opts, "whatsapp", as_template=False, by_sms=False) == "whatsapp"
    assert route(opts, "whatsapp", as_template=True, by_sms=False) == "whatsapp"
    assert route(opts, "whatsapp", as_template=False, by_sms=True) == "sms"


def test_outside_the_window_the_template_is_offered_with_its_wording() -> None:
    opts = decide(person(), addresses(wrote_hours_ago=25))
    assert opts.choice_needed
    assert opts.template
    assert opts.preview("Sami") == "Bonjour Sami, votre conseiller vous écrit : …"
    assert route(opts, "whatsapp", as_template=True, by_sms=False) == "whatsapp"
    with pytest.raises(ReplyRefused) as refused:
        route(opts, "whatsapp", as_template=False, by_sms=False)
    assert refused.value.reason == "choice_required"


def test_a_template_without_known_wording_is_still_offered() -> None:
    opts = options(person(), addresses(), FIXED_NOW, templates=TEMPLATES, texts={})
    assert opts.template
    assert opts.template_text is None
    assert opts.preview("Sami") is None


def test_without_a_template_sms_is_offered_explicitly() -> None:
    opts = decide(person(), addresses(), templates=False)  # never wrote: window closed
    assert opts == ReplyOptions(sms=True)
    assert route(opts, "whatsapp", as_template=False, by_sms=True) == "sms"
    for as_template, reason in ((False, "choice_required"), (True, "no_template")):
        with pytest.raises(ReplyRefused) as refused:
            route(opts, "whatsapp", as_template=as_template, by_sms=False)
        assert refused.value.reason == reason


@pytest.mark.parametrize("found", [addresses(sms=False), addresses(sms_opted_out=True)])
def test_without_a_template_or_sms_the_caseworker_calls(found: list[Address]) -> None:
    opts = decide(person(), found, templates=False)
    assert opts.blocked == "window_closed"
    with pytest.raises(ReplyRefused) as refused:
        route(opts, "whatsapp", as_template=True, by_sms=True)
    assert refused.value.reason == "window_closed"
    assert "call" in str(refused.value)


@pytest.mark.parametrize(
    ("returnee", "found", "reason"),
    [
        (person(opted_out=True), addresses(wrote_hours_ago=1), "opted_out"),
        (person(consent="withdrawn"), addresses(wrote_hours_ago=1), "consent_withdrawn"),
        (person(channel="telegram"), addresses(wrote_hours_ago=1), "no_address"),
    ],
)
def test_no_reply_at_all(returnee: Returnee, found: list[Address], reason: str) -> None:
    opts = decide(returnee, found)
    assert opts.blocked == reason
    with pytest.raises(ReplyRefused):
        route(opts, returnee.channel, as_template=True, by_sms=True)


def test_sms_and_telegram_have_no_window() -> None:
    sms_person = person(channel="sms")
    opts = decide(sms_person, addresses())
    assert opts == ReplyOptions(free_text=True, sms=False)  # SMS is already their channel
    with pytest.raises(ReplyRefused) as refused:
        route(opts, "sms", as_template=False, by_sms=True)
    assert refused.value.reason == "no_sms"


def test_the_templates_file_takes_bare_sids_and_wordings() -> None:
    text = f"""
manual:
  fr: {{sid: "{SID}", text: "Bonjour {{{{1}}}} : {{{{2}}}}"}}
  ar: "{SID}"
invitation:
  wo: "{SID}"
"""
    catalog = load_catalog(text, source="t.yaml")
    assert catalog[("manual", "fr")].text == "Bonjour {{1}} : {{2}}"
    assert catalog[("manual", "ar")].text is None
    assert load_templates(text, source="t.yaml") == {
        ("manual", "fr"): SID,
        ("manual", "ar"): SID,
        ("invitation", "wo"): SID,
    }
    assert wording(catalog) == {("manual", "fr"): "Bonjour {{1}} : {{2}}"}
    assert fill("Bonjour {{1}} : {{2}}", "Awa", "à demain") == "Bonjour Awa : à demain"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('manual: {fr: "HX12"}', "manual.fr: not a Content SID"),
        ('manual: {fr: {text: "x"}}', "manual.fr: not a Content SID"),
        (f'manual: {{fr: {{sid: "{SID}", body: "x"}}}}', "manual.fr: unknown key(s) body"),
        (f'manual: {{fr: {{sid: "{SID}", text: 3}}}}', "manual.fr: text must be a string"),
        ("manual: [fr]", "manual: expected a mapping of languages"),
    ],
)
def test_a_bad_templates_file_names_the_entry(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(f"t.yaml: {problem}")):
        load_catalog(text, source="t.yaml")
