"""A person can approve, reject or edit the plan and the remediations; the graph waits for them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from conftest import plan_turn, scenario, turn, write
from graph.builder import build_graph
from graph.context import RunContext
from graph.scripted import ScriptedChatModel
from state.errors import ConfigError

PLAN_A = plan_turn({"id": "A", "title": "a", "deliverables": ["a.txt"]})
PLAN_B = plan_turn({"id": "B", "title": "b", "deliverables": ["b.txt"]})
DEVS = {"A": [turn("", write("a.txt", "a")), turn("done")], "B": [turn("", write("b.txt", "b")), turn("done")]}


@pytest.fixture
def start(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False)

    def _start(scn, approve):
        graph = build_graph(ScriptedChatModel(scenario=scn), checkpointer=SqliteSaver(conn))
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": 500}
        context = RunContext(run_dir=str(tmp_path / "run"), approve=approve)
        state = graph.invoke({"goal": "g"}, config, context=context)
        return graph, config, context, state

    yield _start
    conn.close()


def _pending(graph, config) -> dict:
    [interrupt] = graph.get_state(config).interrupts
    return interrupt.value


def test_plan_waits_for_approval_then_runs(start) -> None:
    graph, config, context, state = start(scenario(manager={"plan": [PLAN_A]}, developer=DEVS), ["plan"])
    assert "report" not in state and _pending(graph, config)["kind"] == "plan"
    assert [t["id"] for t in _pending(graph, config)["tasks"]] == ["A"]
    assert not (Path(context.run_dir) / "workspace/a.txt").exists()
    final = graph.invoke(Command(resume={"action": "approve"}), config, context=context)
    assert final["report"].verdict == "PASS"


def test_a_rejected_plan_goes_back_to_the_manager_with_the_reason(start) -> None:
    scn = scenario(manager={"plan": [PLAN_A, PLAN_A, PLAN_B]}, developer=DEVS)
    graph, config, context, _ = start(scn, ["plan"])
    graph.invoke(Command(resume={"action": "reject", "reason": "do B instead"}), config, context=context)
    assert [t["id"] for t in _pending(graph, config)["tasks"]] == ["B"]
    final = graph.invoke(Command(resume="approve"), config, context=context)
    assert sorted(final["tasks"]) == ["B"] and final["report"].verdict == "PASS"
    assert final["plan_rounds"] == 2


def test_an_edited_plan_is_validated_and_used(start) -> None:
    graph, config, context, _ = start(scenario(manager={"plan": [PLAN_A]}, developer=DEVS), ["plan"])
    edited = [{"id": "B", "title": "b instead", "deliverables": ["b.txt"]}]
    final = graph.invoke(Command(resume={"action": "edit", "tasks": edited}), config, context=context)
    assert sorted(final["tasks"]) == ["B"] and final["tasks"]["B"].title == "b instead"
    assert final["report"].verdict == "PASS"


def test_a_rejected_remediation_never_runs_and_the_blocker_stays_open(start) -> None:
    scn = scenario(
        manager={"plan": [PLAN_A]},
        developer={"A": [turn("done, trust me")], "A.r1": [turn("", write("a.txt", "a")), turn("done")]},
    )
    graph, config, context, state = start(scn, ["remediation"])
    pending = _pending(graph, config)
    assert pending["kind"] == "remediation" and [t["id"] for t in pending["tasks"]] == ["A.r1"]
    final = graph.invoke(Command(resume={"action": "reject", "reason": "not worth it"}), config, context=context)
    assert final["tasks"]["A.r1"].status == "blocked" and final["tasks"]["A.r1"].attempts == 0
    assert final["report"].verdict == "FAIL"
    assert any("not worth it" in c.message for c in final["callbacks"])


def test_approval_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="approve accepts plan and remediation"):
        RunContext(approve=["everything"])
