"""Before a run continues, its workspace is checked against the files it recorded: nothing is trusted blindly.

A file the run recorded (``files_created``: path -> sha256) that is gone or different when the run resumes was
changed while the run was down, unless the run's own last operation on that path (in the audit trail) left it
that way: the step that was interrupted had already rewritten, moved or deleted it, and will do so again.
Each mismatch is recorded as a ``resume_integrity`` event (ok=False, with the path, expected and found sha256);
final verification then reports the file as lost and the manager remediates it like any lost file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.context import RunPaths
from state.errors import ToolInputError
from state.models import FileRecord
from tools.audit import AuditTrail
from tools.workspace import Workspace

_REMOVED = "removed"


@dataclass(frozen=True)
class Mismatch:
    """A recorded file that is not on disk as recorded."""

    path: str
    task_id: str
    expected: str
    found: str | None  # the sha256 found, or None when the file is gone

    def describe(self) -> str:
        how = "was removed" if self.found is None else f"was changed (found sha256 {self.found[:12]})"
        return f"{self.path} {how} while the run was down (recorded sha256 {self.expected[:12]} by task {self.task_id})"


def _last_operations(trail: AuditTrail) -> dict[str, str]:
    """path -> the sha256 the run's own last write left there, or "removed" for a delete or a move away."""
    last: dict[str, str] = {}
    for event in trail:
        if not event.ok or not event.path:
            continue
        if event.op in ("write", "edit", "move") and event.sha256:
            if event.op == "move" and event.detail.get("source"):
                last[str(event.detail["source"])] = _REMOVED
            last[event.path] = event.sha256
        elif event.op == "delete":
            last[event.path] = _REMOVED
    return last


def recorded_files(values: dict[str, Any]) -> dict[str, FileRecord]:
    """The files the run recorded as on disk (a deletion's tombstone needs no file)."""
    return {path: record for path, record in (values.get("files_created") or {}).items() if record.live}


def check_workspace(values: dict[str, Any], paths: RunPaths) -> list[Mismatch]:
    """Every recorded file that is gone or changed, and not by the run itself."""
    files = recorded_files(values)
    if not files:
        return []
    workspace = Workspace(paths.workspace)
    last = _last_operations(AuditTrail(paths.events, paths.run_id))
    mismatches = []
    for path, record in sorted(files.items()):
        try:
            info = workspace.stat(path)
        except ToolInputError:
            info = None
        found = info.sha256 if info is not None else None
        if found == record.sha256 or last.get(path) == (found or _REMOVED):
            continue
        mismatches.append(Mismatch(path=path, task_id=record.task_id, expected=record.sha256, found=found))
    return mismatches


def record_resume_check(values: dict[str, Any], paths: RunPaths) -> list[Mismatch]:
    """Check the workspace and write the outcome to the trail: a ``resume_integrity`` event per mismatch, then a
    ``resume_check`` summary."""
    trail = AuditTrail(paths.events, paths.run_id)
    mismatches = check_workspace(values, paths)
    for m in mismatches:
        trail.record(
            "resume_integrity",
            ok=False,
            task_id=m.task_id,
            role="system",
            path=m.path,
            sha256=m.found,
            error_message=m.describe(),
            detail={"path": m.path, "expected": m.expected, "found": m.found},
        )
    trail.record(
        "resume_check",
        ok=not mismatches,
        role="system",
        detail={"files_checked": len(recorded_files(values)), "mismatches": len(mismatches)},
    )
    return mismatches
