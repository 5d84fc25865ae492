"""Every flow, in every language, replayed from its transcript with a fixed clock."""

from pathlib import Path

import pytest

from bot.services import Services
from tests.transcripts.harness import load, replay

FOLDER = Path(__file__).parent / "transcripts"
FILES = sorted(FOLDER.glob("*.yaml"))
CASES = [(path, case.name) for path in FILES for case in load(path).cases]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "name"), CASES, ids=[f"{p.stem}:{n}" for p, n in CASES])
async def test_transcript(
    services: Services, path: Path, name: str, update_golden: bool, database_url: str
) -> None:
    transcript = load(path)
    case = next(c for c in transcript.cases if c.name == name)
    happened, facts = await replay(services, transcript, case)
    if update_golden:
        case.turns = happened
        case.expect = {k: facts[k] for k in case.expect} or facts
        _rewrite(path, transcript, case)
        return
    assert happened == case.turns
    assert {k: facts[k] for k in case.expect} == case.expect


def _rewrite(path: Path, transcript: object, case: object) -> None:
    from tests.transcripts.harness import dump

    header = "".join(
        line
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
        if line.startswith("#")
    )
    current = load(path)
    current.cases = [case if c.name == case.name else c for c in current.cases]  # type: ignore[attr-defined]
    path.write_text(dump(current, header), encoding="utf-8")


def test_every_flow_has_transcripts_in_every_language() -> None:
    from bot.services import load_registry

    covered = {(load(p).flow, load(p).lang) for p in FILES}
    wanted = {(flow, lang) for flow in load_registry() for lang in ("fr", "ar", "wo")}
    assert wanted <= covered, sorted(wanted - covered)
