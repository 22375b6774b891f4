"""Reducers that merge updates from parallel branches without losing or duplicating entries.

Each accepts plain dicts as well as models, because input from the LangGraph API and Studio arrives as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from pydantic import BaseModel

from state.models import Callback, FileRecord, ModelUsage, Task, ToolError

M = TypeVar("M", bound=BaseModel)


def _coerce(model: type[M], value: object) -> M:
    return value if isinstance(value, model) else model.model_validate(value)


def _as_items(update: Mapping | Iterable | None) -> Iterable:
    """The records of an update given as a mapping (by id or path), a list, or nothing."""
    if update is None:
        return ()
    if isinstance(update, Mapping):
        return update.values()
    return update


def merge_tasks(current: dict[str, Task] | None, update: Mapping | Iterable | None) -> dict[str, Task]:
    """Merge tasks by id: a later version of a task replaces the earlier one; new tasks are added."""
    merged = {key: _coerce(Task, value) for key, value in (current or {}).items()}
    for item in _as_items(update):
        task = _coerce(Task, item)
        merged[task.id] = task
    return merged


def merge_files(current: dict[str, FileRecord] | None, update: Mapping | Iterable | None) -> dict[str, FileRecord]:
    """Merge file records by path: the latest operation on a path (by time) says what the disk must hold.

    Two parallel branches writing one path arrive in any order; the later write is the one the disk kept.
    """
    merged = {key: _coerce(FileRecord, value) for key, value in (current or {}).items()}
    for item in _as_items(update):
        record = _coerce(FileRecord, item)
        known = merged.get(record.path)
        if known is None or record.time >= known.time:
            merged[record.path] = record
    return merged


def merge_callbacks(current: list[Callback] | None, update: Iterable | None) -> list[Callback]:
    """Append new callbacks in arrival order; a callback with a known id replaces it in place."""
    merged = [_coerce(Callback, cb) for cb in current or []]
    index = {cb.id: i for i, cb in enumerate(merged)}
    for item in _as_items(update):
        callback = _coerce(Callback, item)
        if callback.id in index:
            merged[index[callback.id]] = callback
        else:
            index[callback.id] = len(merged)
            merged.append(callback)
    return merged


def append_errors(current: list[ToolError] | None, update: Iterable | None) -> list[ToolError]:
    """Append errors; nothing is dropped or shortened."""
    return list(current or []) + [_coerce(ToolError, item) for item in update or ()]


def append_usage(current: list[ModelUsage] | None, update: Iterable | None) -> list[ModelUsage]:
    """Append usage figures from parallel branches."""
    return list(current or []) + [_coerce(ModelUsage, item) for item in update or ()]
