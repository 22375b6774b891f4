"""The tools agents call, and the executor that answers every tool call exactly once.

Model output is untrusted: arguments are validated against pydantic schemas, paths go through the
workspace jail, and any failure comes back to the model as an error message it can act on, while the
audit trail and the run's error list keep it whole.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError

from state.errors import ToolInputError
from state.models import Callback, FileRecord, Severity, Source, ToolError
from tools.audit import TOOL_EXECUTION_ERROR, AuditTrail, summarize_arguments
from tools.workspace import Workspace

READ_ONLY_TOOLS = ("read_file", "list_files", "run_command", "raise_callback")
MAX_READ_CHARS = 60_000
"""Characters of a file returned at once; the middle of a longer one is elided with a hint to read a range."""
MAX_LISTED = 2_000
"""Paths list_files returns at once."""


class WriteFileArgs(BaseModel):
    path: str = Field(description="Workspace-relative path, e.g. 'pkg/module.py'. Parent folders are created.")
    content: str = Field(description="The complete new content of the file (UTF-8 text).")


class ReadFileArgs(BaseModel):
    path: str = Field(description="Workspace-relative path of the file to read.")
    start_line: int | None = Field(default=None, ge=1, description="First line to return (1-based).")
    end_line: int | None = Field(default=None, ge=1, description="Last line to return (inclusive).")


class EditFileArgs(BaseModel):
    path: str = Field(description="Workspace-relative path of the file to edit.")
    old_text: str = Field(min_length=1, description="Exact text to replace; it must occur exactly once.")
    new_text: str = Field(description="The replacement text.")


class ListFilesArgs(BaseModel):
    pattern: str = Field(default="**/*", description="Glob pattern relative to the workspace, e.g. '**/*.py'.")


class PathArgs(BaseModel):
    path: str = Field(description="Workspace-relative path.")


class MoveFileArgs(BaseModel):
    source: str = Field(description="Workspace-relative path of the file to move.")
    destination: str = Field(description="Workspace-relative path to move it to.")


class RunCommandArgs(BaseModel):
    command: str = Field(min_length=1, description="Shell command, run in the workspace folder, e.g. 'pytest -q'.")
    timeout_seconds: float = Field(default=60, gt=0, le=600, description="Kill the command after this long.")


class RaiseCallbackArgs(BaseModel):
    severity: Literal["info", "warning", "blocker"] = Field(
        description="'blocker' for a defect that must be fixed before the work is acceptable."
    )
    message: str = Field(min_length=1, description="What is wrong or worth knowing, naming files and lines.")


@dataclass
class ToolBox:
    """The audited operations of one agent run, and what they produced for the graph state."""

    workspace: Workspace
    trail: AuditTrail
    task_id: str
    role: Source
    attempt: int = 1
    output_dir: Path | None = None
    hide_dir: Path | None = None
    """The run folder around the workspace, which commands must not see (the trail, checkpoints, reports)."""
    command_timeout: float = 60.0
    files: dict[str, FileRecord] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)
    calls_made: list[str] = field(default_factory=list)

    # -- operations -------------------------------------------------------------------------------
    def write_file(self, path: str, content: str) -> str:
        info = self.workspace.write(path, content)
        self._record_file(info, "write")
        return f"Wrote {info.path} ({info.size} bytes, sha256 {info.sha256[:12]})."

    def read_file(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        text = self.workspace.read(path, start_line, end_line)
        self.trail.record("read", task_id=self.task_id, role=self.role, path=path, size=len(text))
        if len(text) > MAX_READ_CHARS:  # a huge file would overflow the model's context and fail the task
            lines = text.count("\n") + 1
            head, tail = text[: MAX_READ_CHARS // 2], text[-MAX_READ_CHARS // 2 :]
            elided = len(text) - len(head) - len(tail)
            return (
                f"{head}\n... [{elided} characters elided; the file has {lines} lines: read a range with "
                f"start_line and end_line] ...\n{tail}"
            )
        return text if text else "(empty file)"

    def edit_file(self, path: str, old_text: str, new_text: str) -> str:
        info = self.workspace.edit(path, old_text, new_text)
        self._record_file(info, "edit")
        return f"Edited {info.path} ({info.size} bytes, sha256 {info.sha256[:12]})."

    def list_files(self, pattern: str = "**/*") -> str:
        paths = self.workspace.list(pattern)
        self.trail.record("list", task_id=self.task_id, role=self.role, path=pattern, detail={"count": len(paths)})
        if len(paths) > MAX_LISTED:
            shown = "\n".join(paths[:MAX_LISTED])
            return f"{shown}\n... and {len(paths) - MAX_LISTED} more: narrow the pattern to see them."
        return "\n".join(paths) if paths else f"No files match {pattern!r}."

    def delete_file(self, path: str) -> str:
        info = self.workspace.delete(path)
        self._tombstone(info.path)
        self.trail.record(
            "delete", task_id=self.task_id, role=self.role, path=info.path, size=info.size, sha256=info.sha256
        )
        return f"Deleted {info.path}."

    def move_file(self, source: str, destination: str) -> str:
        src = self.workspace.normalize(source, for_change=True)
        info = self.workspace.move(source, destination)
        self._tombstone(src)
        self._record_file(info, "move", detail={"source": src})
        return f"Moved {src} to {info.path}."

    def run_command(self, command: str, timeout_seconds: float = 60) -> str:
        timeout = min(timeout_seconds, self.command_timeout)
        result = self.workspace.run_command(
            command, timeout=timeout, output_dir=self.output_dir, hide=self.hide_dir, read_only=self.role == "auditor"
        )
        self.trail.record(
            "run_command",
            ok=result.returncode == 0,
            task_id=self.task_id,
            role=self.role,
            detail={
                "command": command,
                "returncode": result.returncode,
                "timed_out": result.timed_out,
                "output_chars": result.output_chars,
                "full_output_path": result.full_output_path,
                "sandboxed": result.sandboxed,
            },
        )
        status = "timed out" if result.timed_out else f"exit code {result.returncode}"
        return f"$ {command}\n[{status}]\n{result.output}"

    def raise_callback(self, severity: Severity, message: str) -> str:
        callback = Callback(
            id=f"cb:{self.task_id}:{self.role}:a{self.attempt}:{len(self.callbacks) + 1}",
            source=self.role,
            task_id=self.task_id,
            severity=severity,
            message=message,
            kind="review" if severity == "blocker" else "note",
        )
        self.callbacks.append(callback)
        self.trail.record(
            "raise_callback",
            task_id=self.task_id,
            role=self.role,
            detail={"severity": severity, "message": message, "callback_id": callback.id},
        )
        return f"Recorded {severity} callback {callback.id}."

    def _tombstone(self, path: str) -> None:
        self.files[path] = FileRecord(
            path=path, size=0, sha256="", task_id=self.task_id, role=self.role, operation="delete"
        )

    def _record_file(self, info: Any, operation: Literal["write", "edit", "move"], detail: dict | None = None) -> None:
        self.files[info.path] = FileRecord(
            path=info.path,
            size=info.size,
            sha256=info.sha256,
            task_id=self.task_id,
            role=self.role,
            operation=operation,
        )
        self.trail.record(
            operation,
            task_id=self.task_id,
            role=self.role,
            path=info.path,
            size=info.size,
            sha256=info.sha256,
            detail=detail,
        )

    # -- tools for the model ----------------------------------------------------------------------
    def tools(self, names: tuple[str, ...] | None = None) -> list[BaseTool]:
        """LangChain tools over these operations; ``names`` picks a subset (the auditor's are read-only)."""
        specs: list[tuple[str, Callable[..., str], type[BaseModel], str]] = [
            (
                "write_file",
                self.write_file,
                WriteFileArgs,
                "Create or overwrite a text file in the workspace with the complete content given.",
            ),
            (
                "read_file",
                self.read_file,
                ReadFileArgs,
                "Read a text file from the workspace, optionally a line range.",
            ),
            (
                "edit_file",
                self.edit_file,
                EditFileArgs,
                "Replace one exact occurrence of old_text with new_text in a file. Fails if it occurs 0 or 2+ times.",
            ),
            ("list_files", self.list_files, ListFilesArgs, "List workspace files matching a glob pattern."),
            ("delete_file", self.delete_file, PathArgs, "Delete a file from the workspace."),
            (
                "move_file",
                self.move_file,
                MoveFileArgs,
                "Move or rename a file inside the workspace; the destination must not exist yet.",
            ),
            (
                "run_command",
                self.run_command,
                RunCommandArgs,
                "Run a shell command in the workspace folder (for example 'python -m pytest -q') and see its output.",
            ),
            (
                "raise_callback",
                self.raise_callback,
                RaiseCallbackArgs,
                "Report to the manager: 'blocker' for a defect that must be fixed, 'warning' or 'info' otherwise.",
            ),
        ]
        return [
            StructuredTool.from_function(func=func, name=name, description=doc, args_schema=schema)
            for name, func, schema, doc in specs
            if names is None or name in names
        ]

    def execute(self, message: AIMessage, tools: list[BaseTool]) -> list[ToolMessage]:
        """Run every tool call in ``message``; each call id gets exactly one reply, failures included."""
        by_name = {tool.name: tool for tool in tools}
        replies: list[ToolMessage] = []
        for call in message.tool_calls:
            replies.append(self._execute_one(call["name"], call.get("args") or {}, call.get("id") or "", by_name))
        for bad in getattr(message, "invalid_tool_calls", None) or []:
            reason = bad.get("error") or "the arguments are not valid JSON"
            error = ToolInputError(
                f"Your call to {bad.get('name')!r} could not be parsed: {reason}. Arguments received: "
                f"{bad.get('args')!r}. Send the arguments as one valid JSON object."
            )
            replies.append(self._fail(str(bad.get("name")), bad.get("args"), bad.get("id") or "", error))
        return replies

    def _execute_one(self, name: str, args: Any, call_id: str, by_name: dict[str, BaseTool]) -> ToolMessage:
        self.calls_made.append(f"{name}({summarize_arguments(args, 120)})")
        tool = by_name.get(name)
        if tool is None:
            error = ToolInputError(f"There is no tool named {name!r}. Available tools: {', '.join(sorted(by_name))}.")
            return self._fail(name, args, call_id, error)
        if not isinstance(args, dict):
            return self._fail(name, args, call_id, ToolInputError(f"Arguments must be a JSON object, got {args!r}."))
        try:
            content = tool.invoke(args)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the model and into the trail
            return self._fail(name, args, call_id, exc)
        return ToolMessage(content=str(content), tool_call_id=call_id, name=name, status="success")

    def _fail(self, name: str, args: Any, call_id: str, exc: BaseException) -> ToolMessage:
        message = _describe(exc)
        trace = "".join(traceback.format_exception(exc)) if exc.__traceback__ else None
        self.errors.append(
            ToolError(
                tool=name,
                arguments=summarize_arguments(args),
                error_type=type(exc).__name__,
                message=message,
                traceback=trace,
                task_id=self.task_id,
                role=self.role,
                tool_calls_made=list(self.calls_made),
            )
        )
        self.trail.record(
            TOOL_EXECUTION_ERROR,
            ok=False,
            task_id=self.task_id,
            role=self.role,
            error=exc,
            error_message=message,
            detail={
                "tool": name,
                "arguments": _jsonable(args),
                "tool_call_id": call_id,
                "tool_calls_made": list(self.calls_made),
                "traceback": trace,
            },
        )
        return ToolMessage(
            content=f"Error: {message}\nPlease fix your mistakes.", tool_call_id=call_id, name=name, status="error"
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return f"Invalid arguments: {problems}"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc) or type(exc).__name__


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
