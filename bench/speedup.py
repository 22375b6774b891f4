"""Figure 1: parallel speed-up, and the parallel makespan against its critical-path bound.

Bound (seconds) for n independent tasks at concurrency c and latency L per model call:

    bound(c) = L * PLAN_CALLS + max(L * n * CHAIN_CALLS / c, L * CHAIN_CALLS)

The plan call comes before any branch can start, so it is serial; after it, the branches' model time
(n developer runs of 2 calls and n reviews of 1 call) can at best be split evenly over c agents, and can never
take less than the longest dependency chain (one task's development then its review).
"""

from __future__ import annotations

from pathlib import Path

from bench.report import Row, Section, median, spread
from bench.scenarios import CHAIN_CALLS, PLAN_CALLS, project
from bench.team import run_team


def bound(n: int, concurrency: int, latency: float) -> float:
    return latency * PLAN_CALLS + max(latency * n * CHAIN_CALLS / concurrency, latency * CHAIN_CALLS)


def measure(workdir: Path, *, tasks: int, latency: float, concurrency: int, repeats: int) -> Section:
    scenario = project(tasks, latency)
    serial, parallel, pooled = [], [], []
    for r in range(repeats):
        # Alternate the order, so a machine getting busier during a repeat does not favour one side.
        order = ("serial", "parallel", "pooled") if r % 2 == 0 else ("pooled", "parallel", "serial")
        for kind in order:
            run_dir = workdir / f"speedup-{kind}-{r}"
            if kind == "serial":
                serial.append(run_team(scenario, run_dir, max_concurrency=1).wall_s)
            elif kind == "parallel":
                parallel.append(run_team(scenario, run_dir, max_concurrency=concurrency).wall_s)
            else:
                pooled.append(run_team(scenario, run_dir, max_concurrency=concurrency, pool=concurrency).wall_s)
    b1, bc = bound(tasks, 1, latency), bound(tasks, concurrency, latency)
    speedups = [s / p for s, p in zip(serial, parallel, strict=True)]
    over_bound = [p / bc for p in parallel]
    pooled_speedups = [s / p for s, p in zip(serial, pooled, strict=True)]
    fig = "1. parallel"
    rows = [
        Row(
            fig, f"speed-up, max_concurrency 1 -> {concurrency}", median(speedups), "x", ">= 6x", median(speedups) >= 6
        ),
        Row(
            fig,
            f"makespan / bound at max_concurrency {concurrency}",
            median(over_bound),
            "x",
            "<= 1.2x",
            median(over_bound) <= 1.2,
        ),
        Row(fig, f"diagnostic: speed-up with LangGraph's pool set to {concurrency}", median(pooled_speedups), "x"),
        Row(fig, "diagnostic: makespan / bound with that pool", median([p / bc for p in pooled]), "x"),
    ]
    details = [
        f"{tasks} independent tasks, {latency} s per model call, {repeats} repeat(s); model calls per run "
        f"{PLAN_CALLS + tasks * CHAIN_CALLS}",
        f"makespan at max_concurrency 1 (s): {spread(serial)}; bound {b1:.2f} s, so "
        f"{median(serial) / b1:.3f}x the bound",
        f"makespan at max_concurrency {concurrency} (s): {spread(parallel)}; bound {bc:.2f} s",
        f"makespan at max_concurrency {concurrency} with config max_concurrency={concurrency} (s): {spread(pooled)}",
        f"speed-up per repeat: {', '.join(f'{s:.2f}' for s in speedups)}",
    ]
    return Section("Figure 1: parallel speed-up", rows, details)
