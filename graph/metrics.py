"""The run's figures, the original action plan's success metrics among them."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from graph.budget import Price, usage_cost
from graph.chains import chain_attempts
from state.models import Callback, FileRecord, ModelUsage, Task, ToolError


def compute_metrics(
    tasks: dict[str, Task],
    callbacks: list[Callback],
    files: dict[str, FileRecord],
    errors: list[ToolError],
    usage: list[ModelUsage],
    *,
    existing: set[str],
    lost: set[str],
    trail_error_messages: set[str],
    prices: dict[str, Price] | None = None,
) -> dict[str, Any]:
    """Figures computed from the state and what is on disk now; nothing here is estimated."""
    declared = sorted({p for t in tasks.values() for p in t.deliverables})
    created = [p for p in declared if p in existing]
    blockers = [c for c in callbacks if c.severity == "blocker"]
    remediated = [c for c in blockers if c.resolved_by]
    tool_errors = [e for e in errors if e.tool not in ("model", "task", "manager")]
    by_role: dict[str, dict[str, int]] = defaultdict(lambda: {"calls": 0, "input_tokens": 0, "output_tokens": 0})
    for item in usage:
        for key in ("calls", "input_tokens", "output_tokens"):
            by_role[item.role][key] += getattr(item, key)
    roots = sorted({t.root for t in tasks.values()})
    return {
        "deliverables_declared": len(declared),
        "deliverables_created": len(created),
        "deliverables_created_pct": _pct(len(created), len(declared)),
        "callbacks_total": len(callbacks),
        "callbacks_by_severity": {s: sum(c.severity == s for c in callbacks) for s in ("info", "warning", "blocker")},
        "blockers_raised": len(blockers),
        "blockers_remediated": len(remediated),
        "blockers_remediated_pct": _pct(len(remediated), len(blockers)),
        "final_verification_ran": True,
        "tool_errors": len(tool_errors),
        "errors_total": len(errors),
        "errors_truncated": sum(e.message not in trail_error_messages for e in tool_errors),
        "files_created": sum(f.live for f in files.values()),
        "files_lost": len(lost),
        "tasks_total": len(tasks),
        "tasks_by_status": dict(Counter(t.status for t in tasks.values())),
        "attempts_per_task": {root: chain_attempts(tasks, root) for root in roots},
        "model_calls": sum(u.calls for u in usage),
        "input_tokens": sum(u.input_tokens for u in usage),
        "output_tokens": sum(u.output_tokens for u in usage),
        "usage_by_role": dict(by_role),
        "usage_by_task": _by_task(usage),
        "cost_usd": usage_cost(usage, prices),
    }


def _pct(part: int, whole: int) -> float | None:
    """A percentage, or None (n/a) when there is nothing to count: 0 of 0 is not 100%."""
    return round(100.0 * part / whole, 1) if whole else None


def _by_task(usage: list[ModelUsage]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"calls": 0, "input_tokens": 0, "output_tokens": 0})
    for item in usage:
        entry = totals[f"{item.role}:{item.task_id or '-'}"]
        for key in ("calls", "input_tokens", "output_tokens"):
            entry[key] += getattr(item, key)
    return dict(totals)
