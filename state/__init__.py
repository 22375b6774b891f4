"""What flows through the graph: typed records, the graph state and its reducers."""

from state.models import (
    Callback,
    CallbackKind,
    ChecklistItem,
    FileRecord,
    Role,
    Severity,
    Task,
    TaskStatus,
    ToolError,
    VerificationReport,
)
from state.team_state import TeamState

__all__ = [
    "Callback",
    "CallbackKind",
    "ChecklistItem",
    "FileRecord",
    "Role",
    "Severity",
    "Task",
    "TaskStatus",
    "TeamState",
    "ToolError",
    "VerificationReport",
]
