"""The pure engine: start, resume, reprompt, handoff after two misses, timeouts, scores."""

from datetime import UTC, datetime, timedelta

import pytest

import flows
from flows import serialize
from flows.definition import parse_flow
from flows.events import (
    ErrorLogged,
    FieldChanged,
    FlowEnded,
    HandoffRequested,
    MessageCreated,
    WaitStarted,
)
from tests.flows.test_definition import GOOD

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FLOW = parse_flow(GOOD, source="demo.yaml")
SCORED = parse_flow(
    """
id: scored
start: ask
nodes:
  - id: ask
    actions:
      - ask: {text: "Note ?", choices: [{id: "1", label: "1"}, {id: "2", label: "2"}]}
    wait: {question: wellbeing}
    exits: {"score:1-2": low, "score:3-5": fine}
  - id: low
    actions: [{send_text: {text: "Mal."}}]
  - id: fine
    actions: [{send_text: {text: "Bien."}}]
""",
    source="scored.yaml",
)


def _waiting() -> flows.Session:
    return flows.start(FLOW, fields={"enrollment_id": "7"}, now=NOW).session


def test_start_asks_and_waits_with_a_timeout() -> None:
    sprint = flows.start(FLOW, fields={}, now=NOW)
    assert sprint.session.status is flows.Status.WAITING
    assert sprint.session.node_id == "ask"
    asked, waited = sprint.events
    assert isinstance(asked, MessageCreated)
    assert [c.id for c in asked.choices] == ["yes", "no"]
    assert isinstance(waited, WaitStarted)
    assert waited.timeout_at == NOW + timedelta(hours=24)


def test_an_answer_takes_its_exit_and_ends_the_run() -> None:
    sprint = flows.resume(
        FLOW, _waiting(), flows.MessageReceived(text="oui", intent="yes"), now=NOW
    )
    assert sprint.session.status is flows.Status.COMPLETED
    assert [type(e) for e in sprint.events] == [MessageCreated, FlowEnded]


def test_a_button_press_wins_over_the_text() -> None:
    reply = flows.MessageReceived(text="", intent="unknown", choice_id="no")
    assert flows.resume(FLOW, _waiting(), reply, now=NOW).session.status is (flows.Status.COMPLETED)


def test_one_miss_reprompts_and_the_second_goes_to_a_person() -> None:
    miss = flows.MessageReceived(text="bof", intent="unknown")
    first = flows.resume(FLOW, _waiting(), miss, now=NOW)
    assert first.session.status is flows.Status.WAITING
    assert first.session.misses == 1
    (reprompt,) = first.events
    assert isinstance(reprompt, MessageCreated)
    assert reprompt.reprompt
    second = flows.resume(FLOW, first.session, miss, now=NOW)
    assert second.session.status is flows.Status.INTERRUPTED
    handoff, ended = second.events
    assert isinstance(handoff, HandoffRequested)
    assert handoff.kind == "not_understood"
    assert isinstance(ended, FlowEnded)


def test_a_timeout_without_a_timeout_exit_expires_the_run() -> None:
    sprint = flows.resume(FLOW, _waiting(), flows.WaitTimedOut(), now=NOW)
    assert sprint.session.status is flows.Status.EXPIRED


@pytest.mark.parametrize(("score", "node_text"), [(1, "Mal."), (2, "Mal."), (4, "Bien.")])
def test_scores_route_by_range_and_are_recorded(score: int, node_text: str) -> None:
    waiting = flows.start(SCORED, fields={}, now=NOW).session
    sprint = flows.resume(
        SCORED,
        waiting,
        flows.MessageReceived(text=str(score), intent="score", score=score),
        now=NOW,
    )
    recorded, said, _ = sprint.events
    assert recorded == FieldChanged(field="score", value=str(score))
    assert isinstance(said, MessageCreated)
    assert said.msgid == node_text


def test_a_digit_button_is_a_score() -> None:
    waiting = flows.start(SCORED, fields={}, now=NOW).session
    sprint = flows.resume(SCORED, waiting, flows.MessageReceived(text="", choice_id="2"), now=NOW)
    assert sprint.events[0] == FieldChanged(field="score", value="2")


def test_misuse_raises() -> None:
    done = flows.resume(
        FLOW, _waiting(), flows.MessageReceived(text="", intent="yes"), now=NOW
    ).session
    with pytest.raises(flows.EngineError, match="completed"):
        flows.resume(FLOW, done, flows.WaitTimedOut(), now=NOW)
    with pytest.raises(flows.EngineError, match="no entry"):
        flows.start(FLOW, fields={}, now=NOW, at="nowhere")


def test_a_loop_without_a_wait_ends_with_an_error_event() -> None:
    looping = parse_flow(
        """
id: loop
start: a
nodes:
  - {id: a, next: b}
  - {id: b, next: a}
""",
        source="loop.yaml",
    )
    sprint = flows.start(looping, fields={}, now=NOW)
    assert isinstance(sprint.events[0], ErrorLogged)
    assert sprint.session.status is flows.Status.COMPLETED


def test_sessions_survive_serialization() -> None:
    session = flows.resume(
        FLOW, _waiting(), flows.MessageReceived(text="?", intent="unknown"), now=NOW
    ).session
    assert serialize.load(serialize.dump(session)) == session
    with pytest.raises(ValueError, match="unknown session version"):
        serialize.load({**serialize.dump(session), "version": 99})
