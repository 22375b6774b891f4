"""remediate: the manager turns open blockers into remediation tasks, within the attempt and round bounds.

Mechanical blockers (a missing or lost file, a task that did not finish) get a remediation written by rule;
review findings go through the manager model, which writes the fix's instructions.
"""

from __future__ import annotations

from collections import defaultdict

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError

from graph.agent_loop import add_usage, model_error, model_metadata, model_name
from graph.chains import MECHANICAL_KINDS, chain, fixable_blockers, remediation_number
from graph.context import RunContext
from graph.env import NodeEnv, emit, node_env
from graph.models import RoleModels
from graph.prompts import MANAGER_REMEDIATE, remediation_prompt
from state.errors import ReplayMismatch, ToolInputError
from state.models import Callback, ModelUsage, Task, ToolError
from state.team_state import TeamState


class submit_remediation(BaseModel):  # noqa: N801 - the tool name the model sees
    """Submit the remediation task that fixes the defects."""

    instructions: str = Field(min_length=1, description="What the developer must change, precisely.")
    deliverables: list[str] = Field(default_factory=list, description="Paths the fix must (re)create.")


def remediate(
    state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig, *, default_models: RoleModels | None = None
) -> dict:
    """One remediation task per chain with fixable blockers; the blockers remember which task fixes them."""
    env = node_env(runtime, config, default_models)
    tasks = state.get("tasks") or {}
    groups: dict[str, list[Callback]] = defaultdict(list)
    for blocker in fixable_blockers(state.get("callbacks") or [], tasks, env.context):
        groups[tasks[blocker.task_id].root].append(blocker)  # type: ignore[index]
    new_tasks, updated, usage, errors = [], [], [], []
    for root, blockers in groups.items():
        members = chain(tasks, root)
        number = max(remediation_number(t.id) for t in members) + 1
        original = members[0]
        fix = Task(
            id=f"{root}.r{number}",
            role=original.role,
            title=f"Fix {root}: {original.title}"[:200],
            instructions=_mechanical_instructions(original, blockers),
            deliverables=_deliverables(original, blockers),
            retry_for=root,
        )
        if any(b.kind not in MECHANICAL_KINDS for b in blockers):
            fix, spent, error = _ask_manager(env, fix, original, blockers, number)
            usage.append(spent)
            errors += [error] if error else []
        new_tasks.append(fix)
        updated += [b.model_copy(update={"remediation_task": fix.id}) for b in blockers]
        env.trail.record(
            "remediation",
            task_id=fix.id,
            role="manager",
            detail={"retry_for": root, "blockers": [b.id for b in blockers]},
        )
    emit("remediation", tasks=[t.id for t in new_tasks])
    return {
        "tasks": new_tasks,
        "callbacks": updated,
        "usage": usage,
        "errors": errors,
        "remediation_rounds": state.get("remediation_rounds", 0) + 1,
    }


def _mechanical_instructions(original: Task, blockers: list[Callback]) -> str:
    found = "\n".join(f"- {b.message}" for b in blockers)
    return (
        f"Remediate task {original.id} ({original.title}). These blockers must be fixed:\n{found}\n"
        f"The original instructions were:\n{original.instructions or original.title}"
    )


def _deliverables(original: Task, blockers: list[Callback]) -> list[str]:
    paths = [b.path for b in blockers if b.kind in ("missing_file", "lost_file") and b.path]
    return (
        sorted(set(paths))
        if paths and all(b.kind in MECHANICAL_KINDS for b in blockers)
        else list(original.deliverables)
    )


def _ask_manager(
    env: NodeEnv, fix: Task, original: Task, blockers: list[Callback], number: int
) -> tuple[Task, ModelUsage, ToolError | None]:
    """The manager model writes the fix; if it fails or answers badly, the rule-written fix stands."""
    usage = ModelUsage(role="manager", task_id=fix.id, model=model_name(env.models.manager))
    model = env.models.manager.bind_tools([submit_remediation])
    messages = [SystemMessage(MANAGER_REMEDIATE), HumanMessage(remediation_prompt(original, blockers))]
    if env.meter.exhausted():
        return fix, usage, None
    try:
        reply = model.invoke(messages, config={"metadata": model_metadata("manager", f"remediate:{fix.root}", number)})
        usage = add_usage(usage, reply, env.meter)
        call = next((c for c in reply.tool_calls if c["name"] == "submit_remediation"), None)
        if call is None:
            raise ToolInputError(f"the manager answered without calling submit_remediation: {reply.content!r}")
        answer = submit_remediation.model_validate(call["args"])
        for path in answer.deliverables:
            env.workspace.normalize(path, for_change=True)
    except ReplayMismatch:
        raise
    except (ValidationError, ToolInputError) as exc:
        env.trail.record("remediation_answer", ok=False, task_id=fix.id, role="manager", error=exc)
        return (
            fix,
            usage,
            ToolError(
                tool="manager",
                arguments="submit_remediation",
                error_type=type(exc).__name__,
                message=str(exc),
                task_id=fix.id,
                role="manager",
            ),
        )
    except Exception as exc:  # noqa: BLE001 - a model failure leaves the rule-written fix in place
        return fix, usage, model_error(exc, role="manager", task_id=fix.id, calls_made=[])
    instructions = f"{answer.instructions}\n\n{fix.instructions}"
    deliverables = sorted(set(fix.deliverables) | set(answer.deliverables))  # the manager adds, never drops
    return fix.model_copy(update={"instructions": instructions, "deliverables": deliverables}), usage, None
