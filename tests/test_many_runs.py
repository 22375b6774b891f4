"""20 runs at once on one PostgreSQL database: the right verdicts, and nothing crosses between runs.

Ten runs pass (each writes its own file with its own content); ten fail (each writes its own file but never
its deliverable). Every workspace then holds exactly its own file, and every run's checkpointed state (read
back from PostgreSQL through the graph) holds only its own task, files and goal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import RUNS, cli_env, plan, report, turn, write_scenario

from graph.builder import build_graph
from graph.checkpointers import open_postgres

pytestmark = pytest.mark.slow

RUNS_AT_ONCE = 20


def _scenario(folder: Path, number: int) -> tuple[Path, bool, str]:
    """Run ``number``'s scenario, whether it passes, and the content of its own file."""
    passes = number % 2 == 0
    name, content = f"own-{number}.txt", f"run {number}, seed {number * 7919 % 1000}\n"
    deliverable = name if passes else f"never-{number}.txt"
    path = write_scenario(
        folder / f"s{number}.json",
        goal=f"goal of run {number}",
        manager=plan({"id": f"R{number}", "title": f"run {number}", "deliverables": [deliverable]}),
        developer={f"R{number}": [turn("", ("write_file", {"path": name, "content": content})), turn("done")]},
    )
    return path, passes, content


def test_twenty_runs_at_once_on_one_database_keep_to_themselves(tmp_path: Path, postgres_url: str) -> None:
    started = time.monotonic()
    plans = [_scenario(tmp_path, number) for number in range(RUNS_AT_ONCE)]
    processes = []
    for number, (scenario, _, _) in enumerate(plans):
        cwd = tmp_path / f"cwd{number}"
        cwd.mkdir()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "graph.cli",
                    "run",
                    "--scenario",
                    str(scenario),
                    "--checkpointer",
                    postgres_url,
                    "--verify-depth",
                    "integrity",
                    "--max-attempts",
                    "1",
                    "--runs-dir",
                    str(tmp_path / RUNS),
                ],
                cwd=cwd,
                env=cli_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=300) for process in processes]
    elapsed = time.monotonic() - started

    run_dirs = sorted((tmp_path / RUNS).iterdir())
    assert len(run_dirs) == RUNS_AT_ONCE
    by_goal = {report(run_dir)["goal"]: run_dir for run_dir in run_dirs}
    with open_postgres(postgres_url) as saver:
        graph = build_graph(checkpointer=saver)
        for number, ((_, passes, content), process, (stdout, stderr)) in enumerate(
            zip(plans, processes, outputs, strict=True)
        ):
            assert process.returncode == (0 if passes else 1), stdout + stderr
            run_dir = by_goal[f"goal of run {number}"]
            doc = report(run_dir)
            assert doc["verdict"] == ("PASS" if passes else "FAIL")
            assert json.loads((run_dir / "run.json").read_text())["checkpointer"] == postgres_url
            assert sorted(p.name for p in (run_dir / "workspace").iterdir()) == [f"own-{number}.txt"]
            assert (run_dir / "workspace" / f"own-{number}.txt").read_text() == content
            state = graph.get_state({"configurable": {"thread_id": run_dir.name}}).values
            assert state["goal"] == f"goal of run {number}"
            assert list(state["tasks"]) == [f"R{number}"]
            assert list(state["files_created"]) == [f"own-{number}.txt"]
            blockers = [c.task_id for c in state.get("callbacks") or [] if c.severity == "blocker"]
            assert blockers == ([] if passes else [f"R{number}"])
            saver.delete_thread(run_dir.name)
    print(f"{RUNS_AT_ONCE} runs at once on PostgreSQL: {elapsed:.1f} s")  # noqa: T201 - shown with -s
