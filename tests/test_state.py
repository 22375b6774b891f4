"""State: reducers merge parallel updates without loss, and state survives the checkpoint serializer."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.builder import build_graph
from graph.context import RunContext
from graph.scripted import load_scenario
from state.models import Callback, FileRecord, Task, VerificationReport
from state.reducers import merge_callbacks, merge_files, merge_tasks

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def test_tasks_merge_by_id_and_accept_plain_dicts() -> None:
    merged = merge_tasks({"A": Task(id="A", title="a")}, [Task(id="B", title="b"), {"id": "A", "title": "a2"}])
    assert sorted(merged) == ["A", "B"] and merged["A"].title == "a2"


def test_callbacks_append_and_a_known_id_updates_in_place() -> None:
    first = Callback(id="1", source="auditor", severity="blocker", message="bad")
    second = Callback(id="2", source="developer", severity="info", message="note")
    merged = merge_callbacks([first], [second, first.model_copy(update={"resolved_by": "T1.r1"})])
    assert [c.id for c in merged] == ["1", "2"] and merged[0].resolved_by == "T1.r1"


def test_files_merge_by_path_the_later_operation_wins_whatever_the_arrival_order() -> None:
    old = FileRecord(path="a", size=1, sha256="x", task_id="T1", role="developer", operation="write")
    new = FileRecord(path="a", size=1, sha256="y", task_id="T2", role="developer", operation="write")
    assert merge_files({"a": old}, [new])["a"].task_id == "T2"
    assert merge_files({"a": new}, [old])["a"].task_id == "T2", "a late-arriving older write must not win"
    assert merge_files({}, [new, old])["a"].task_id == "T2"


def test_invalid_task_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="task id"):
        Task(id="../x", title="t")


def test_state_round_trips_through_the_checkpoint_serializer_without_warnings(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    conn = sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False)
    graph = build_graph(checkpointer=SqliteSaver(conn))
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": 200}
    graph.invoke({"goal": "g"}, config, context=RunContext(run_dir=str(tmp_path / "run")))
    conn.close()
    conn = sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False)
    reloaded = build_graph(checkpointer=SqliteSaver(conn)).get_state(config).values
    conn.close()
    assert isinstance(reloaded["report"], VerificationReport) and reloaded["report"].verdict == "PASS"
    assert all(isinstance(t, Task) for t in reloaded["tasks"].values())
    assert all(isinstance(c, Callback) for c in reloaded["callbacks"])
    noisy = [
        r.getMessage()
        for r in caplog.records
        if "unregistered" in r.getMessage().lower() or "blocked" in r.getMessage().lower()
    ]
    assert not noisy


def test_state_holds_metadata_never_file_contents(tmp_path: Path) -> None:
    state = build_graph().invoke(
        {"goal": "g"}, {"recursion_limit": 200}, context=RunContext(run_dir=str(tmp_path / "run"))
    )
    dumped = JsonPlusSerializer().dumps_typed(state)[1]
    content = (tmp_path / "run/workspace/textkit/slug.py").read_bytes()
    assert content[:60] not in dumped and b"def slugify" not in dumped


def test_graph_shape_is_pinned() -> None:
    assert build_graph().get_graph().draw_mermaid() == SNAPSHOT.read_text(), (
        "the graph's shape changed: if intended, regenerate tests/snapshots/graph.mmd"
    )


def test_bundled_demo_scenario_loads() -> None:
    assert load_scenario(None).name == "demo"


def test_reducers_accept_plain_dicts_on_both_sides_and_naive_times() -> None:
    record = {
        "path": "a",
        "size": 1,
        "sha256": "x",
        "task_id": "T1",
        "role": "developer",
        "operation": "write",
        "time": "2030-01-01T00:00:00",
    }
    newer = FileRecord(path="a", size=2, sha256="y", task_id="T2", role="developer", operation="write")
    assert merge_files({"a": record}, [newer])["a"].task_id == "T1", "2030 is later than now"
    callback = {"id": "c1", "source": "auditor", "severity": "blocker", "message": "m"}
    assert [c.id for c in merge_callbacks([callback], {"c2": {**callback, "id": "c2"}})] == ["c1", "c2"]
    assert merge_tasks({"A": {"id": "A", "title": "a"}}, [])["A"].title == "a"
