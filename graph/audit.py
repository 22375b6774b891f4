"""audit: an auditor agent reviews one completed task's files, read-only, and reports defects as blockers."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.agent_loop import AgentOutcome, run_agent
from graph.context import RunContext
from graph.durable import replay_end, save_result, saved_result
from graph.env import announce_blockers, emit, node_env
from graph.models import RoleModels
from graph.prompts import AUDITOR, audit_prompt
from graph.work_item import WorkItem
from state.models import Callback, Task
from tools.agent_tools import READ_ONLY_TOOLS


def audit(
    item: WorkItem, runtime: Runtime[RunContext], config: RunnableConfig, *, default_models: RoleModels | None = None
) -> dict:
    """Review the task; its blockers name the task, so the manager can route them to a fix."""
    task = item["task"]
    env = node_env(runtime, config, default_models)
    if (saved := saved_result(env.paths, config)) is not None:  # finished before a crash: not run again
        replay_end(env.trail, saved, {"attempt": task.attempts})
        env.trail.record(
            "result_reused", task_id=task.id, role="auditor", detail={"node": "audit", "attempt": task.attempts}
        )
        emit("audit_end", task_id=task.id, verdict=saved["result"]["tasks"][0].audit)
        return saved["result"]
    toolbox = env.toolbox(task.id, "auditor", task.attempts)
    env.trail.record("audit_start", task_id=task.id, role="auditor")
    emit("audit_start", task_id=task.id)
    outcome = run_agent(
        env.models.auditor,
        toolbox,
        toolbox.tools(READ_ONLY_TOOLS),
        system=AUDITOR,
        prompt=audit_prompt(task, item["goal"]),
        max_turns=env.context.max_tool_turns,
        loop_guard_repeats=env.context.loop_guard_repeats,
        meter=env.meter,
    )
    callbacks = list(toolbox.callbacks) + _review_problems(task, outcome, toolbox.calls_made)
    blocked = any(cb.severity == "blocker" for cb in callbacks)
    reviewed = task.model_copy(update={"audit": "blocked" if blocked else "passed"})
    errors = toolbox.errors + ([outcome.error] if outcome.error else [])
    result = {
        "tasks": [reviewed],
        "callbacks": callbacks,
        "errors": errors,
        "usage": [outcome.usage] if outcome.usage else [],
    }
    end = {
        "op": "audit_end",
        "ok": not blocked,
        "task_id": task.id,
        "role": "auditor",
        "detail": {
            "verdict": reviewed.audit,
            "ending": outcome.ending,
            "turns": outcome.turns,
            "attempt": task.attempts,
        },
    }
    save_result(env.paths, config, result, end)  # before audit_end: a review in the trail as ended never reruns
    env.trail.record(**end)
    announce_blockers(callbacks)
    emit("audit_end", task_id=task.id, verdict=reviewed.audit)
    return result


def _review_problems(task: Task, outcome: AgentOutcome, calls_made: list[str]) -> list[Callback]:
    """Unreviewed work is not accepted work: a review that did not finish, or that ended in an empty or cut-off
    answer, is a blocker (another build would not help, so it is not one the manager retries); a review that
    looked at nothing is a warning in the report."""
    last = outcome.messages[-1] if outcome.messages else None
    finish = (getattr(last, "response_metadata", None) or {}).get("finish_reason")
    problem = None
    if outcome.ending != "answered":
        problem = f"did not finish ({outcome.ending}): {outcome.detail}"
    elif finish in ("length", "content_filter"):
        problem = f"was cut off by the model (finish_reason {finish})"
    elif not outcome.final_text.strip() and not calls_made:
        problem = "ended in an empty answer without examining anything"
    prefix = f"cb:{task.id}:auditor:a{task.attempts}"
    if problem:
        return [
            Callback(
                id=f"{prefix}:unfinished",
                source="auditor",
                task_id=task.id,
                severity="blocker",
                kind="review_failed",
                message=f"The review of task {task.id} {problem}",
            )
        ]
    if not calls_made:
        return [
            Callback(
                id=f"{prefix}:unexamined",
                source="auditor",
                task_id=task.id,
                severity="warning",
                message=f"The review of task {task.id} passed without reading a file or running a command",
            )
        ]
    return []
