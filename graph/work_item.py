"""What the scheduler sends to one develop or audit branch: the task and the goal, nothing more."""

from __future__ import annotations

from typing_extensions import TypedDict

from state.models import Task


class WorkItem(TypedDict):
    """The input of one parallel branch."""

    task: Task
    """The task to work on, as the scheduler dispatched it."""
    goal: str
    """The team's goal, for context."""
