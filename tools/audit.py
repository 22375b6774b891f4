"""The on-disk audit trail: one JSON line per operation, successful or not, flushed and fsynced.

The trail is the run's memory of what really happened: it is written as each operation ends, before the
model sees the result, so a crash never leaves an operation unrecorded, and nothing in it is shortened.
"""

from __future__ import annotations

import json
import os
import threading
import traceback as tb
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from state.models import utc_now

TOOL_EXECUTION_ERROR = "TOOL_EXECUTION_ERROR"


class AuditEvent(BaseModel):
    """One operation as it happened."""

    model_config = ConfigDict(extra="allow")

    time: datetime = Field(default_factory=utc_now)
    run_id: str
    task_id: str | None = None
    role: str | None = None
    op: str
    path: str | None = None
    size: int | None = None
    sha256: str | None = None
    ok: bool = True
    error_type: str | None = None
    error: str | None = Field(default=None, description="The full, untruncated error message.")
    detail: dict[str, Any] = Field(default_factory=dict)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


class AuditTrail:
    """Appends events to ``events.jsonl`` and reads them back as typed events."""

    def __init__(self, path: str | os.PathLike, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self._lock = _lock_for(self.path)

    def record(
        self,
        op: str,
        *,
        ok: bool = True,
        task_id: str | None = None,
        role: str | None = None,
        path: str | None = None,
        size: int | None = None,
        sha256: str | None = None,
        error: BaseException | None = None,
        error_message: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event; an exception is kept whole (type, message and traceback)."""
        detail = dict(detail or {})
        if error is not None and error.__traceback__ is not None and "traceback" not in detail:
            detail["traceback"] = "".join(tb.format_exception(error))
        event = AuditEvent(
            run_id=self.run_id,
            task_id=task_id,
            role=role,
            op=op,
            path=path,
            size=size,
            sha256=sha256,
            ok=ok and error is None,
            error_type=type(error).__name__ if error is not None else None,
            error=error_message if error_message is not None else (str(error) if error is not None else None),
            detail=detail,
        )
        self.append(event)
        return event

    def append(self, event: AuditEvent) -> None:
        line = event.model_dump_json() + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def __iter__(self) -> Iterator[AuditEvent]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    return  # a line cut short by a crash mid-append; everything before it is whole
                if line.strip():
                    yield AuditEvent.model_validate_json(line)

    def events(
        self,
        *,
        op: str | None = None,
        task_id: str | None = None,
        path: str | None = None,
        errors: bool = False,
    ) -> list[AuditEvent]:
        """Events matching every filter given."""
        return [
            event
            for event in self
            if (op is None or event.op == op)
            and (task_id is None or event.task_id == task_id)
            and (path is None or event.path == path)
            and (not errors or not event.ok)
        ]


def summarize_arguments(arguments: Any, limit: int = 300) -> str:
    """A short, one-line view of a tool call's arguments for listings; the trail keeps them whole."""
    try:
        text = json.dumps(arguments, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(arguments)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
