"""Flow files: every packaged flow loads and validates; bad files fail naming file and step."""

import pytest

from bot.services import flow_texts
from flows import build_registry
from flows.definition import FlowError, parse_flow
from flows.validate import validate

GOOD = """
id: demo
start: ask
nodes:
  - id: ask
    actions:
      - ask:
          text: "Viendrez-vous ?"
          choices:
            - {id: "yes", label: "Oui"}
            - {id: "no", label: "Non"}
    wait: {question: attendance, timeout_hours: 24}
    exits: {"yes": thanks, "no": thanks}
  - id: thanks
    actions:
      - send_text: {text: "Merci."}
"""


def test_every_packaged_flow_loads_and_validates() -> None:
    registry = build_registry(flow_texts())
    assert {"invitation", "reminder", "intake", "wellbeing", "attendance"} <= set(registry)
    for flow in registry.values():
        assert validate(flow) == [], flow.id


def test_a_dangling_step_names_the_file_and_the_step() -> None:
    broken = GOOD.replace('"no": thanks', '"no": goodbye')
    with pytest.raises(FlowError, match=r"demo\.yaml:\d+: step 'ask' goes to 'goodbye'"):
        parse_flow(broken, source="demo.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('{"yes": thanks, "no": thanks}', "{yes: thanks, no: thanks}"), "keys must be strings"),
        (('"Merci."', "Merci."), "must be in double quotes"),
        (("send_text:", "send_txt:"), "unknown key 'send_txt'"),
        (("start: ask", "start: nowhere"), "start step 'nowhere' does not exist"),
        (("timeout_hours: 24", "timeout_hours: soon"), "timeout_hours must be a number"),
    ],
)
def test_bad_flow_files_get_a_clear_error(change: tuple[str, str], message: str) -> None:
    with pytest.raises(FlowError, match=message) as error:
        parse_flow(GOOD.replace(*change), source="demo.yaml")
    assert str(error.value).startswith("demo.yaml")


def test_duplicate_flow_ids_name_both_files() -> None:
    with pytest.raises(FlowError, match=r"b\.yaml: flow id 'demo' already defined in a\.yaml"):
        build_registry({"a.yaml": GOOD, "b.yaml": GOOD})


def test_unreachable_steps_are_reported() -> None:
    extra = (
        GOOD
        + """  - id: orphan
    actions:
      - send_text: {text: "Perdu."}
"""
    )
    assert validate(parse_flow(extra, source="demo.yaml")) == [
        "demo.yaml: step 'orphan' (line 17) cannot be reached from the start"
    ]
