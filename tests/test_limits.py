"""Budgets and the loop guard stop spending cleanly, and the run still ends in a verified report."""

from __future__ import annotations

import pytest

from conftest import plan_turn, scenario, turn, write
from graph.context import RunContext
from state.errors import ConfigError
from tools.audit import TOOL_EXECUTION_ERROR, AuditTrail

CHAIN = plan_turn(
    *[
        {"id": f"T{i}", "title": f"t{i}", "deliverables": [f"f{i}.txt"], "depends_on": [f"T{i - 1}"] if i else []}
        for i in range(4)
    ]
)
DEVELOPERS = {f"T{i}": [turn("", write(f"f{i}.txt", "x" * 400)), turn("done")] for i in range(4)}


def test_a_spent_token_budget_stops_new_calls_and_still_verifies(run_scenario) -> None:
    free = run_scenario(scenario(manager={"plan": [CHAIN]}, developer=DEVELOPERS))
    assert free.report.verdict == "PASS"
    budget = free.report.metrics["input_tokens"] + free.report.metrics["output_tokens"]
    run = run_scenario(scenario(manager={"plan": [CHAIN]}, developer=DEVELOPERS), max_tokens=budget // 3)
    assert run.report.verdict == "FAIL"
    assert run.report.reason.startswith("budget exhausted")
    assert run.state["stop_reason"].startswith("budget exhausted")
    spent = run.report.metrics["input_tokens"] + run.report.metrics["output_tokens"]
    assert spent < budget
    assert run.report.metrics["model_calls"] < free.report.metrics["model_calls"]
    assert any(c.name == "run completed" and c.status == "FAIL" for c in run.report.checklist)
    assert (run.run_dir / "report.json").exists()


def test_a_cost_budget_is_priced_from_the_table(run_scenario) -> None:
    prices = {"*": {"input": 1_000_000.0, "output": 1_000_000.0}}  # one dollar per token
    run = run_scenario(scenario(manager={"plan": [CHAIN]}, developer=DEVELOPERS), max_cost=50.0, prices=prices)
    assert run.report.verdict == "FAIL" and "budget exhausted" in run.report.reason
    assert run.report.metrics["cost_usd"] >= 50.0


def test_budget_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="max_cost needs a price table"):
        RunContext(max_cost=1.0)
    with pytest.raises(ConfigError, match="prices"):
        RunContext(max_cost=1.0, prices={"gpt": {"input": -1, "output": 1}})
    with pytest.raises(ConfigError, match="max_tokens"):
        RunContext(max_tokens=0)


def test_the_loop_guard_stops_an_agent_repeating_itself(run_scenario) -> None:
    same = turn("", ("read_file", {"path": "missing.txt"}))
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "t", "deliverables": ["a.txt"]})]},
        developer={"T1": [same] * 10, "T1.r1": [turn("", write("a.txt", "a")), turn("done")]},
    )
    run = run_scenario(scn, loop_guard_repeats=3)
    loop = [b for b in run.blockers() if b.kind == "loop_detected"]
    assert len(loop) == 1 and "repeated the same tool call 3 times" in loop[0].message
    assert len(AuditTrail(run.run_dir / "events.jsonl", "x").events(task_id="T1", op=TOOL_EXECUTION_ERROR)) == 3
    assert loop[0].resolved_by == "T1.r1" and run.report.verdict == "PASS"
