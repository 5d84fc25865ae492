"""Build the set of flows the host runs from the definition files' text."""

from collections.abc import Mapping

from flows.definition import FlowError, parse_flow
from flows.model import Flow


def build_registry(texts: Mapping[str, str]) -> Mapping[str, Flow]:
    """Parse every flow (file name -> YAML text); refuse duplicates with both file names."""
    flows: dict[str, Flow] = {}
    for source, text in sorted(texts.items()):
        flow = parse_flow(text, source=source)
        if flow.id in flows:
            raise FlowError(
                f"{source}: flow id {flow.id!r} already defined in {flows[flow.id].source}"
            )
        flows[flow.id] = flow
    return flows
