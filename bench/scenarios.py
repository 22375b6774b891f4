"""The benchmark project: n independent tasks, each written by a developer and reviewed by an auditor.

A developer needs two model calls: an agent's tool loop ends only on an answer without a tool call, so one
turn writes the task's file and a second turn answers "done". The auditor answers at once ("*" script, no
tool call). With the manager's single plan call, a project of n tasks makes ``1 + 3 n`` model calls.
"""

from __future__ import annotations

from graph.scripted import Scenario

GOAL = "Build a package of small independent modules"
PLAN_CALLS, DEVELOPER_CALLS, AUDIT_CALLS = 1, 2, 1
CHAIN_CALLS = DEVELOPER_CALLS + AUDIT_CALLS
"""Model calls on one task's dependency chain: its development, then its review."""


def task_id(i: int) -> str:
    return f"t{i:04d}"  # fixed width, so prompts of small and large projects differ only by what grows


def deliverable(i: int) -> str:
    return f"src/mod_{i:04d}.py"


def module_source(i: int) -> str:
    return f'"""Module {i}."""\n\n\ndef value_{i}() -> int:\n    return {i}\n'


def planned_task(i: int) -> dict:
    return {
        "id": task_id(i),
        "role": "developer",
        "title": f"Module {i}: a function returning {i}",
        "instructions": f"Create {deliverable(i)} with a function value_{i}() that returns {i}, with a docstring.",
        "deliverables": [deliverable(i)],
        "depends_on": [],
    }


def developer_script(i: int) -> list[dict]:
    write = {"name": "write_file", "args": {"path": deliverable(i), "content": module_source(i)}}
    return [{"content": "", "tool_calls": [write]}, {"content": f"Wrote {deliverable(i)}."}]


def project(n: int, latency_s: float = 0.0) -> Scenario:
    """The scripted project of ``n`` tasks, every model call waiting ``latency_s`` seconds."""
    tasks = [planned_task(i) for i in range(n)]
    return Scenario.model_validate(
        {
            "name": f"bench-{n}",
            "goal": GOAL,
            "latency_s": latency_s,
            "manager": {
                "plan": [{"content": "plan", "tool_calls": [{"name": "submit_plan", "args": {"tasks": tasks}}]}]
            },
            "developer": {task_id(i): developer_script(i) for i in range(n)},
            "auditor": {"*": [{"content": "No defects."}]},
        }
    )


def model_calls(n: int) -> int:
    """Model calls a clean run of the project makes."""
    return PLAN_CALLS + n * CHAIN_CALLS
