"""Remediation chains: an original task and the tasks that retry or fix it, and what they add up to.

Every bound on retries is counted per chain, so a defect can be fixed a few times but never looped on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from graph.context import RunContext
from state.models import Callback, Task

# Blockers the manager can turn into a remediation task. Model API errors, invalid plans, limits and
# dependency failures cannot be fixed by another attempt of the same work.
FIXABLE_KINDS = frozenset({"review", "missing_file", "lost_file", "task_failed", "loop_detected"})
MECHANICAL_KINDS = frozenset({"missing_file", "lost_file", "task_failed", "loop_detected"})

ChainState = Literal["done", "in_progress", "failed"]


def chain(tasks: Mapping[str, Task], root: str) -> list[Task]:
    """The original task then its remediations, in creation order."""
    members = [t for t in tasks.values() if t.root == root]
    return sorted(members, key=lambda t: (t.retry_for is not None, remediation_number(t.id)))


def remediation_number(task_id: str) -> int:
    """n for a remediation task ``<root>.r<n>``; 0 for an original task."""
    tail = task_id.rsplit(".r", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0


def chain_attempts(tasks: Mapping[str, Task], root: str) -> int:
    return sum(t.attempts for t in chain(tasks, root))


def root_of(tasks: Mapping[str, Task], task_id: str | None) -> str | None:
    task = tasks.get(task_id) if task_id else None
    return task.root if task else None


def is_fixable(callback: Callback, tasks: Mapping[str, Task], context: RunContext) -> bool:
    """An open blocker the manager may still act on: a fixable kind, not yet assigned, attempts left."""
    root = root_of(tasks, callback.task_id)
    return (
        callback.is_open_blocker
        and callback.kind in FIXABLE_KINDS
        and callback.remediation_task is None
        and root is not None
        and chain_attempts(tasks, root) < context.max_attempts
    )


def fixable_blockers(callbacks: Iterable[Callback], tasks: Mapping[str, Task], context: RunContext) -> list[Callback]:
    return [cb for cb in callbacks if is_fixable(cb, tasks, context)]


def is_successful(task: Task) -> bool:
    """Done, with every deliverable present and a clean review (auditor tasks are not reviewed)."""
    return task.status == "done" and task.audit in ("passed", "none")


def chain_state(tasks: Mapping[str, Task], callbacks: list[Callback], root: str, context: RunContext) -> ChainState:
    """Whether a chain has delivered, is still being worked on, or has run out of options."""
    members = chain(tasks, root)
    latest = members[-1]
    if latest.status in ("pending", "running") or latest.audit in ("pending", "running"):
        return "in_progress"
    open_blockers = [cb for cb in callbacks if cb.is_open_blocker and root_of(tasks, cb.task_id) == root]
    if any(is_fixable(cb, tasks, context) for cb in open_blockers):
        return "in_progress"
    return "done" if is_successful(latest) and not open_blockers else "failed"
