"""The resume check: recorded files removed or changed while the run was down are reported, not trusted."""

from __future__ import annotations

import hashlib
from pathlib import Path

from graph.context import RunPaths
from graph.resume_check import check_workspace, record_resume_check
from state.models import FileRecord
from tools.audit import AuditTrail


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record(path: str, text: str, operation: str = "write") -> FileRecord:
    return FileRecord(path=path, size=len(text), sha256=_sha(text), task_id="T1", role="developer", operation=operation)  # type: ignore[arg-type]


def test_removed_and_changed_files_are_mismatches_but_the_runs_own_changes_are_not(tmp_path: Path) -> None:
    paths = RunPaths(run_dir=tmp_path, run_id="r")
    paths.workspace.mkdir()
    trail = AuditTrail(paths.events, "r")
    for name, text in {"same.txt": "same", "edited.txt": "new", "redone.txt": "v2"}.items():
        (paths.workspace / name).write_text(text)
    for name in ("same.txt", "gone.txt", "edited.txt", "redone.txt", "deleted.txt"):
        trail.record("write", task_id="T1", path=name, sha256=_sha("v1"))
    trail.record("write", task_id="T2", path="redone.txt", sha256=_sha("v2"))  # the step cut off by the crash
    trail.record("delete", task_id="T2", path="deleted.txt", sha256=_sha("v1"))
    values = {
        "files_created": {
            "same.txt": _record("same.txt", "same"),
            "gone.txt": _record("gone.txt", "v1"),
            "edited.txt": _record("edited.txt", "old"),
            "redone.txt": _record("redone.txt", "v1"),
            "deleted.txt": _record("deleted.txt", "v1"),
            "tomb.txt": _record("tomb.txt", "x", "delete"),
        }
    }
    found = {m.path: (m.expected, m.found) for m in check_workspace(values, paths)}
    assert found == {"gone.txt": (_sha("v1"), None), "edited.txt": (_sha("old"), _sha("new"))}

    mismatches = record_resume_check(values, paths)
    assert [m.describe() for m in mismatches] == [
        f"edited.txt was changed (found sha256 {_sha('new')[:12]}) while the run was down "
        f"(recorded sha256 {_sha('old')[:12]} by task T1)",
        f"gone.txt was removed while the run was down (recorded sha256 {_sha('v1')[:12]} by task T1)",
    ]
    events = trail.events(op="resume_integrity")
    assert [(e.ok, e.path, e.detail) for e in events] == [
        (False, "edited.txt", {"path": "edited.txt", "expected": _sha("old"), "found": _sha("new")}),
        (False, "gone.txt", {"path": "gone.txt", "expected": _sha("v1"), "found": None}),
    ]
    [summary] = trail.events(op="resume_check")
    assert not summary.ok and summary.detail == {"files_checked": 5, "mismatches": 2}
