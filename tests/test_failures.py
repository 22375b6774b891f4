"""Failures stay contained, are kept whole, and always end in a final verification report."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import plan_turn, scenario, turn, write
from graph.context import RunContext
from tools.audit import AuditTrail


def test_an_api_error_in_one_task_leaves_the_others_to_finish(run_scenario) -> None:
    scn = scenario(
        manager={
            "plan": [
                plan_turn(
                    {"id": "A", "title": "a", "deliverables": ["a.txt"]},
                    {"id": "B", "title": "b", "deliverables": ["b.txt"]},
                )
            ]
        },
        developer={
            "A": [turn("", write("a.txt", "a")), {"error": "503 upstream overloaded"}],
            "B": [turn("", write("b.txt", "b")), turn("done")],
        },
    )
    run = run_scenario(scn)
    tasks = run.state["tasks"]
    assert tasks["A"].status == "failed" and tasks["B"].status == "done"
    assert "A.r1" not in tasks, "a model API error is not retried as a task"
    [error] = [e for e in run.state["errors"] if e.tool == "model"]
    assert error.task_id == "A" and "503 upstream overloaded" in error.message
    assert "Traceback" in error.traceback and error.tool_calls_made and "write_file" in error.tool_calls_made[0]
    assert run.report.verdict == "FAIL"
    assert (run.workspace / "b.txt").exists()


def test_final_verification_runs_even_when_planning_fails(run_scenario) -> None:
    cyclic = plan_turn({"id": "A", "title": "a", "depends_on": ["B"]}, {"id": "B", "title": "b", "depends_on": ["A"]})
    run = run_scenario(scenario(manager={"plan": [cyclic, cyclic]}))
    assert run.state["plan_status"] == "invalid"
    [blocker] = run.blockers()
    assert blocker.kind == "plan_invalid" and "dependency cycle" in blocker.message
    assert run.report.verdict == "FAIL"
    assert json.loads((run.run_dir / "report.json").read_text())["verdict"] == "FAIL"


def test_an_invalid_plan_gets_one_repair_with_its_errors_shown(run_scenario) -> None:
    bad = plan_turn(
        {"id": "A", "title": "a", "deliverables": ["../outside.txt"]}, {"id": "A", "title": "dup", "depends_on": ["Z"]}
    )
    good = plan_turn({"id": "A", "title": "a", "deliverables": ["a.txt"]})
    scn = scenario(manager={"plan": [bad, good]}, developer={"A": [turn("", write("a.txt", "a")), turn("done")]})
    run = run_scenario(scn)
    assert run.state["plan_status"] == "ok" and run.report.verdict == "PASS"
    [proposal] = AuditTrail(run.run_dir / "events.jsonl", "x").events(op="plan_proposal", errors=True)
    problems = " ".join(proposal.detail["problems"])
    assert "duplicate task id 'A'" in problems and "unknown task 'Z'" in problems and "../outside.txt" in problems


def test_a_plan_the_model_never_submits_becomes_a_blocker(run_scenario) -> None:
    run = run_scenario(scenario(manager={"plan": [turn("I think we should write code."), turn("Still no plan.")]}))
    [blocker] = run.blockers()
    assert "no submit_plan call" in blocker.message and run.report.verdict == "FAIL"


def test_a_dependency_waits_for_its_prerequisite(run_scenario) -> None:
    scn = scenario(
        manager={
            "plan": [
                plan_turn(
                    {"id": "B", "title": "uses a", "deliverables": ["b.txt"], "depends_on": ["A"]},
                    {"id": "A", "title": "a", "deliverables": ["a.txt"]},
                )
            ]
        },
        developer={
            "A": [turn("", write("a.txt", "from A")), turn("done")],
            "B": [turn("", ("read_file", {"path": "a.txt"})), turn("", write("b.txt", "saw a")), turn("ok")],
        },
    )
    run = run_scenario(scn)
    events = list(AuditTrail(run.run_dir / "events.jsonl", "x"))
    a_end = next(i for i, e in enumerate(events) if e.op == "task_end" and e.task_id == "A")
    b_start = next(i for i, e in enumerate(events) if e.op == "task_start" and e.task_id == "B")
    assert a_end < b_start
    assert next(e for e in events if e.op == "read" and e.task_id == "B").ok
    assert run.report.verdict == "PASS"


def test_a_failed_prerequisite_blocks_its_dependents_instead_of_hanging(run_scenario) -> None:
    scn = scenario(
        manager={
            "plan": [
                plan_turn(
                    {"id": "A", "title": "a", "deliverables": ["a.txt"]},
                    {"id": "B", "title": "b", "deliverables": ["b.txt"], "depends_on": ["A"]},
                )
            ]
        },
        developer={"A": [{"error": "401 invalid api key"}]},
    )
    run = run_scenario(scn)
    assert run.state["tasks"]["B"].status == "blocked"
    assert any(b.kind == "dependency_failed" and b.task_id == "B" for b in run.blockers())
    assert run.report.verdict == "FAIL"


def test_the_run_stops_before_the_recursion_limit_and_still_verifies(run_scenario) -> None:
    tasks = [
        {"id": f"T{i}", "title": f"t{i}", "deliverables": [f"f{i}"], "depends_on": [f"T{i - 1}"] if i else []}
        for i in range(12)
    ]
    developer = {f"T{i}": [turn("", write(f"f{i}", "x")), turn("done")] for i in range(12)}
    scn = scenario(manager={"plan": [plan_turn(*tasks)]}, developer=developer)
    run = run_scenario(scn)
    assert run.report.verdict == "PASS", "with room to finish, the chain of 12 tasks passes"
    config = {"configurable": {"thread_id": f"short-{uuid.uuid4().hex}"}, "recursion_limit": 12}
    state = run.graph.invoke({"goal": "g"}, config, context=RunContext(run_dir=str(run.run_dir.parent / "short")))
    assert state["stop_reason"] == "step limit reached"
    assert state["report"].verdict == "FAIL"
    assert any(b.kind == "limit" for b in state["callbacks"])


def test_a_review_that_cannot_finish_blocks_instead_of_passing(run_scenario) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "A", "title": "a", "deliverables": ["a.txt"]})]},
        developer={"A": [turn("", write("a.txt", "a")), turn("done")]},
        auditor={"A": [{"error": "500 auditor model down"}]},
    )
    run = run_scenario(scn)
    [blocker] = run.blockers()
    assert blocker.kind == "review_failed" and "500 auditor model down" in blocker.message
    assert run.state["tasks"]["A"].audit == "blocked" and "A.r1" not in run.state["tasks"]
    assert run.report.verdict == "FAIL"


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "a.r1", "title": "looks like a fix"},
        {"id": "x" * 57, "title": "too long"},
        {"id": "rev", "role": "auditor", "title": "review", "deliverables": ["r.md"]},
    ],
)
def test_plan_ids_and_roles_that_would_break_remediation_are_refused(run_scenario, bad: dict) -> None:
    run = run_scenario(scenario(manager={"plan": [plan_turn(bad), plan_turn(bad)]}))
    [blocker] = run.blockers()
    assert blocker.kind == "plan_invalid" and run.report.verdict == "FAIL"


def test_no_recursion_limit_ends_a_run_with_a_recursion_error(run_scenario, tmp_path) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "t", "deliverables": ["a.txt"]})]},
        developer={
            "T1": [turn("", write("a.txt", "a"), ("delete_file", {"path": "a.txt"})), turn("done")],
            "T1.r1": [turn("", write("a.txt", "a")), turn("done")],
        },
    )
    run = run_scenario(scn)
    for limit in range(5, 24):
        config = {"configurable": {"thread_id": f"l{limit}-{uuid.uuid4().hex}"}, "recursion_limit": limit}
        state = run.graph.invoke({"goal": "g"}, config, context=RunContext(run_dir=str(tmp_path / f"l{limit}")))
        assert state["report"].verdict in ("PASS", "FAIL")


def test_a_plan_given_as_text_is_read_from_blocks_and_prose() -> None:
    from langchain_core.messages import AIMessage

    from graph.plan import _plan_arguments

    blocks = AIMessage(content=[{"type": "text", "text": 'Plan: {"tasks": [{"id": "a"}]} (then {notes})'}])
    assert _plan_arguments(blocks) == ({"tasks": [{"id": "a"}]}, None)
    fenced = AIMessage(content='I use {braces}.\n```json\n{"tasks": []}\n```')
    assert _plan_arguments(fenced) == ({"tasks": []}, None)


def test_tool_calls_without_ids_or_with_repeated_ids_get_unique_ones() -> None:
    from langchain_core.messages import AIMessage

    from graph.agent_loop import with_call_ids

    calls = [
        {"name": "a", "args": {}, "id": None},
        {"name": "b", "args": {}, "id": "x"},
        {"name": "c", "args": {}, "id": "x"},
    ]
    reply = AIMessage(content="", tool_calls=calls)
    ids = [c["id"] for c in with_call_ids(reply, 3).tool_calls]
    assert len(set(ids)) == 3 and ids[1] == "x"
