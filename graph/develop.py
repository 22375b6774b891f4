"""develop: one developer agent runs one task, then every declared deliverable is checked on disk."""

from __future__ import annotations

import traceback

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.agent_loop import AgentOutcome, run_agent
from graph.context import RunContext
from graph.durable import replay_end, save_result, saved_result
from graph.env import NodeEnv, announce_blockers, emit, node_env
from graph.models import RoleModels
from graph.prompts import AUDITOR, DEVELOPER, task_prompt
from graph.work_item import WorkItem
from state.errors import BuildcrewError, ReplayMismatch
from state.models import Callback, Task, ToolError
from tools.agent_tools import READ_ONLY_TOOLS


def develop(
    item: WorkItem, runtime: Runtime[RunContext], config: RunnableConfig, *, default_models: RoleModels | None = None
) -> dict:
    """Run the task's agent; a failure of this task is recorded on it and never reaches other branches."""
    task = item["task"]
    attempt = task.attempts + 1
    env = node_env(runtime, config, default_models)
    if (saved := saved_result(env.paths, config)) is not None:  # finished before a crash: not run again
        replay_end(env.trail, saved, {"attempt": attempt})
        env.trail.record(
            "result_reused", task_id=task.id, role=task.role, detail={"node": "develop", "attempt": attempt}
        )
        emit(
            "task_end",
            task_id=task.id,
            status=saved["result"]["tasks"][0].status,
            files=len(saved["result"]["tasks"][0].files_created),
        )
        return saved["result"]
    toolbox = env.toolbox(task.id, task.role, attempt)
    env.trail.record("task_start", task_id=task.id, role=task.role, detail={"attempt": attempt})
    emit("task_start", task_id=task.id, role=task.role, attempt=attempt)
    try:
        outcome = run_agent(
            env.models.for_role(task.role),
            toolbox,
            toolbox.tools(READ_ONLY_TOOLS if task.role == "auditor" else None),
            system=AUDITOR if task.role == "auditor" else DEVELOPER,
            prompt=task_prompt(task, item["goal"]),
            max_turns=env.context.max_tool_turns,
            loop_guard_repeats=env.context.loop_guard_repeats,
            meter=env.meter,
        )
    except ReplayMismatch:
        raise
    except Exception as exc:  # noqa: BLE001 - our own bug must fail this task, not the run
        outcome = AgentOutcome("max_turns", 0, detail=f"unexpected {type(exc).__name__}: {exc}")
        toolbox.errors.append(
            ToolError(
                tool="task",
                error_type=type(exc).__name__,
                message=str(exc),
                traceback=traceback.format_exc(),
                task_id=task.id,
                role=task.role,
                tool_calls_made=list(toolbox.calls_made),
            )
        )
    callbacks = list(toolbox.callbacks) + _ending_blockers(task, attempt, outcome)
    if outcome.ending not in ("model_error", "budget"):  # those failures are final; missing files follow from them
        callbacks += _missing_deliverables(env, task, attempt)
    status = _status(outcome, callbacks, task)
    done = task.model_copy(
        update={
            "status": status,
            "attempts": attempt,
            "audit": "pending" if status == "done" and task.role == "developer" else "none",
            "files_created": sorted(
                (set(task.files_created) | {p for p, r in toolbox.files.items() if r.live})
                - {p for p, r in toolbox.files.items() if not r.live}
            ),
            "file_count": _file_count(env),
            "error": outcome.detail or None if status != "done" else None,
        }
    )
    errors = toolbox.errors + ([outcome.error] if outcome.error else [])
    result = {
        "tasks": [done],
        "files_created": list(toolbox.files.values()),
        "callbacks": callbacks,
        "errors": errors,
        "usage": [outcome.usage] if outcome.usage else [],
    }
    end = {
        "op": "task_end",
        "ok": status == "done",
        "task_id": task.id,
        "role": task.role,
        "detail": {
            "status": status,
            "ending": outcome.ending,
            "turns": outcome.turns,
            "attempt": attempt,
            "files_created": done.files_created,
            "file_count": done.file_count,
        },
    }
    save_result(env.paths, config, result, end)  # before task_end, so a task in the trail as ended never reruns
    env.trail.record(**end)
    announce_blockers(callbacks)
    emit("task_end", task_id=task.id, status=status, files=len(done.files_created))
    return result


def _status(outcome: AgentOutcome, callbacks: list[Callback], task: Task) -> str:
    if outcome.ending in ("model_error", "budget"):
        return "failed"
    if any(cb.severity == "blocker" and cb.task_id == task.id for cb in callbacks):
        return "blocked"
    return "done"


def _ending_blockers(task: Task, attempt: int, outcome: AgentOutcome) -> list[Callback]:
    """A loop, a turn limit or a model failure is a blocker on the task, stated whole."""
    kinds = {
        "max_turns": "task_failed",
        "loop_detected": "loop_detected",
        "model_error": "model_error",
        "budget": "limit",
    }
    if outcome.ending not in kinds:
        return []
    return [
        Callback(
            id=f"cb:{task.id}:system:a{attempt}:{outcome.ending}",
            source="system",
            task_id=task.id,
            severity="blocker",
            kind=kinds[outcome.ending],  # type: ignore[arg-type]
            message=f"Task {task.id} did not finish: {outcome.detail}",
        )
    ]


def _missing_deliverables(env: NodeEnv, task: Task, attempt: int) -> list[Callback]:
    missing = [path for path in task.deliverables if _stat(env, path) is None]
    for path in missing:
        env.trail.record(
            "deliverable_check", ok=False, task_id=task.id, role="system", path=path, detail={"reason": "missing"}
        )
    return [
        Callback(
            id=f"cb:{task.id}:system:a{attempt}:missing:{path}",
            source="system",
            task_id=task.id,
            severity="blocker",
            kind="missing_file",
            path=path,
            message=f"File {path} was not created by task {task.id}",
        )
        for path in missing
    ]


def _stat(env: NodeEnv, path: str) -> object | None:
    """The file's info, or None when it is missing or cannot be reached (an agent may wreck the workspace)."""
    try:
        return env.workspace.stat(path)
    except (BuildcrewError, OSError):
        return None


def _file_count(env: NodeEnv) -> int:
    """Files in the workspace now; -1 when it cannot be listed (the deliverable checks report why)."""
    try:
        return len(env.workspace.list())
    except (BuildcrewError, OSError):
        return -1
