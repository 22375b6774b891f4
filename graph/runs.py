"""Run folders: create one, find one by id or path, list them, keep their settings file and checkpoints.

A run folder holds ``run.json`` (the settings ``resume`` rebuilds the run from; never an API key or a password),
the workspace, the audit trail, the SQLite checkpoints (unless they live in PostgreSQL), full command outputs
and the reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.context import RunContext, RunPaths
from state.errors import ConfigError

SETTINGS_FILE = "run.json"
SETTINGS_VERSION = 1
DEFAULT_RUNS_DIR = "runs"
RECURSION_LIMIT = 10_000
"""LangGraph's step limit for CLI runs; the graph's own step reserve ends a run well before it."""
_NOT_STORED = ("run_dir", "run_id", "models")  # where the run lives, and live model objects


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id: ``YYYYMMDD-HHMMSS-xxxxxx`` (UTC time, six random hex digits)."""
    return f"{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def context_settings(context: RunContext) -> dict[str, Any]:
    """The RunContext fields worth keeping: plain values, without the folder or live models."""
    return {f.name: getattr(context, f.name) for f in dataclasses.fields(context) if f.name not in _NOT_STORED}


def context_from_settings(stored: dict[str, Any], run_dir: Path, run_id: str, **overrides: Any) -> RunContext:
    """Rebuild the RunContext from run.json, ignoring fields this version no longer has."""
    known = {f.name for f in dataclasses.fields(RunContext)} - set(_NOT_STORED)
    values = {k: v for k, v in stored.items() if k in known}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RunContext(**values, run_dir=str(run_dir), run_id=run_id)


@dataclasses.dataclass
class Run:
    """One run folder and its settings."""

    path: Path
    settings: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.settings.get("run_id") or self.path.name)

    @property
    def paths(self) -> RunPaths:
        return RunPaths(run_dir=self.path, run_id=self.run_id)

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_FILE

    def report(self) -> dict[str, Any] | None:
        """report.json, or None when the run has not written one yet."""
        try:
            return json.loads(self.paths.report_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def update(self, **changes: Any) -> None:
        """Change fields of run.json (atomically: a reader never sees half a file)."""
        self.settings.update(changes)
        write_json(self.settings_path, self.settings)

    def status(self) -> str:
        """The stored status; a run marked running whose process is gone shows as interrupted."""
        status = str(self.settings.get("status") or "unknown")
        if status == "running" and not _alive(self.settings.get("pid")):
            return "interrupted"
        return status

    def verdict(self) -> str | None:
        report = self.report()
        return (report or {}).get("verdict") or self.settings.get("verdict")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=_plain) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def create_run(
    runs_dir: str | os.PathLike[str],
    *,
    goal: str,
    context: RunContext,
    models: dict[str, Any] | None,
    scenario: str | None,
    checkpointer: str | None = None,
) -> Run:
    """Make the folder and write run.json before anything runs, so even an early crash leaves a resumable run."""
    root = Path(runs_dir).resolve()
    for _ in range(5):
        run_id = new_run_id()
        path = root / run_id
        try:
            path.mkdir(parents=True)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - six random hex digits collided five times
        raise ConfigError(f"--runs-dir {str(root)!r}: could not create a new run folder")
    paths = RunPaths(run_dir=path, run_id=run_id)
    paths.workspace.mkdir()
    paths.outputs.mkdir()
    settings = {
        "version": SETTINGS_VERSION,
        "run_id": run_id,
        "goal": goal,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
        "verdict": None,
        "pid": os.getpid(),
        "models": models,
        "offline": models is None,
        "scenario": scenario,
        "checkpointer": checkpointer,
        "context": context_settings(context),
    }
    run = Run(path=path, settings=settings)
    write_json(run.settings_path, settings)
    return run


def load_run(path: Path) -> Run:
    try:
        settings = json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        settings = {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"run {str(path)!r} has an unreadable {SETTINGS_FILE}: {exc}") from exc
    return Run(path=path, settings=settings)


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in (SETTINGS_FILE, "events.jsonl", "report.json"))


def find_run(ref: str, runs_dir: str | os.PathLike[str]) -> Run:
    """A run by folder path, by id under ``runs_dir``, or by a unique prefix of an id."""
    root = Path(runs_dir)
    for candidate in (Path(ref), root / ref):
        if _is_run_folder(candidate):
            return load_run(candidate.resolve())
    matches = [p for p in _run_folders(root) if p.name.startswith(ref)] if ref else []
    if len(matches) == 1:
        return load_run(matches[0].resolve())
    if len(matches) > 1:
        raise ConfigError(f"run {ref!r} is ambiguous under {str(root)!r}: {', '.join(p.name for p in matches[:5])}")
    raise ConfigError(
        f"no run {ref!r}: not a run folder, and no run with that id under {str(root)!r} (`buildcrew runs` lists them)"
    )


def _run_folders(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if _is_run_folder(p))
    except OSError:
        return []


def list_runs(runs_dir: str | os.PathLike[str]) -> list[Run]:
    """Every run folder under ``runs_dir``, oldest first (ids sort by time)."""
    return [load_run(p) for p in _run_folders(Path(runs_dir))]


@contextlib.contextmanager
def run_lock(run: Run) -> Iterator[None]:
    """Only one process may drive a run at a time; the lock dies with its process, even on SIGKILL."""
    fd = os.open(run.path / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"run {run.run_id} is in use by another buildcrew process") from None
        yield
    finally:
        os.close(fd)


def graph_config(run_id: str) -> dict[str, Any]:
    """The LangGraph config of a run: its id is the thread id."""
    return {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}


def _plain(value: Any) -> Any:
    """Settings values json cannot write by itself: pydantic models (a price table) and paths."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
