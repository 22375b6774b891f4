"""The baseline for orchestration overhead: a bare LangGraph tool loop, nothing else.

A minimal StateGraph (a model node, a hand-written tool node, a router) runs each agent of the same scripted
project over the same scripted model, on the same SQLite checkpointer setup, writing the same files through the
same workspace tools (``ToolBox``: workspace jail, verified writes, audit trail). What it lacks is what buildcrew
adds: planning, scheduling, reviews as graph branches, deliverable checks, remediation, final verification.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from bench.team import RECURSION_LIMIT, BenchError
from graph.agent_loop import model_metadata
from graph.checkpointers import open_sqlite
from graph.prompts import AUDITOR, DEVELOPER, audit_prompt, task_prompt
from graph.scripted import Scenario, ScriptedChatModel
from state.models import Task
from tools.agent_tools import READ_ONLY_TOOLS, ToolBox
from tools.audit import AuditTrail
from tools.workspace import Workspace


class LoopState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


@dataclass
class Agent:
    """The runtime context of one agent run: who it is, its bound model and its tools."""

    role: str
    task_id: str
    model: Runnable
    toolbox: ToolBox
    tools: list[BaseTool]


def _call_model(state: LoopState, runtime: Runtime[Agent]) -> dict:
    agent = runtime.context
    turn = sum(isinstance(m, AIMessage) for m in state["messages"]) + 1
    reply = agent.model.invoke(state["messages"], config={"metadata": model_metadata(agent.role, agent.task_id, turn)})
    return {"messages": [reply]}


def _run_tools(state: LoopState, runtime: Runtime[Agent]) -> dict:
    agent = runtime.context
    return {"messages": agent.toolbox.execute(state["messages"][-1], agent.tools)}


def _route(state: LoopState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls) else END


def build_loop(checkpointer: Any) -> Any:
    builder = StateGraph(LoopState, context_schema=Agent)
    builder.add_node("model", _call_model)
    builder.add_node("tools", _run_tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", _route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=checkpointer)


@dataclass
class BareRun:
    wall_s: float
    model_calls: int


def run_bare(scenario: Scenario, run_dir: Path) -> BareRun:
    """Plan with one manager call, then each task's developer loop and auditor loop, one after another."""
    run_dir.mkdir(parents=True)
    workspace = Workspace(run_dir / "workspace")
    trail = AuditTrail(run_dir / "events.jsonl", run_dir.name)
    model = ScriptedChatModel(scenario=scenario)
    with open_sqlite(run_dir / "checkpoints.sqlite") as saver:
        loop = build_loop(saver)
        start = time.perf_counter()
        plan = model.invoke(
            [HumanMessage(f"Goal: {scenario.goal}")], config={"metadata": model_metadata("manager", "plan", 1)}
        )
        tasks = [Task(**t) for t in plan.tool_calls[0]["args"]["tasks"]]
        calls = 1
        for task in tasks:
            for role, system, prompt, names in (
                ("developer", DEVELOPER, task_prompt(task, scenario.goal), None),
                ("auditor", AUDITOR, audit_prompt(task, scenario.goal), READ_ONLY_TOOLS),
            ):
                toolbox = ToolBox(workspace=workspace, trail=trail, task_id=task.id, role=role)  # type: ignore[arg-type]
                tools = toolbox.tools(names)
                agent = Agent(role, task.id, model.bind_tools(tools), toolbox, tools)
                config = {"configurable": {"thread_id": f"{role}-{task.id}"}, "recursion_limit": RECURSION_LIMIT}
                out = loop.invoke({"messages": [SystemMessage(system), HumanMessage(prompt)]}, config, context=agent)
                calls += sum(isinstance(m, AIMessage) for m in out["messages"])
        wall = time.perf_counter() - start
    missing = [p for t in tasks for p in t.deliverables if workspace.stat(p) is None]
    if missing:
        raise BenchError(f"the bare loop did not write {missing}")
    return BareRun(wall, calls)
