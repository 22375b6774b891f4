"""Checkpoint serialization: our state types registered by name, so checkpoints load with no warnings.

LangGraph's serializer allows any type by default, with a warning on load, and will block unregistered
types in a later release. Registering ours makes loading explicit and keeps every other type blocked.
"""

from __future__ import annotations

import copy

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import maybe_add_typed_methods
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from state.models import Callback, ChecklistItem, FileRecord, ModelUsage, Task, ToolError, VerificationReport

STATE_TYPES = (Task, Callback, FileRecord, ToolError, ModelUsage, ChecklistItem, VerificationReport)


def state_serializer() -> JsonPlusSerializer:
    """A serializer that loads our state types and LangGraph's safe types, and nothing else."""
    return JsonPlusSerializer(allowed_msgpack_modules=[(t.__module__, t.__name__) for t in STATE_TYPES])


def with_state_types(checkpointer: BaseCheckpointSaver) -> BaseCheckpointSaver:
    """The checkpointer, sharing its connection, with a serializer that knows our state types.

    A checkpointer given a custom serializer (encryption, say) is returned unchanged.
    """
    if type(checkpointer.serde) is not JsonPlusSerializer:
        return checkpointer
    clone = copy.copy(checkpointer)
    clone.serde = maybe_add_typed_methods(state_serializer())
    return clone
