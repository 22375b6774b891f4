"""Live console progress for the CLI: events as lines, the task table, counts, errors, and the final summary.

On a terminal the task table is redrawn in place below the event lines; otherwise everything is plain
lines (what logs and tests read): changed task rows and counts after each step, the full table at the end.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from state.models import Callback, FileRecord, Task, ToolError
from state.reducers import append_errors, merge_callbacks, merge_files, merge_tasks
from tools.audit import AuditEvent

_EVENT_NODES = {
    "plan": "plan",
    "wave": "schedule",
    "task_start": "develop",
    "task_end": "develop",
    "audit_start": "audit",
    "audit_end": "audit",
    "remediation": "remediate",
    "final_verify": "final_verify",
    "verdict": "final_verify",
}


def out(text: str = "") -> None:
    """A line on stdout, flushed: the console modules' print."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    """A line on stderr, flushed."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Console:
    """Writes lines to stdout (flushed), keeping a redrawable block at the bottom on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._block: list[str] = []

    def line(self, text: str = "") -> None:
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self._draw()

    def block(self, lines: list[str]) -> None:
        """The live block (a terminal only); ignored when output is not a terminal."""
        if not self.live:
            return
        with self._lock:
            self._clear()
            self._block = list(lines)
            self._draw()

    def end_block(self) -> None:
        with self._lock:
            self._clear()
            self._block = []
            self.stream.flush()

    def _clear(self) -> None:
        if self.live and self._block:
            self.stream.write(f"\x1b[{len(self._block)}F\x1b[J")

    def _draw(self) -> None:
        if self.live and self._block:
            self.stream.write("\n".join(self._block) + "\n")
        self.stream.flush()


def task_rows(tasks: dict[str, Task]) -> list[str]:
    rows = [f"  {'TASK':<12} {'STATUS':<8} {'REVIEW':<8} {'ATTEMPTS':>8} {'FILES':>5}  TITLE"]
    rows += [_row(t) for t in tasks.values()]
    return rows


def _row(t: Task) -> str:
    return f"  {t.id:<12} {t.status:<8} {t.audit:<8} {t.attempts:>8} {len(t.files_created):>5}  {t.title[:50]}"


class Progress:
    """Follows a graph stream (modes "updates" and "custom") and reports it on a Console."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.tasks: dict[str, Task] = {}
        self.files: dict[str, FileRecord] = {}
        self.callbacks: list[Callback] = []
        self.errors: list[ToolError] = []
        self.node = "plan"  # where every run starts
        self._last_counts = ""

    def seed(self, values: dict[str, Any]) -> None:
        """Start from a checkpoint's state (resume)."""
        self.tasks = merge_tasks({}, values.get("tasks"))
        self.files = merge_files({}, values.get("files_created"))
        self.callbacks = merge_callbacks([], values.get("callbacks"))
        self.errors = append_errors([], values.get("errors"))
        self._last_counts = self.counts()

    def counts(self) -> str:
        blockers = [c for c in self.callbacks if c.severity == "blocker"]
        open_ = sum(c.is_open_blocker for c in blockers)
        return (
            f"node {self.node} | files {len(self.files)} | callbacks {len(self.callbacks)} | "
            f"blockers {len(blockers)} ({open_} open) | errors {len(self.errors)}"
        )

    def handle(self, mode: str, chunk: Any) -> None:
        if mode == "custom" and isinstance(chunk, dict):
            self._event(chunk)
        elif mode == "updates" and isinstance(chunk, dict):
            for node, update in chunk.items():
                if isinstance(update, dict) and not node.startswith("__"):  # skip __metadata__, __interrupt__
                    self._update(node, update)
        self.console.block(task_rows(self.tasks) + ["  " + self.counts()])

    def _event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("event"))
        self.node = _EVENT_NODES.get(kind, self.node)
        task = event.get("task_id")
        text = {
            "plan": lambda: f"plan: {len(event.get('tasks') or [])} task(s): {', '.join(event.get('tasks') or [])}",
            "wave": lambda: f"wave: {', '.join(event.get('tasks') or [])}",
            "task_start": lambda: f"{task} started ({event.get('role')}, attempt {event.get('attempt')})",
            "task_end": lambda: f"{task} ended: {event.get('status')}, {event.get('files')} file(s)",
            "audit_start": lambda: f"{task} review started",
            "audit_end": lambda: f"{task} review: {event.get('verdict')}",
            "blocker": lambda: f"BLOCKER on {task or 'run'} from {event.get('source')}: {event.get('message')}",
            "remediation": lambda: f"remediation task(s): {', '.join(event.get('tasks') or []) or 'none'}",
            "final_verify": lambda: f"final verification (pass {event.get('pass_', event.get('pass', 1))})",
            "verdict": lambda: f"verdict: {event.get('verdict')} ({event.get('reason')})",
        }.get(kind, lambda: f"{kind}: {json.dumps({k: v for k, v in event.items() if k != 'event'}, default=str)}")
        self.console.line(f"[{self.node}] {text()}")

    def _update(self, node: str, update: dict[str, Any]) -> None:
        self.node = node
        changed = merge_tasks({}, update.get("tasks"))
        self.tasks = merge_tasks(self.tasks, changed)
        self.files = merge_files(self.files, update.get("files_created"))
        self.callbacks = merge_callbacks(self.callbacks, update.get("callbacks"))
        new_errors = append_errors([], update.get("errors"))
        self.errors += new_errors
        for error in new_errors:
            where = f"{error.task_id or 'run'} {error.role or ''}".strip()
            call = f"{error.tool}({error.arguments})" if error.arguments else error.tool
            self.console.line(f"  ERROR {where} {call}: {error.error_type}: {error.message}")
            if self.verbose and error.traceback:
                self.console.line("    " + error.traceback.rstrip().replace("\n", "\n    "))
        if self.console.live:
            return
        for task in changed.values():
            self.console.line(
                f"  task {task.id}: {task.status}, review {task.audit}, attempts {task.attempts}, "
                f"files {len(task.files_created)}" + (f", error: {task.error}" if task.error else "")
            )
        counts = self.counts()
        if counts != self._last_counts:
            self.console.line("  " + counts)
            self._last_counts = counts

    def finish(self) -> None:
        self.console.end_block()
        if self.tasks:
            self.console.line("tasks:")
            for row in task_rows(self.tasks):
                self.console.line(row)


class TrailTail:
    """With --verbose: prints every audit-trail event (every tool call) as it is written, from a thread."""

    def __init__(self, path: Path, console: Console, interval: float = 0.1) -> None:
        self.path, self.console, self.interval = path, console, interval
        self._offset = path.stat().st_size if path.exists() else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="buildcrew-trail-tail", daemon=True)

    def __enter__(self) -> TrailTail:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._poll()

    def _poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # only whole lines; the rest is still being written
        self._offset += end
        for raw in data[:end].splitlines():
            try:
                event = AuditEvent.model_validate_json(raw)
            except ValueError:
                continue
            self.console.line("  . " + event_line(event))


def event_line(event: AuditEvent, *, full_time: bool = False, detail: bool = True) -> str:
    """One audit event as a line: time, task, role, op, path, ok or the error (and, optionally, the detail)."""
    when = event.time.isoformat(timespec="milliseconds") if full_time else event.time.strftime("%H:%M:%S.%f")[:-3]
    error = f"{event.error_type or ''}: {event.error or ''}".strip(": ").replace("\n", "\\n")  # whole, one line
    status = "ok" if event.ok else f"FAILED {error}".rstrip()
    text = f"{when} {event.task_id or '-':<10} {event.role or '-':<9} {event.op:<20} {event.path or '-'} {status}"
    extra = {k: v for k, v in event.detail.items() if k not in ("traceback", "tool_calls_made")} if detail else {}
    if extra:
        text += " " + json.dumps(extra, default=str, ensure_ascii=False)
    return text


def summary_lines(doc: dict[str, Any], report_md: Path | None = None) -> list[str]:
    """The end of a run: the verdict, every blocker and whether (and by what) it was resolved, the metrics."""
    lines = ["", f"VERDICT: {doc.get('verdict')} ({doc.get('reason')})"]
    if doc.get("stop_reason"):
        lines.append(f"stopped early: {doc['stop_reason']}")
    blockers = [c for c in doc.get("callbacks") or [] if c.get("severity") == "blocker"]
    resolved = [c for c in blockers if c.get("resolved_by")]
    lines.append(
        f"blockers: {len(blockers)} raised, {len(resolved)} resolved, {len(blockers) - len(resolved)} unresolved"
    )
    for c in blockers:
        state = f"resolved by {c['resolved_by']}" if c.get("resolved_by") else "UNRESOLVED"
        fix = f", remediation {c['remediation_task']}" if c.get("remediation_task") else ""
        lines.append(
            f"  - [{c.get('kind')}] {c.get('task') or 'run'} from {c.get('source')}: "
            f"{_first_line(c.get('message'))} ({state}{fix})"
        )
    lines.append("metrics:")
    for key, value in (doc.get("metrics") or {}).items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else value
        lines.append(f"  {key}: {shown}")
    if report_md is not None:
        lines.append(f"report: {report_md}")
    return lines


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] + (f" (+{len(lines) - 1} more lines in the report)" if len(lines) > 1 else "") if lines else ""
