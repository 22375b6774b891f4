"""approve_plan and approve_remediation: where a person may approve, reject or edit the manager's work.

Both pass straight through unless the run asked for approval (RunContext.approve). They pause the graph with
``interrupt()``; the caller resumes it with ``Command(resume=decision)`` where decision is "approve", or
{"action": "approve"}, {"action": "reject", "reason": "..."} or, for a plan, {"action": "edit", "tasks": [...]}.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from graph.context import RunContext
from graph.env import emit, node_env
from graph.plan import validate_plan
from state.errors import ConfigError
from state.models import Callback, Task
from state.team_state import TeamState

MAX_PLAN_REJECTIONS = 3


class Decision(BaseModel):
    """A person's answer to an approval request."""

    action: Literal["approve", "reject", "edit"]
    reason: str = ""
    tasks: list[dict[str, Any]] | None = None


def parse_decision(value: Any) -> Decision:
    """Accept "approve", "reject: reason", or a mapping; anything else is the caller's mistake."""
    if isinstance(value, str):
        action, _, reason = value.partition(":")
        value = {"action": action.strip().lower(), "reason": reason.strip()}
    try:
        return Decision.model_validate(value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise ConfigError(f"approval decision {value!r} is not approve, reject or edit: {problem}") from exc


def approve_plan(state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig) -> dict:
    """Adopt the proposed plan, after a person approves or edits it when the run asks for approval."""
    proposed = list(state.get("proposed_plan") or [])
    if state.get("plan_status") != "ok":
        return {}
    env = node_env(runtime, config, None)
    adopted = {"tasks": proposed, "proposed_plan": None}  # adopted tasks live in `tasks`; keep checkpoints lean
    if "plan" not in env.context.approve:
        return adopted
    decision = parse_decision(interrupt({"kind": "plan", "tasks": [t.model_dump(mode="json") for t in proposed]}))
    env.trail.record("approval", role="user", detail={"kind": "plan", **decision.model_dump()})
    if decision.action == "approve":
        return adopted
    if decision.action == "edit":
        tasks, problems = validate_plan({"tasks": decision.tasks or []}, env.workspace)
        if not problems:
            return {"tasks": tasks, "proposed_plan": None}
        decision = Decision(action="reject", reason="the edited plan is invalid: " + "; ".join(problems))
    if state.get("plan_rounds", 0) >= MAX_PLAN_REJECTIONS:
        blocker = Callback(
            id="cb:plan:rejected",
            source="manager",
            severity="blocker",
            kind="plan_invalid",
            message=f"The user rejected the plan {state.get('plan_rounds')} times: {decision.reason}",
        )
        return {"plan_status": "invalid", "callbacks": [blocker]}
    emit("plan_rejected", reason=decision.reason)
    return {"plan_status": "rejected", "plan_feedback": decision.reason or "no reason given"}


def approve_remediation(state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig) -> dict:
    """Let a person approve the manager's new remediation tasks; rejected ones are blocked, never run."""
    env = node_env(runtime, config, None)
    fresh = [t for t in (state.get("tasks") or {}).values() if t.retry_for and t.status == "pending"]
    if "remediation" not in env.context.approve or not fresh:
        return {}
    decision = parse_decision(interrupt({"kind": "remediation", "tasks": [t.model_dump(mode="json") for t in fresh]}))
    env.trail.record("approval", role="user", detail={"kind": "remediation", **decision.model_dump()})
    if decision.action == "edit":
        raise ConfigError("a remediation can be approved or rejected, not edited: answer approve or reject")
    if decision.action != "reject":
        return {}
    reason = decision.reason or "no reason given"
    rejected: list[Task] = [
        t.model_copy(update={"status": "blocked", "error": f"remediation rejected: {reason}"}) for t in fresh
    ]
    notes = [
        Callback(
            id=f"cb:{t.id}:user:rejected",
            source="manager",
            task_id=t.id,
            severity="warning",
            message=f"The user rejected remediation {t.id}: {reason}",
        )
        for t in fresh
    ]
    return {"tasks": rejected, "callbacks": notes}
