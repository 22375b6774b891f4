"""One agent's tool loop: call the model, run its tool calls, repeat until it answers without one.

The transcript lives only here, in memory: the graph state gets the outcome, the files and the errors.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from graph.budget import BudgetMeter
from graph.scripted import ROLE_KEY, TASK_KEY, TURN_KEY
from state.errors import ReplayMismatch
from state.models import ModelUsage, ToolError
from tools.agent_tools import ToolBox

logger = logging.getLogger(__name__)

Ending = Literal["answered", "max_turns", "model_error", "loop_detected", "budget"]


@dataclass
class AgentOutcome:
    """How an agent run ended, with what it cost."""

    ending: Ending
    turns: int
    final_text: str = ""
    usage: ModelUsage | None = None
    error: ToolError | None = None
    detail: str = ""
    messages: list[BaseMessage] = field(default_factory=list, repr=False)
    submitted: dict | None = None
    """The arguments of the ``submit`` call that ended the loop, when one was given."""


def with_call_ids(reply: AIMessage, turn: int) -> AIMessage:
    """The reply with a unique id on every tool call: servers that omit or repeat ids would otherwise leave the
    model unable to tell which result answers which call, and OpenAI refuses such a conversation."""
    seen: set[str] = set()
    fixed_calls, fixed_invalid, changed = [], [], False
    for index, call in enumerate([*reply.tool_calls, *reply.invalid_tool_calls]):
        call_id = call.get("id")
        if not call_id or call_id in seen:
            call = {**call, "id": f"call_t{turn}_{index}"}
            changed = True
        seen.add(call["id"])
        (fixed_calls if index < len(reply.tool_calls) else fixed_invalid).append(call)
    if not changed:
        return reply
    return reply.model_copy(update={"tool_calls": fixed_calls, "invalid_tool_calls": fixed_invalid})


def model_metadata(role: str, task_id: str, turn: int) -> dict:
    """Call metadata: tracing tags for real models, the lookup key for the scripted one."""
    return {ROLE_KEY: role, TASK_KEY: task_id, TURN_KEY: turn}


def model_name(model: object) -> str:
    """The name a price table knows the model by."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def add_usage(usage: ModelUsage, message: AIMessage, meter: BudgetMeter | None = None) -> ModelUsage:
    """Count one call's tokens into the agent's usage and the run's budget."""
    meta = message.usage_metadata or {}
    if meter is not None:
        meter.charge(usage.model, int(meta.get("input_tokens") or 0), int(meta.get("output_tokens") or 0))
    return usage.model_copy(
        update={
            "calls": usage.calls + 1,
            "input_tokens": usage.input_tokens + int(meta.get("input_tokens") or 0),
            "output_tokens": usage.output_tokens + int(meta.get("output_tokens") or 0),
        }
    )


def model_error(exc: BaseException, *, role: str, task_id: str, calls_made: list[str]) -> ToolError:
    """A model API failure kept whole, with the tool calls that led to it."""
    return ToolError(
        tool="model",
        error_type=type(exc).__name__,
        message=str(exc) or repr(exc),
        traceback="".join(traceback.format_exception(exc)),
        task_id=task_id,
        role=role,  # type: ignore[arg-type]
        tool_calls_made=list(calls_made),
    )


def run_agent(
    model: BaseChatModel,
    toolbox: ToolBox,
    tools: list[BaseTool],
    *,
    system: str,
    prompt: str,
    max_turns: int,
    loop_guard_repeats: int = 3,
    key: str | None = None,
    meter: BudgetMeter | None = None,
    submit: type | None = None,
) -> AgentOutcome:
    """Run the loop; never raises for model or tool failures, it reports them in the outcome.

    A replay cassette with no answer is the one exception: replaying past it would not be a replay.
    ``submit`` is a pydantic schema offered as one more tool: calling it ends the loop with its arguments.
    """
    role, task_id = toolbox.role, key or toolbox.task_id
    bound = model.bind_tools([*tools, submit] if submit is not None else tools)
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(prompt)]
    usage = ModelUsage(role=role, task_id=toolbox.task_id, model=model_name(model))
    recent: list[str] = []
    for turn in range(1, max_turns + 1):
        if meter is not None and (reason := meter.exhausted()):
            return AgentOutcome("budget", turn - 1, usage=usage, detail=reason, messages=messages)
        try:
            reply = bound.invoke(messages, config={"metadata": model_metadata(role, task_id, turn)})
        except ReplayMismatch:
            raise
        except Exception as exc:  # noqa: BLE001 - any model failure ends this agent, recorded whole
            logger.warning("model call failed for %s %s turn %d: %s", role, task_id, turn, exc)
            error = model_error(exc, role=role, task_id=toolbox.task_id, calls_made=toolbox.calls_made)
            return AgentOutcome(
                "model_error", turn, usage=usage, error=error, detail=f"{type(exc).__name__}: {exc}", messages=messages
            )
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        reply = with_call_ids(reply, turn)
        usage = add_usage(usage, reply, meter)
        messages.append(reply)
        if submit is not None and (done := next((c for c in reply.tool_calls if c["name"] == submit.__name__), None)):
            return AgentOutcome(
                "answered", turn, final_text=str(reply.content), usage=usage, messages=messages, submitted=done["args"]
            )
        if not reply.tool_calls and not reply.invalid_tool_calls:
            return AgentOutcome("answered", turn, final_text=str(reply.content), usage=usage, messages=messages)
        replies = toolbox.execute(reply, tools)
        messages.extend(replies)
        recent.extend(
            _signature(call, reply_msg.status)
            for call, reply_msg in zip(reply.tool_calls + reply.invalid_tool_calls, replies, strict=False)
        )
        if _is_stuck(recent, loop_guard_repeats):
            detail = (
                f"{role} on task {toolbox.task_id} repeated the same tool call {loop_guard_repeats} times in a "
                f"row: {recent[-1]}"
            )
            return AgentOutcome("loop_detected", turn, usage=usage, detail=detail, messages=messages)
    return AgentOutcome(
        "max_turns",
        max_turns,
        usage=usage,
        detail=f"{role} on task {toolbox.task_id} used all {max_turns} turns without finishing",
        messages=messages,
    )


def _signature(call: dict, status: str) -> str:
    args = call.get("args")
    try:
        text = json.dumps(args, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(args)
    return f"{call.get('name')}({text}) -> {status}"


def _is_stuck(recent: list[str], repeats: int) -> bool:
    return len(recent) >= repeats and len(set(recent[-repeats:])) == 1
