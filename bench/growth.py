"""Figures 4 and 5: checkpoint bytes per task as the project grows, and the peak memory of the largest run.

Each run is a fresh ``bench.child`` process at zero latency (sizes and memory do not depend on it).
Growth exponent between two sizes n1 < n2 with database sizes B1, B2:

    k = ln(B2 / B1) / ln(n2 / n1)

k = 1 is linear growth (constant bytes per task); k = 2 is quadratic.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from bench.report import Row, Section, median, spread
from bench.team import BenchError

REPO = Path(__file__).resolve().parent.parent
KB, MB = 1024, 1024 * 1024


def child_run(run_dir: Path, tasks: int, concurrency: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", str(tasks), str(concurrency), str(run_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"bench.child {tasks} tasks failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def exponent(n1: int, b1: float, n2: int, b2: float) -> float:
    return math.log(b2 / b1) / math.log(n2 / n1)


def measure(workdir: Path, *, sizes: tuple[int, ...], concurrency: int, repeats: int) -> list[Section]:
    runs: dict[int, list[dict]] = {n: [] for n in sizes}
    for r in range(repeats):
        for n in sizes:
            runs[n].append(child_run(workdir / f"growth-{n}-{r}", n, concurrency))
    db = {n: median([x["db_bytes"] for x in runs[n]]) for n in sizes}
    per_task = {n: db[n] / n for n in sizes}
    pairs = list(zip(sizes, sizes[1:], strict=False))
    slopes = [(a, b, exponent(a, db[a], b, db[b])) for a, b in pairs]
    fig = "4. checkpoints"
    rows = [
        Row(fig, f"checkpoint db per task, {n} tasks", per_task[n] / KB, "KB", "<= 20 KB", per_task[n] <= 20 * KB)
        for n in sizes
    ]
    a, b, k = slopes[-1]
    rows.append(Row(fig, f"growth exponent k, {a} -> {b} tasks", k, "", "<= 1.1 (linear)", k <= 1.1))
    rows += [Row(fig, f"diagnostic: growth exponent k, {x} -> {y} tasks", s, "") for x, y, s in slopes[:-1]]
    largest = sizes[-1]
    last = runs[largest][-1]
    grown = {name: size for name, size in last["last_checkpoint_channels"].items() if size > 64}
    details = [
        f"{len(sizes)} sizes x {repeats} repeat(s), max_concurrency {concurrency}, 0 s latency; "
        "db bytes = checkpoints.sqlite (+ -wal if any) after the connection closed"
    ]
    for n in sizes:
        x = runs[n][-1]
        blobs = x["checkpoint_blob_bytes"] / KB
        details.append(
            f"{n} tasks: db {spread([r['db_bytes'] / KB for r in runs[n]], 0)} KB; {x['checkpoints']} checkpoints "
            f"holding {blobs:.0f} KB (avg {blobs / x['checkpoints']:.1f} KB each), {x['writes']} writes holding "
            f"{x['write_bytes'] / KB:.0f} KB; "
            f"framework time per model call {spread([r['wall_s'] / r['model_calls'] * 1000 for r in runs[n]], 1)} ms"
        )
    details.append(
        f"channels of the last checkpoint at {largest} tasks (bytes): "
        + ", ".join(f"{name} {size}" for name, size in sorted(grown.items(), key=lambda kv: -kv[1]))
    )
    growth = Section("Figure 4: checkpoint growth", rows, details)

    peak = [x["peak_rss_kb"] * KB / MB for x in runs[largest]]
    before = [x["rss_before_run_kb"] * KB / MB for x in runs[largest] if x["rss_before_run_kb"]]
    fig = "5. memory"
    mem_rows = [Row(fig, f"peak RSS of a {largest}-task run", median(peak), "MB", "<= 300 MB", median(peak) <= 300)]
    mem_rows += [
        Row(fig, f"diagnostic: peak RSS of a {n}-task run", median([x["peak_rss_kb"] * KB / MB for x in runs[n]]), "MB")
        for n in sizes[:-1]
    ]
    mem_details = [
        f"peak RSS (VmHWM of the child process) at {largest} tasks (MB): {spread(peak, 1)}",
        f"RSS after imports, before the run (MB): {spread(before, 1) if before else 'n/a'}",
    ]
    return [growth, Section("Figure 5: memory", mem_rows, mem_details)]
