"""Node results saved before their end is recorded, so a crash never makes a finished task run again.

LangGraph saves a node's writes just after the node returns. A process killed in between would run the node
again on resume, although its ``task_end`` is already in the audit trail. ``develop`` and ``audit`` therefore save
their result here first (keyed by LangGraph's task id, which is the same when the step is replayed), then record
their end; on resume a saved result is returned as it was, without running the agent again.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.context import RunPaths
from state.serde import state_serializer
from tools.audit import AuditTrail

RESULTS_DIR = ".results"


def _result_path(paths: RunPaths, config: RunnableConfig | None) -> Path | None:
    namespace = str(((config or {}).get("configurable") or {}).get("checkpoint_ns") or "")
    if not namespace:
        return None  # not inside a graph step: nothing to replay
    return paths.run_dir / RESULTS_DIR / (re.sub(r"[^A-Za-z0-9_.-]", "_", namespace) + ".bin")


def save_result(
    paths: RunPaths, config: RunnableConfig | None, result: dict[str, Any], end_event: dict[str, Any]
) -> None:
    """Keep the node's result and its end event, durably (written whole, then renamed into place)."""
    path = _result_path(paths, config)
    if path is None:
        return
    kind, data = state_serializer().dumps_typed({"result": result, "end_event": end_event})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(kind.encode("utf-8") + b"\n" + data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def saved_result(paths: RunPaths, config: RunnableConfig | None) -> dict[str, Any] | None:
    """The saved ``{"result", "end_event"}`` of this very step, or None when it never got that far."""
    path = _result_path(paths, config)
    if path is None or not path.is_file():
        return None
    kind, _, data = path.read_bytes().partition(b"\n")
    return state_serializer().loads_typed((kind.decode("utf-8"), data))


def replay_end(trail: AuditTrail, saved: dict[str, Any], match: dict[str, Any]) -> None:
    """Record the saved end event unless the trail has it already (the crash came after it was written)."""
    event = dict(saved["end_event"])
    already = any(
        e.op == event["op"]
        and e.task_id == event.get("task_id")
        and all(e.detail.get(k) == v for k, v in match.items())
        for e in trail.events(op=event["op"], task_id=event.get("task_id"))
    )
    if not already:
        trail.record(event.pop("op"), **event)


def clear_results(run_dir: Path) -> None:
    """Drop saved results once the run has finished (its checkpoint holds them all)."""
    shutil.rmtree(run_dir / RESULTS_DIR, ignore_errors=True)
