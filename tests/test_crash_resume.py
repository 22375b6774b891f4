"""kill -9 at any point of a run, then `buildcrew resume`: the same report as an uninterrupted run.

Each kill point gets its own run: during a developer task, during a review, during final verification. After the
resume the verdict, the files (path and sha256) and the tasks equal those of a clean run; no task whose end was in
the audit trail before the kill starts again; the trail holds the resume marker. Also: a file removed while the
run is down is reported on resume, found lost by final verification, and remediated.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import RUNS, buildcrew, demo_scenario, file_hashes, plan, report, start_buildcrew, turn, write_scenario

pytestmark = pytest.mark.slow


def _trail(run_dir: Path) -> list[dict[str, Any]]:
    """The audit trail's whole lines (a line being appended right now is left for the next read)."""
    try:
        text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n") and line.strip()]


def _kill_when(
    process: subprocess.Popen, cwd: Path, op: str, task: str | None = None, timeout: float = 60
) -> tuple[Path, list[dict[str, Any]]]:
    """SIGKILL the run as soon as its trail shows ``op`` (for ``task``); the run folder and its trail then."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for trail in (cwd / RUNS).glob("*/events.jsonl"):
                if any(e["op"] == op and (task is None or e["task_id"] == task) for e in _trail(trail.parent)):
                    process.send_signal(signal.SIGKILL)
                    process.communicate()
                    return trail.parent, _trail(trail.parent)
            if process.poll() is not None:
                raise AssertionError(f"the run ended before {op}: {process.communicate()}")
            time.sleep(0.01)
        raise AssertionError(f"no {op} event appeared")
    finally:
        process.kill()


def _slow(folder: Path, scenario: dict[str, Any]) -> Path:
    path = folder / "slow.json"
    path.write_text(json.dumps(scenario | {"latency_s": 0.3}))
    return path


def _tasks(run_dir: Path) -> list[dict[str, Any]]:
    return report(run_dir)["tasks"]


def _check_resumed_like_clean(run_dir: Path, before: list[dict[str, Any]], clean: Path) -> None:
    assert report(run_dir)["verdict"] == report(clean)["verdict"] == "PASS"
    assert file_hashes(run_dir) == file_hashes(clean)
    assert {f["path"]: f["task"] for f in report(run_dir)["files"]} == {
        f["path"]: f["task"] for f in report(clean)["files"]
    }
    assert _tasks(run_dir) == _tasks(clean)
    after = _trail(run_dir)
    assert after[: len(before)] == before  # the trail continues; nothing before the kill is lost or rewritten
    ended = {e["task_id"] for e in before if e["op"] == "task_end"}
    restarted = {e["task_id"] for e in after[len(before) :] if e["op"] == "task_start"}
    assert not ended & restarted, f"finished task(s) ran again: {ended & restarted}"
    assert [e for e in after[len(before) :] if e["op"] == "resume"]
    assert after[0]["op"] == "accepted"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the demo."""
    cwd = tmp_path_factory.mktemp("clean")
    result = buildcrew(cwd, "run", "--runs-dir", RUNS)
    assert result.returncode == 0, result.stdout + result.stderr
    [run_dir] = (cwd / RUNS).iterdir()
    return run_dir


@pytest.mark.parametrize(
    ("op", "phase"), [("task_start", "develop"), ("audit_start", "audit"), ("final_verify_start", "final_verify")]
)
def test_killed_in_each_phase_resumes_to_the_clean_result(tmp_path: Path, clean: Path, op: str, phase: str) -> None:
    process = start_buildcrew(tmp_path, "run", "--scenario", str(_slow(tmp_path, demo_scenario())), "--runs-dir", RUNS)
    run_dir, before = _kill_when(process, tmp_path, op)
    assert not (run_dir / "report.json").exists(), f"the run finished before the kill in {phase}"
    resumed = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _check_resumed_like_clean(run_dir, before, clean)


def test_killed_on_postgresql_resumes_from_the_stored_checkpointer(
    tmp_path: Path, clean: Path, postgres_url: str, postgres_saver: Any
) -> None:
    process = start_buildcrew(
        tmp_path,
        "run",
        "--scenario",
        str(_slow(tmp_path, demo_scenario())),
        "--runs-dir",
        RUNS,
        "--checkpointer",
        postgres_url,
    )
    run_dir, before = _kill_when(process, tmp_path, "audit_start")
    assert not (run_dir / "checkpoints.sqlite").exists()
    resumed = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _check_resumed_like_clean(run_dir, before, clean)
    postgres_saver.delete_thread(run_dir.name)


def test_a_file_removed_while_the_run_is_down_is_reported_and_remediated(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path / "lose.json",
        latency_s=0.3,
        manager=plan(
            {"id": "T1", "title": "data", "deliverables": ["data.txt"]},
            {"id": "T2", "title": "more", "deliverables": ["more.txt"], "depends_on": ["T1"]},
        ),
        developer={
            "T1": [turn("", ("write_file", {"path": "data.txt", "content": "precious\n"})), turn("done")],
            "T2": [turn("", ("write_file", {"path": "more.txt", "content": "m\n"})), turn("done")],
            "T1.r1": [turn("", ("write_file", {"path": "data.txt", "content": "precious\n"})), turn("restored")],
        },
    )
    process = start_buildcrew(
        tmp_path, "run", "--scenario", str(scenario), "--verify-depth", "integrity", "--runs-dir", RUNS
    )
    run_dir, _ = _kill_when(process, tmp_path, "task_start", task="T2")  # T1's step is checkpointed by then
    recorded = next(e["sha256"] for e in _trail(run_dir) if e["op"] == "write" and e["path"] == "data.txt")
    (run_dir / "workspace" / "data.txt").unlink()

    resumed = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "workspace check: data.txt was removed while the run was down" in resumed.stdout
    [mismatch] = [e for e in _trail(run_dir) if e["op"] == "resume_integrity"]
    assert not mismatch["ok"] and mismatch["detail"] == {"path": "data.txt", "expected": recorded, "found": None}
    doc = report(run_dir)
    [lost] = [c for c in doc["callbacks"] if c["kind"] == "lost_file"]
    assert lost["path"] == "data.txt" and lost["resolved_by"] == "T1.r1"
    assert doc["verdict"] == "PASS" and not doc["unresolved_blockers"]
    assert (run_dir / "workspace" / "data.txt").read_text() == "precious\n"


PYTHON_RUN = textwrap.dedent("""
    import sqlite3, sys
    from langgraph.checkpoint.sqlite import SqliteSaver
    from graph.builder import build_graph
    from graph.context import RunContext
    run_dir, scenario = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(run_dir + "/checkpoints.sqlite", check_same_thread=False)
    graph = build_graph(checkpointer=SqliteSaver(conn))
    config = {"configurable": {"thread_id": "py"}, "recursion_limit": 10_000}
    graph.invoke({"goal": "g"}, config, context=RunContext(run_dir=run_dir, scenario=scenario), durability="sync")
""")


def test_a_graph_killed_under_python_completes_with_invoke_none(tmp_path: Path, clean: Path) -> None:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from graph.builder import build_graph
    from graph.context import RunContext

    run_dir = tmp_path / RUNS / "py"
    run_dir.mkdir(parents=True)
    scenario = str(_slow(tmp_path, demo_scenario()))
    process = subprocess.Popen(
        [sys.executable, "-c", PYTHON_RUN, str(run_dir), scenario],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, before = _kill_when(process, tmp_path, "audit_start")
    conn = sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False)
    try:
        graph = build_graph(checkpointer=SqliteSaver(conn))
        config = {"configurable": {"thread_id": "py"}, "recursion_limit": 10_000}
        state = graph.invoke(None, config, context=RunContext(run_dir=str(run_dir), scenario=scenario))
    finally:
        conn.close()
    assert state["report"].verdict == "PASS"
    assert file_hashes(run_dir) == file_hashes(clean)
    ended = {e["task_id"] for e in before if e["op"] == "task_end"}
    assert not ended & {e["task_id"] for e in _trail(run_dir)[len(before) :] if e["op"] == "task_start"}
