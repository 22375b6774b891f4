"""plan: the manager turns the goal into validated tasks, with one repair attempt, and never crashes."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError

from graph.agent_loop import add_usage, model_error, model_metadata, model_name, with_call_ids
from graph.context import RunContext
from graph.env import announce_blockers, emit, node_env
from graph.models import RoleModels
from graph.prompts import MANAGER_PLAN
from state.errors import ConfigError, PathRefused, ReplayMismatch
from state.models import Callback, ModelUsage, Role, Task
from state.team_state import TeamState
from tools.workspace import Workspace

MIN_STEPS = 4  # plan, approve_plan, schedule, final_verify
MAX_PLAN_ID = 56  # leaves room for the '.r<n>' of remediation ids within Task's 64 characters
REMEDIATION_ID = re.compile(r"\.r\d+$")


class PlannedTask(BaseModel):
    """A task as the manager proposes it."""

    id: str = Field(description="Unique id: letters, digits, '.', '_' or '-'.")
    role: Role = Field(default="developer")
    title: str = Field(description="One line saying what the task delivers.")
    instructions: str = Field(default="", description="Everything the developer needs to do the task.")
    deliverables: list[str] = Field(default_factory=list, description="Workspace-relative paths to create.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks that must be done first.")


class submit_plan(BaseModel):  # noqa: N801 - the tool name the model sees
    """Submit the team's plan: the tasks that together achieve the goal."""

    tasks: list[PlannedTask] = Field(description="The tasks, at least one.")


def validate_plan(raw: Any, workspace: Workspace) -> tuple[list[Task], list[str]]:
    """Tasks from the model's plan, or every problem found in it (schema, ids, dependencies, paths)."""
    try:
        proposed = submit_plan.model_validate(raw)
        tasks = [Task(**p.model_dump()) for p in proposed.tasks]
    except ValidationError as exc:
        return [], [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    problems: list[str] = []
    if not tasks:
        problems.append("the plan has no tasks")
    for task in tasks:
        if len(task.id) > MAX_PLAN_ID or REMEDIATION_ID.search(task.id):
            problems.append(
                f"task id {task.id!r} must be at most {MAX_PLAN_ID} characters and must not end in "
                "'.r<number>' (those ids name remediation tasks)"
            )
        if task.role == "auditor" and task.deliverables:
            problems.append(
                f"task {task.id!r} is an auditor task: auditors cannot write, so it cannot have deliverables"
            )
    ids = [t.id for t in tasks]
    problems += [f"duplicate task id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for task in tasks:
        problems += [f"task {task.id!r} depends on unknown task {d!r}" for d in task.depends_on if d not in ids]
        for path in task.deliverables:
            try:
                workspace.normalize(path, for_change=True)
            except PathRefused as exc:
                problems.append(f"task {task.id!r} deliverable {path!r} is refused: {exc}")
    problems += _cycles(tasks)
    return tasks, problems


def _cycles(tasks: list[Task]) -> list[str]:
    deps = {t.id: [d for d in t.depends_on] for t in tasks}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> str | None:
        if state.get(node) == 1:
            return " -> ".join(path[path.index(node) :] + [node])
        if state.get(node) == 2 or node not in deps:
            return None
        state[node] = 1
        for dep in deps[node]:
            if found := visit(dep, path + [node]):
                return found
        state[node] = 2
        return None

    for task_id in deps:
        if cycle := visit(task_id, []):
            return [f"dependency cycle: {cycle}"]
    return []


def _plan_arguments(reply: AIMessage) -> tuple[Any, str | None]:
    """The plan's arguments from a tool call, or from JSON in the text for models that answer in prose."""
    for call in reply.tool_calls:
        if call["name"] == "submit_plan":
            return call["args"], call.get("id")
    if reply.invalid_tool_calls:
        bad = reply.invalid_tool_calls[0]
        return {"__invalid__": f"the submit_plan arguments are not valid JSON: {bad.get('args')!r}"}, bad.get("id")
    parsed = _first_json_object(reply.text)
    if parsed is not None:
        return parsed, None
    return {"__invalid__": "no submit_plan call was made and the answer holds no JSON plan"}, None


def _first_json_object(text: str) -> dict | None:
    """The first JSON object in prose or a code fence that looks like a plan (or the first object at all)."""
    decoder, found = json.JSONDecoder(), []
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            if "tasks" in value:
                return value
            found.append(value)
    return found[0] if found else None


def _answer_every_call(reply: AIMessage, plan_call_id: str | None, feedback: str) -> list[BaseMessage]:
    """OpenAI refuses a conversation with an unanswered tool call, so every call in the reply gets one."""
    answers: list[BaseMessage] = []
    for call in [*reply.tool_calls, *reply.invalid_tool_calls]:
        if call.get("id") and call.get("id") != plan_call_id:
            answers.append(
                ToolMessage(
                    "Not executed: while planning, make a single submit_plan call and nothing else.",
                    tool_call_id=call["id"],
                    status="error",
                )
            )
    if plan_call_id:
        answers.insert(0, ToolMessage(feedback, tool_call_id=plan_call_id, status="error"))
    else:
        answers.append(HumanMessage(feedback))
    return answers


def plan(
    state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig, *, default_models: RoleModels | None = None
) -> dict:
    """Ask the manager for a plan; show it its mistakes once; a plan still invalid becomes a blocker.

    The plan is only proposed here; approve_plan adopts it (after a person's approval, when asked for).
    """
    if state.get("remaining_steps", 10_000) < MIN_STEPS:
        raise ConfigError(
            f"recursion_limit is too low: a run needs at least {MIN_STEPS + 1} supersteps to plan, "
            "schedule and verify (buildcrew's CLI uses 10000)"
        )
    env = node_env(runtime, config, default_models)
    rounds = state.get("plan_rounds", 0)
    env.trail.record("plan_start", role="manager", detail={"goal": state["goal"], "round": rounds + 1})
    model = env.models.manager.bind_tools([submit_plan])
    messages: list[BaseMessage] = [SystemMessage(MANAGER_PLAN), HumanMessage(f"Goal: {state['goal']}")]
    if state.get("plan_feedback"):
        previous = "\n".join(f"- {t.id}: {t.title}" for t in state.get("proposed_plan") or [])
        messages.append(
            HumanMessage(
                f"Your previous plan was rejected by the user:\n{previous}\n"
                f"Reason: {state['plan_feedback']}\nSubmit a new plan that addresses it."
            )
        )
    usage, errors, problems = ModelUsage(role="manager", task_id="plan", model=model_name(env.models.manager)), [], []
    for turn in (2 * rounds + 1, 2 * rounds + 2):
        if reason := env.meter.exhausted():
            problems = [reason]
            break
        try:
            reply = model.invoke(messages, config={"metadata": model_metadata("manager", "plan", turn)})
        except ReplayMismatch:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed model call becomes the plan blocker, whole
            errors.append(model_error(exc, role="manager", task_id="plan", calls_made=[]))
            problems = [f"the manager model failed: {type(exc).__name__}: {exc}"]
            break
        usage = add_usage(usage, reply, env.meter)
        reply = with_call_ids(reply, turn)
        raw, call_id = _plan_arguments(reply)
        tasks, problems = ([], [raw["__invalid__"]]) if "__invalid__" in raw else validate_plan(raw, env.workspace)
        env.trail.record("plan_proposal", role="manager", ok=not problems, detail={"turn": turn, "problems": problems})
        if not problems:
            emit("plan", tasks=[t.id for t in tasks])
            return {
                "proposed_plan": tasks,
                "plan_status": "ok",
                "plan_rounds": rounds + 1,
                "plan_feedback": None,
                "usage": [usage],
                "errors": errors,
            }
        feedback = "The plan is invalid:\n- " + "\n- ".join(problems)
        feedback += "\nCall submit_plan again with a corrected plan."
        messages += [reply, *_answer_every_call(reply, call_id, feedback)]
    blocker = Callback(
        id=f"cb:plan:invalid:{rounds + 1}",
        source="manager",
        severity="blocker",
        kind="plan_invalid",
        message="The manager could not produce a valid plan: " + "; ".join(problems),
    )
    announce_blockers([blocker])
    return {
        "plan_status": "invalid",
        "plan_rounds": rounds + 1,
        "callbacks": [blocker],
        "usage": [usage],
        "errors": errors,
    }
