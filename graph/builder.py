"""build_graph: wiring only. plan -> approve_plan -> schedule -> (develop | audit)* -> remediate -> final_verify."""

from __future__ import annotations

from functools import partial

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph.approval import approve_plan, approve_remediation
from graph.audit import audit
from graph.context import MAX_CONCURRENCY, RunContext
from graph.develop import develop
from graph.final_verify import final_verify
from graph.models import RoleModels
from graph.plan import plan
from graph.remediate import remediate
from graph.routing import route_after_approve_plan, route_after_final_verify, route_after_schedule
from graph.schedule import schedule
from state.serde import with_state_types
from state.team_state import TeamInput, TeamState


def build_graph(
    model: BaseChatModel | None = None,
    *,
    manager: BaseChatModel | None = None,
    developer: BaseChatModel | None = None,
    auditor: BaseChatModel | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    interrupt_before: list[str] | None = None,
    name: str = "buildcrew",
) -> CompiledStateGraph:
    """The team graph. With no model it plays the scripted scenario named in the run context (the demo)."""
    models = RoleModels.of(model, manager=manager, developer=developer, auditor=auditor)
    builder = StateGraph(TeamState, context_schema=RunContext, input_schema=TeamInput)
    builder.add_node("plan", partial(plan, default_models=models))
    builder.add_node("schedule", schedule)
    builder.add_node("develop", partial(develop, default_models=models))
    builder.add_node("audit", partial(audit, default_models=models))
    builder.add_node("remediate", partial(remediate, default_models=models))
    builder.add_node("final_verify", partial(final_verify, default_models=models))
    builder.add_node("approve_plan", approve_plan)
    builder.add_node("approve_remediation", approve_remediation)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve_plan")
    builder.add_conditional_edges("approve_plan", route_after_approve_plan, ["plan", "schedule"])
    builder.add_conditional_edges("schedule", route_after_schedule, ["develop", "audit", "remediate", "final_verify"])
    builder.add_edge("develop", "schedule")
    builder.add_edge("audit", "schedule")
    builder.add_edge("remediate", "approve_remediation")
    builder.add_edge("approve_remediation", "schedule")
    builder.add_conditional_edges("final_verify", route_after_final_verify, {"remediate": "remediate", END: END})
    if isinstance(checkpointer, BaseCheckpointSaver):
        checkpointer = with_state_types(checkpointer)
    graph = builder.compile(checkpointer=checkpointer, interrupt_before=interrupt_before, name=name)
    # LangGraph runs a superstep's branches on a thread pool sized by config["max_concurrency"], by default
    # nproc + 4; the scheduler's waves (RunContext.max_concurrency) are the real bound, so the pool must not be.
    return graph.with_config(max_concurrency=MAX_CONCURRENCY)
