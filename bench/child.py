"""``python -m bench.child TASKS CONCURRENCY RUN_DIR``: one run in a fresh process, its measurements as JSON.

A fresh process makes the peak RSS the run's own, and lets the checkpoint database be measured after its
connection closed (SQLite then folds the WAL back into the database file).
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from bench.scenarios import project
from bench.team import run_team
from state.serde import with_state_types


def proc_status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def checkpoint_payload(db: Path, thread_id: str) -> dict:
    """What the database holds: checkpoints and writes, and the size of each channel in the last checkpoint."""
    conn = sqlite3.connect(str(db))
    try:
        count, blobs, metas = conn.execute(
            "SELECT count(*), sum(length(checkpoint)), sum(length(metadata)) FROM checkpoints"
        ).fetchone()
        writes, write_bytes = conn.execute("SELECT count(*), sum(length(value)) FROM writes").fetchone()
        saver = with_state_types(SqliteSaver(conn))
        last = saver.get_tuple({"configurable": {"thread_id": thread_id}})
        channels = {
            name: len(saver.serde.dumps_typed(value)[1])
            for name, value in (last.checkpoint["channel_values"] if last else {}).items()
        }
    finally:
        conn.close()
    return {
        "checkpoints": count,
        "checkpoint_blob_bytes": blobs or 0,
        "metadata_bytes": metas or 0,
        "writes": writes,
        "write_bytes": write_bytes or 0,
        "last_checkpoint_channels": channels,
    }


def main(argv: list[str]) -> None:
    tasks, concurrency, run_dir = int(argv[0]), int(argv[1]), Path(argv[2])
    rss_before_kb = proc_status_kb("VmRSS")
    run = run_team(project(tasks), run_dir, max_concurrency=concurrency)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec, so a child would report its parent's peak.
    peak_kb = proc_status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    files = {p.name: p.stat().st_size for p in sorted(run_dir.glob("checkpoints.sqlite*"))}
    db_bytes = sum(size for name, size in files.items() if not name.endswith("-shm"))
    result = {
        "tasks": tasks,
        "concurrency": concurrency,
        "wall_s": run.wall_s,
        "model_calls": run.model_calls,
        "db_bytes": db_bytes,
        "db_files": files,
        "rss_before_run_kb": rss_before_kb,
        "peak_rss_kb": peak_kb,
        **checkpoint_payload(run_dir / "checkpoints.sqlite", run_dir.name),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
