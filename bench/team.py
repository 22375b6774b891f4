"""One buildcrew run of a scripted project, timed, on the product's own SQLite checkpointer setup."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from graph.builder import build_graph
from graph.checkpointers import open_sqlite
from graph.context import RunContext
from graph.scripted import Scenario, ScriptedChatModel

RECURSION_LIMIT = 10_000


class BenchError(RuntimeError):
    """A benchmark run did not do the work it was scripted to do, so its timing means nothing."""


@dataclass
class TeamRun:
    wall_s: float
    """Seconds spent in ``graph.invoke`` (graph compilation excluded)."""
    state: dict[str, Any]
    run_dir: Path

    @property
    def model_calls(self) -> int:
        return sum(u.calls for u in self.state.get("usage") or [])


def run_team(
    scenario: Scenario,
    run_dir: Path,
    *,
    max_concurrency: int,
    model: BaseChatModel | None = None,
    pool: int | None = None,
) -> TeamRun:
    """Run the team graph to its end; ``pool`` sets LangGraph's own thread pool (config max_concurrency)."""
    run_dir.mkdir(parents=True)
    context = RunContext(run_dir=str(run_dir), verify_depth="integrity", max_concurrency=max_concurrency)
    config: dict[str, Any] = {"configurable": {"thread_id": run_dir.name}, "recursion_limit": RECURSION_LIMIT}
    if pool is not None:
        config["max_concurrency"] = pool
    with open_sqlite(run_dir / "checkpoints.sqlite") as saver:
        graph = build_graph(model or ScriptedChatModel(scenario=scenario), checkpointer=saver)
        start = time.perf_counter()
        state = graph.invoke({"goal": scenario.goal}, config, context=context)
        wall = time.perf_counter() - start
    run = TeamRun(wall, state, run_dir)
    report = state.get("report")
    if report is None or report.verdict != "PASS":
        raise BenchError(f"run {run_dir} did not pass: {getattr(report, 'reason', 'no report')}")
    return run
