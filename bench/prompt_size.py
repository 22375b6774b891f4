"""Figure 3: the size of a developer's first prompt in a small and a large project.

A recording subclass of the scripted model keeps what each developer's first call receives: the messages
(system and task prompt) and the tool schemas bound to the call, both counted in characters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from bench.report import Row, Section
from bench.scenarios import project, task_id
from bench.team import run_team
from graph.scripted import ROLE_KEY, TASK_KEY, TURN_KEY, ScriptedChatModel


class RecordingChatModel(ScriptedChatModel):
    """The scripted model, keeping the size of every developer's first prompt by task id."""

    first_prompts: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """task id -> (characters of message content, characters of the tool schemas)."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        meta = run_manager.metadata if run_manager else {}
        if meta.get(ROLE_KEY) == "developer" and meta.get(TURN_KEY) == 1:
            text = sum(len(str(m.content)) for m in messages)
            tools = len(json.dumps(kwargs.get("tools") or [], sort_keys=True))
            self.first_prompts[str(meta.get(TASK_KEY))] = (text, tools)
        return super()._generate(messages, stop, run_manager, **kwargs)


def first_prompts(workdir: Path, n: int) -> dict[str, tuple[int, int]]:
    model = RecordingChatModel(scenario=project(n))
    run_team(model.scenario, workdir / f"prompts-{n}", max_concurrency=8, model=model)
    return model.first_prompts


def measure(workdir: Path, *, small: int, large: int) -> Section:
    few, many = first_prompts(workdir, small), first_prompts(workdir, large)
    first = task_id(0)
    total_few, total_many = sum(few[first]), sum(many[first])
    largest_few, largest_many = max(map(sum, few.values())), max(map(sum, many.values()))
    growth = total_many / total_few
    fig = "3. prompt"
    rows = [
        Row(
            fig,
            f"first developer prompt, {large} / {small} tasks",
            growth,
            "x",
            "within 10% (0.90-1.10x)",
            0.9 <= growth <= 1.1,
        ),
        Row(fig, "diagnostic: largest first prompt, large / small", largest_many / largest_few, "x"),
        Row(fig, f"diagnostic: first prompt in the {large}-task project", total_many, "chars"),
    ]
    details = [
        f"task {first}, {small} tasks: {few[first][0]} characters of messages + {few[first][1]} of tool schemas "
        f"= {total_few}",
        f"task {first}, {large} tasks: {many[first][0]} characters of messages + {many[first][1]} of tool schemas "
        f"= {total_many}",
        f"largest first prompt of any developer: {largest_few} ({small} tasks), {largest_many} ({large} tasks)",
    ]
    return Section("Figure 3: prompt growth", rows, details)
