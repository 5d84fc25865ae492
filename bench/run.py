"""Run every benchmark, one after the other, and print one Markdown report (`make bench`).

Run: .venv/bin/python bench/run.py [--only inbound delivery] [--timeout 600] [--output FILE]

Each bench runs as its own process with a timeout (its process group is killed when it runs
over). A bench prints its table as Markdown rows ("| ...", "|---|") and its key figures as a line
`BENCH {...}`; a bench that prints no rows is quoted by the tail of its output instead. The
report starts with the machine the figures were measured on: figures from a shared, noisy
machine are only comparable within one run, so the benches quote ratios and medians.
Exit 1 if a bench failed, timed out or missed a target.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = [
    "bench_understanding.py",
    "bench_inbound.py",
    "bench_delivery.py",
    "bench_crash.py",
    "bench_fanout.py",
    "bench_scaleout.py",
    "bench_pgrestart.py",
    "bench_dashboard.py",
    "bench_keys.py",
    "bench_hostile.py",
]
TAIL_LINES = 15


@dataclass
class Outcome:
    """What one bench printed and how it ended."""

    name: str
    status: str  # "ok", "exit N", "timeout"
    seconds: float
    rows: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Ran to the end with exit status 0."""
        return self.status == "ok"


def run_one(script: Path, timeout: float) -> Outcome:
    """Run one bench in its own process group; collect its rows and figures."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the bench and the servers it started
        out, _ = proc.communicate()
        status = f"timeout after {timeout:.0f} s"
    outcome = Outcome(script.stem.removeprefix("bench_"), status, time.monotonic() - started)
    lines = out.splitlines()
    for line in lines:
        if line.startswith(("| ", "|-")):  # rows and the header's separator
            outcome.rows.append(line)
        elif line.startswith("BENCH "):
            try:
                outcome.figures = json.loads(line.removeprefix("BENCH "))
            except ValueError:
                outcome.tail.append(line)
    if not outcome.rows or not (outcome.ok or outcome.figures):  # no table, or it crashed
        outcome.tail = lines[-TAIL_LINES:]
    return outcome


def machine() -> list[str]:
    """The machine and the moment: what the figures were measured on."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"- measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- machine: {cores} cores (`nproc`), {cpu}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- load average at start (1 / 5 / 15 min): {load}",
    ]


def _figures(outcome: Outcome) -> str:
    shown = {k: v for k, v in outcome.figures.items() if k not in ("bench", "targets_held")}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "(no BENCH line)"


def report(outcomes: list[Outcome], header: list[str]) -> str:
    """The combined Markdown report."""
    out = ["# returnee-bot benchmarks (`make bench`)", "", *header, ""]
    out += ["| bench | status | targets | seconds | key figures |", "|---|---|---|---:|---|"]
    for o in outcomes:
        held = o.figures.get("targets_held")
        targets = "held" if held is True else "MISSED" if held is False else "-"
        out.append(f"| {o.name} | {o.status} | {targets} | {o.seconds:.0f} | {_figures(o)} |")
    for o in outcomes:
        out += ["", f"## {o.name}", ""]
        out += o.rows
        if o.tail:
            out += ["", "```", *o.tail, "```"]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    out += ["", f"Load average at the end (1 / 5 / 15 min): {load}"]
    return "\n".join(out)


def main() -> int:
    """Run the benches that exist, in order; print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="e.g. inbound delivery")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per bench")
    parser.add_argument("--output", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    scripts = [HERE / name for name in ORDER if (HERE / name).exists()]
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    header = machine()
    outcomes = []
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        outcome = run_one(script, args.timeout)
        print(f"  {outcome.status} in {outcome.seconds:.0f} s", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    text = report(outcomes, header)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    missed = any(o.figures.get("targets_held") is False for o in outcomes)
    return 0 if all(o.ok for o in outcomes) and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
