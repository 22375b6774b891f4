"""Typed records that cross the graph: tasks, callbacks, file records, errors and the final report.

They hold metadata only (paths, hashes, statuses); file contents and transcripts stay on disk, so
checkpoints stay small however large the project grows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["developer", "auditor"]
Source = Literal["manager", "developer", "auditor", "verifier", "system"]
TaskStatus = Literal["pending", "running", "done", "failed", "blocked"]
AuditStatus = Literal["none", "pending", "running", "passed", "blocked"]
Severity = Literal["info", "warning", "blocker"]
CallbackKind = Literal[
    "note",  # anything an agent reports that needs no routing
    "review",  # a defect found by an auditor or reported by a developer
    "missing_file",  # a declared deliverable was not created by its task
    "lost_file",  # a file recorded as created is gone or changed
    "task_failed",  # the task's agent failed (turn limit, tool loop, unexpected error)
    "model_error",  # the model API failed after the client's own retries
    "loop_detected",  # an agent repeated the same tool call
    "plan_invalid",  # the manager could not produce a valid plan
    "dependency_failed",  # a task could not start because a prerequisite never completed
    "verification_failed",  # the verification command or the final review failed
    "review_failed",  # the auditor could not complete a review (model failure, turn limit, budget)
    "limit",  # a run limit (rounds, steps, budget) was reached
]
TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """Base for state records: immutable, so a reducer never sees a value change under it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("time", mode="after", check_fields=False)
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """Times from JSON without a zone (Studio, the API) are taken as UTC, so they compare with ours."""
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Task(Record):
    """One unit of work for one agent."""

    id: str = Field(description="Unique id: letters, digits, '.', '_' or '-', at most 64 characters.")
    role: Role = Field(default="developer", description="Which agent runs it.")
    title: str = Field(min_length=1, description="One line saying what the task delivers.")
    instructions: str = Field(default="", description="What the agent must do, in full.")
    deliverables: list[str] = Field(default_factory=list, description="Workspace-relative paths it must create.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks that must be done first.")
    status: TaskStatus = "pending"
    attempts: int = Field(default=0, ge=0, description="How many times an agent has run this task.")
    retry_for: str | None = Field(default=None, description="The task this one remediates, if any.")
    audit: AuditStatus = Field(default="none", description="Where the task's review stands.")
    files_created: list[str] = Field(default_factory=list, description="Paths this task wrote.")
    file_count: int = Field(default=0, description="Files in the workspace when the task ended.")
    error: str | None = Field(default=None, description="One line on why the task failed, if it did.")

    @field_validator("id")
    @classmethod
    def _id_is_plain(cls, value: str) -> str:
        if not TASK_ID_PATTERN.match(value):
            raise ValueError(f"task id {value!r} must match {TASK_ID_PATTERN.pattern}")
        return value

    @property
    def root(self) -> str:
        """The original task of a remediation chain (itself for an original task)."""
        return self.retry_for or self.id


class Callback(Record):
    """Something an agent or a check reports; blockers route back to the manager."""

    id: str
    source: Source
    task_id: str | None = None
    severity: Severity
    message: str
    kind: CallbackKind = "note"
    path: str | None = Field(default=None, description="The file a mechanical blocker is about.")
    time: datetime = Field(default_factory=utc_now)
    remediation_task: str | None = Field(default=None, description="The task created to fix it.")
    resolved_by: str | None = Field(default=None, description="The task whose success resolved it.")

    @property
    def is_open_blocker(self) -> bool:
        return self.severity == "blocker" and self.resolved_by is None


class FileRecord(Record):
    """A verified file the team created: what the disk must still hold at the end.

    A ``delete`` record is a tombstone: an agent removed the file through its tools (or moved it away), so
    the disk must no longer hold it, and final verification does not call it lost.
    """

    path: str
    size: int
    sha256: str
    task_id: str
    role: Source
    operation: Literal["write", "edit", "move", "delete"]
    time: datetime = Field(default_factory=utc_now)

    @property
    def live(self) -> bool:
        """True unless this records a deletion."""
        return self.operation != "delete"


class ToolError(Record):
    """A failure kept whole: which call, with what, what went wrong, and where."""

    tool: str = Field(description="The tool name, or 'model' / 'task' for failures outside a tool.")
    arguments: str = Field(default="", description="A summary of the call's arguments.")
    error_type: str
    message: str = Field(description="The full message, never truncated.")
    traceback: str | None = None
    task_id: str | None = None
    role: Source | None = None
    tool_calls_made: list[str] = Field(default_factory=list, description="The calls that led up to it.")
    time: datetime = Field(default_factory=utc_now)


class ModelUsage(Record):
    """Model calls and tokens spent by one agent run."""

    role: str
    task_id: str | None = None
    model: str = Field(default="", description="The model's name, for the price table.")
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class ChecklistItem(Record):
    """One check of the final verification, with the evidence it rests on."""

    name: str
    status: Literal["PASS", "FAIL", "SKIP"]
    evidence: str


class VerificationReport(Record):
    """The final verification's outcome: what was delivered, proven on disk."""

    verdict: Literal["PASS", "FAIL"]
    reason: str
    depth: str
    checklist: list[ChecklistItem]
    unresolved_blockers: list[Callback]
    resolved_blockers: list[Callback]
    metrics: dict[str, Any]
    time: datetime = Field(default_factory=utc_now)
