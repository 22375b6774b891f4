"""schedule: the join point between waves. It settles what finished, then picks the next wave of work.

It resolves blockers whose remediation succeeded, blocks tasks whose prerequisites can no longer be
delivered, and marks the next wave (ready developer tasks and pending reviews, at most max_concurrency)
as running; ``route_after_schedule`` then sends each of them to its own branch.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.chains import chain_state, is_successful
from graph.context import RunContext
from graph.env import announce_blockers, emit, node_env
from state.models import Callback, Task
from state.team_state import TeamState

# Supersteps kept in reserve so the run always reaches final verification before LangGraph's recursion limit.
STEP_RESERVE = 4


def schedule(state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig) -> dict:
    env = node_env(runtime, config, None)
    context = env.context
    tasks = dict(state.get("tasks") or {})
    callbacks = _resolve(tasks, list(state.get("callbacks") or []))
    changed_callbacks = [cb for cb, old in zip(callbacks, state.get("callbacks") or [], strict=False) if cb != old]
    blocked, new_blockers = _block_unreachable(tasks, callbacks, context)
    tasks.update({t.id: t for t in blocked})
    env.meter.sync(state.get("usage") or [])
    if budget := env.meter.exhausted():
        limit = Callback(
            id="cb:limit:budget",
            source="system",
            severity="blocker",
            kind="limit",
            message=f"The run stopped: {budget}",
        )
        announce_blockers([limit])
        return {"tasks": blocked, "callbacks": changed_callbacks + new_blockers + [limit], "stop_reason": budget}
    if state.get("remaining_steps", 10_000) <= STEP_RESERVE:
        limit = Callback(
            id="cb:limit:steps",
            source="system",
            severity="blocker",
            kind="limit",
            message="The run reached LangGraph's step limit (recursion_limit) before finishing its work",
        )
        announce_blockers([limit])
        return {
            "tasks": blocked,
            "callbacks": changed_callbacks + new_blockers + [limit],
            "stop_reason": "step limit reached",
        }
    wave = _next_wave(tasks, callbacks, context)
    if wave:
        emit("wave", tasks=[t.id for t in wave])
    announce_blockers(new_blockers)
    if wave or blocked or changed_callbacks or new_blockers:
        env.trail.record("schedule", role="manager", detail={"wave": [t.id for t in wave]})
    return {"tasks": blocked + wave, "callbacks": changed_callbacks + new_blockers}


def _resolve(tasks: dict[str, Task], callbacks: list[Callback]) -> list[Callback]:
    """Settle the blockers handed to a remediation once it has ended.

    Only the task a blocker was handed to can resolve it, by succeeding (done, deliverables present, review
    clean). A fix that ran and ended blocked hands its blockers back, so the next fix is told about them too;
    a fix that failed outright (a model error, a spent budget) or that a person rejected keeps them, open.
    """
    settled = []
    for cb in callbacks:
        fixer = tasks.get(cb.remediation_task or "")
        if cb.is_open_blocker and fixer is not None:
            if is_successful(fixer):
                cb = cb.model_copy(update={"resolved_by": fixer.id})
            elif fixer.attempts and (fixer.status == "blocked" or fixer.audit == "blocked"):
                cb = cb.model_copy(update={"remediation_task": None})
        settled.append(cb)
    return settled


def _block_unreachable(
    tasks: dict[str, Task], callbacks: list[Callback], context: RunContext
) -> tuple[list[Task], list[Callback]]:
    blocked, blockers = [], []
    for task in tasks.values():
        if task.status != "pending":
            continue
        failed = [d for d in task.depends_on if d in tasks and chain_state(tasks, callbacks, d, context) == "failed"]
        if failed:
            blocked.append(
                task.model_copy(update={"status": "blocked", "error": f"prerequisite(s) failed: {', '.join(failed)}"})
            )
            blockers.append(
                Callback(
                    id=f"cb:{task.id}:system:dependency",
                    source="system",
                    task_id=task.id,
                    severity="blocker",
                    kind="dependency_failed",
                    message=f"Task {task.id} could not start: its prerequisite(s) {', '.join(failed)} did not complete",
                )
            )
    return blocked, blockers


def _next_wave(tasks: dict[str, Task], callbacks: list[Callback], context: RunContext) -> list[Task]:
    """Pending reviews first (they unblock remediation), then developer tasks whose prerequisites are done."""
    reviews = [t for t in tasks.values() if t.audit == "pending"][: context.max_concurrency]
    room = context.max_concurrency - len(reviews)
    ready = [
        t
        for t in tasks.values()
        if t.status == "pending" and all(chain_state(tasks, callbacks, d, context) == "done" for d in t.depends_on)
    ][:room]
    return [t.model_copy(update={"audit": "running"}) for t in reviews] + [
        t.model_copy(update={"status": "running"}) for t in ready
    ]
