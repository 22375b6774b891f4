"""The offline scripted model: a real LangChain chat model that plays a scenario file.

It answers by (role, task, turn), read from the call's metadata, so parallel branches get the same
answers whatever order they are scheduled in. Everything it returns goes through the same graph,
tool executor, workspace jail and checks as a real model's answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from state.errors import ConfigError, ScenarioError

ROLE_KEY, TASK_KEY, TURN_KEY = "buildcrew_role", "buildcrew_task", "buildcrew_turn"
DEFAULT_KEY = "*"


class ScriptedToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptedTurn(BaseModel):
    """One answer: text, tool calls, raw (possibly broken) tool-call arguments, or a simulated API error."""

    model_config = ConfigDict(extra="forbid")
    content: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    raw_tool_calls: list[dict[str, str]] = Field(
        default_factory=list, description="Calls whose 'arguments' string is passed on unparsed, as a server sends."
    )
    error: str | None = Field(default=None, description="Raise a model API error with this message instead.")


class Scenario(BaseModel):
    """A scripted run: the goal and every agent's answers, by role then task id then turn."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    goal: str
    verify_command: str | None = None
    latency_s: float = Field(default=0.0, ge=0, description="Seconds every model call waits, as a provider would.")
    manager: dict[str, list[ScriptedTurn]] = Field(default_factory=dict)
    developer: dict[str, list[ScriptedTurn]] = Field(default_factory=dict)
    auditor: dict[str, list[ScriptedTurn]] = Field(default_factory=dict)

    def answer(self, role: str, task: str, turn: int) -> ScriptedTurn:
        """The scripted answer, or a ScenarioError naming exactly what is missing."""
        if role not in ("manager", "developer", "auditor"):
            raise ScenarioError(f"scenario {self.name!r}: unknown role {role!r}")
        script: dict[str, list[ScriptedTurn]] = getattr(self, role)
        turns = script.get(task, script.get(DEFAULT_KEY))
        if turns is None:
            raise ScenarioError(f"scenario {self.name!r} has no {role} script for task {task!r}")
        if not 1 <= turn <= len(turns):
            raise ScenarioError(
                f"scenario {self.name!r}: the {role} script for task {task!r} has {len(turns)} turn(s); "
                f"turn {turn} was requested"
            )
        return turns[turn - 1]


def load_scenario(source: str | Path | None = None) -> Scenario:
    """Load a scenario file, or the bundled demo when ``source`` is None or 'demo'."""
    if source is None or str(source) == "demo":
        text = resources.files("graph.scenarios").joinpath("demo.json").read_text(encoding="utf-8")
        origin = "bundled demo scenario"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read scenario file {str(path)!r}: {exc.strerror or exc}") from exc
        origin = str(path)
    try:
        return Scenario.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"scenario {origin} is not valid JSON: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"scenario {origin} is malformed: {exc}") from exc


class KeyedChatModel(BaseChatModel):
    """An offline chat model that answers by the (role, task, turn) key buildcrew puts in every call's metadata."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):  # noqa: ANN201 - Runnable
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    @staticmethod
    def call_key(run_manager: CallbackManagerForLLMRun | None) -> tuple[str, str, int] | None:
        """The call's (role, task, turn), or None when the caller gave none."""
        metadata = run_manager.metadata if run_manager else {}
        role, task, turn = metadata.get(ROLE_KEY), metadata.get(TASK_KEY), metadata.get(TURN_KEY)
        return None if role is None or task is None or turn is None else (str(role), str(task), int(turn))


class ScriptedChatModel(KeyedChatModel):
    """A chat model that answers from a Scenario; supports bind_tools like any tool-calling model."""

    scenario: Scenario

    @property
    def _llm_type(self) -> str:
        return "buildcrew-scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        key = self.call_key(run_manager)
        if key is None:
            raise ScenarioError("the scripted model was called without buildcrew role/task/turn metadata")
        role, task, turn = key
        scripted = self.scenario.answer(role, task, turn)
        if self.scenario.latency_s:
            time.sleep(self.scenario.latency_s)
        if scripted.error is not None:
            raise ScenarioError(f"scripted model API error for {role} task {task} turn {turn}: {scripted.error}")
        message = self._message(scripted, task, turn, messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _message(self, scripted: ScriptedTurn, task: str, turn: int, messages: list[BaseMessage]) -> AIMessage:
        prefix = f"call_{task}_{turn}".replace(".", "_")
        tool_calls = [
            {"name": call.name, "args": call.args, "id": f"{prefix}_{i}", "type": "tool_call"}
            for i, call in enumerate(scripted.tool_calls)
        ]
        invalid = [
            {
                "name": raw.get("name"),
                "args": raw.get("arguments"),
                "id": f"{prefix}_raw_{i}",
                "error": "arguments are not valid JSON",
                "type": "invalid_tool_call",
            }
            for i, raw in enumerate(scripted.raw_tool_calls)
        ]
        valid_raw = []
        for call in invalid[:]:
            try:
                args = json.loads(call["args"] or "")
            except (TypeError, ValueError):
                continue
            if isinstance(args, dict):
                invalid.remove(call)
                valid_raw.append({"name": call["name"], "args": args, "id": call["id"], "type": "tool_call"})
        prompt_chars = sum(len(str(m.content)) for m in messages)
        output_chars = len(scripted.content) + sum(len(json.dumps(c.args)) for c in scripted.tool_calls)
        return AIMessage(
            content=scripted.content,
            tool_calls=tool_calls + valid_raw,
            invalid_tool_calls=invalid,
            usage_metadata={
                "input_tokens": prompt_chars // 4 + 1,
                "output_tokens": output_chars // 4 + 1,
                "total_tokens": prompt_chars // 4 + output_chars // 4 + 2,
            },
        )
