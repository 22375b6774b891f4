"""Routers: where the graph goes after each node. Pure functions of the state and the run settings."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from graph.chains import fixable_blockers
from graph.context import RunContext
from graph.schedule import STEP_RESERVE
from graph.work_item import WorkItem
from state.team_state import TeamState

# Final verification may hand fixable blockers (a lost file) back to the manager this many times.
MAX_FINAL_PASSES = 2
# Supersteps a detour from final verification back through the manager needs before the scheduler's own
# step guard can still bring the run back to final verification.
DETOUR_STEPS = STEP_RESERVE + 4


def _context(runtime: Runtime[RunContext]) -> RunContext:
    context = runtime.context
    return context if isinstance(context, RunContext) else RunContext(**(context or {}))


def route_after_schedule(
    state: TeamState, runtime: Runtime[RunContext]
) -> list[Send] | Literal["remediate", "final_verify"]:
    """Send the wave's tasks to develop and its reviews to audit; else remediate blockers; else verify."""
    if state.get("stop_reason"):
        return "final_verify"
    goal = state["goal"]
    sends = [
        Send("audit", WorkItem(task=t, goal=goal)) for t in (state.get("tasks") or {}).values() if t.audit == "running"
    ]
    sends += [
        Send("develop", WorkItem(task=t, goal=goal))
        for t in (state.get("tasks") or {}).values()
        if t.status == "running"
    ]
    if sends:
        return sends
    if _can_remediate(state, _context(runtime)):
        return "remediate"
    return "final_verify"


def route_after_approve_plan(state: TeamState) -> Literal["plan", "schedule"]:
    """A plan the user rejected goes back to the manager with the reason; anything else starts the work."""
    return "plan" if state.get("plan_status") == "rejected" else "schedule"


def route_after_final_verify(state: TeamState, runtime: Runtime[RunContext]) -> Literal["remediate", "__end__"]:
    """A FAIL with fixable blockers and rounds left goes back to the manager; anything else ends the run."""
    report = state.get("report")
    if (
        report is not None
        and report.verdict == "FAIL"
        and not state.get("stop_reason")
        and state.get("final_passes", 0) < MAX_FINAL_PASSES
        and state.get("remaining_steps", 10_000) > DETOUR_STEPS
        and _can_remediate(state, _context(runtime))
    ):
        return "remediate"
    return "__end__"


def _can_remediate(state: TeamState, context: RunContext) -> bool:
    return state.get("remediation_rounds", 0) < context.max_rounds and bool(
        fixable_blockers(state.get("callbacks") or [], state.get("tasks") or {}, context)
    )
