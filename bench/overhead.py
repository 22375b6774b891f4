"""Figure 2: orchestration overhead per model call, buildcrew against a bare LangGraph tool loop.

Both run the same project serially (buildcrew at max_concurrency 1), so their model calls never overlap and

    framework time per call = (wall time - model calls * latency) / model calls

is what each spends around a model call: graph steps, checkpoints, tools, audit trail, checks.
"""

from __future__ import annotations

from pathlib import Path

from bench.bare import run_bare
from bench.report import Row, Section, median, spread
from bench.scenarios import model_calls, project
from bench.team import BenchError, run_team


def per_call_ms(wall_s: float, calls: int, latency: float) -> float:
    return (wall_s - calls * latency) / calls * 1000


def measure(workdir: Path, *, tasks: int, latency: float, repeats: int) -> Section:
    scenario = project(tasks, latency)
    ours, bare = [], []
    for r in range(repeats):
        for kind in ("team", "bare") if r % 2 == 0 else ("bare", "team"):
            if kind == "team":
                run = run_team(scenario, workdir / f"overhead-team-{r}", max_concurrency=1)
                wall, calls = run.wall_s, run.model_calls
            else:
                bare_run = run_bare(scenario, workdir / f"overhead-bare-{r}")
                wall, calls = bare_run.wall_s, bare_run.model_calls
            if calls != model_calls(tasks):
                raise BenchError(f"{kind} made {calls} model calls, expected {model_calls(tasks)}")
            (ours if kind == "team" else bare).append(per_call_ms(wall, calls, latency))
    ratios = [o / b for o, b in zip(ours, bare, strict=True)]
    fig = "2. overhead"
    rows = [
        Row(
            fig,
            "framework time per model call, buildcrew / bare loop",
            median(ratios),
            "x",
            "<= 1.5x",
            median(ratios) <= 1.5,
        ),
        Row(fig, "diagnostic: buildcrew framework time per call", median(ours), "ms"),
        Row(fig, "diagnostic: bare loop framework time per call", median(bare), "ms"),
    ]
    details = [
        f"{tasks} tasks, {model_calls(tasks)} model calls per run, {latency} s per call, run serially; "
        f"{repeats} repeat(s)",
        f"buildcrew framework ms per call: {spread(ours)}",
        f"bare loop framework ms per call: {spread(bare)}",
        f"ratio per repeat: {', '.join(f'{x:.2f}' for x in ratios)}",
    ]
    return Section("Figure 2: orchestration overhead", rows, details)
