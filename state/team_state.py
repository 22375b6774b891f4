"""The graph state: the shared record every node reads and returns updates to."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from langgraph.channels.delta import DeltaChannel
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

from state.models import Callback, FileRecord, ModelUsage, Task, ToolError, VerificationReport
from state.reducers import append_errors, append_usage, merge_callbacks, merge_files, merge_tasks


def _delta(reducer: Callable[[Any, Any], Any]) -> DeltaChannel:
    """A channel whose checkpoints store only each step's writes, not the whole value again.

    Tasks, callbacks, files and errors grow with the project; re-serializing them in full at every superstep
    made checkpoint storage grow with the square of the task count. Our reducers merge by id or append, so
    folding a batch of writes equals applying them one by one, as DeltaChannel requires.
    """

    def fold(state: Any, writes: list[Any]) -> Any:
        return functools.reduce(reducer, writes, state)

    fold.__name__ = fold.__qualname__ = f"fold_{reducer.__name__}"
    return DeltaChannel(fold)


class TeamInput(TypedDict):
    """What a caller gives to start a run."""

    goal: str
    """The user's goal, in plain words."""


class TeamState(TypedDict):
    """Everything the team knows about the run: metadata only, never file contents."""

    goal: str
    """The user's goal, in plain words."""
    tasks: NotRequired[Annotated[dict[str, Task], _delta(merge_tasks)]]
    """Every task by id, remediation tasks included; merged by id."""
    callbacks: NotRequired[Annotated[list[Callback], _delta(merge_callbacks)]]
    """Every callback in arrival order; merged by id so resolving one updates it in place."""
    files_created: NotRequired[Annotated[dict[str, FileRecord], _delta(merge_files)]]
    """The latest verified write of every path; merged by path."""
    errors: NotRequired[Annotated[list[ToolError], _delta(append_errors)]]
    """Every tool, task and model error, whole."""
    usage: NotRequired[Annotated[list[ModelUsage], _delta(append_usage)]]
    """Model calls and tokens per agent run."""
    plan_status: NotRequired[Literal["pending", "ok", "invalid", "rejected"]]
    """Whether the manager produced a valid plan, and whether the user rejected it."""
    proposed_plan: NotRequired[list[Task] | None]
    """The manager's latest valid plan, adopted into ``tasks`` by approve_plan."""
    plan_feedback: NotRequired[str | None]
    """Why the user rejected the last plan; shown to the manager when it plans again."""
    plan_rounds: NotRequired[int]
    """How many times the manager has planned."""
    remediation_rounds: NotRequired[int]
    """How many times the manager has turned blockers into remediation tasks."""
    final_passes: NotRequired[int]
    """How many times final verification has run."""
    stop_reason: NotRequired[str | None]
    """Why the run stopped early (budget, step limit), if it did."""
    report: NotRequired[VerificationReport | None]
    """The final verification's report."""
    remaining_steps: NotRequired[RemainingSteps]
    """Supersteps left before LangGraph's recursion limit; the router ends the run well before it."""
