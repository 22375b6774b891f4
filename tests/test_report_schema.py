"""The report's JSON shape is pinned: changing it is changing the schema version."""

from __future__ import annotations

import json

from graph.report import REPORT_SCHEMA_VERSION
from graph.scripted import load_scenario

TOP = [
    "version",
    "run_id",
    "verdict",
    "reason",
    "goal",
    "verify_depth",
    "stop_reason",
    "tasks",
    "files",
    "callbacks",
    "errors",
    "checklist",
    "unresolved_blockers",
    "metrics",
]
TASK = [
    "id",
    "role",
    "title",
    "status",
    "audit",
    "attempts",
    "retry_for",
    "depends_on",
    "deliverables",
    "files_created",
    "error",
]
FILE = ["path", "size", "sha256", "task", "role", "exists"]
CALLBACK = ["id", "severity", "kind", "source", "task", "message", "path", "remediation_task", "resolved_by", "time"]
METRICS = [
    "deliverables_declared",
    "deliverables_created",
    "deliverables_created_pct",
    "callbacks_total",
    "callbacks_by_severity",
    "blockers_raised",
    "blockers_remediated",
    "blockers_remediated_pct",
    "final_verification_ran",
    "tool_errors",
    "errors_total",
    "errors_truncated",
    "files_created",
    "files_lost",
    "tasks_total",
    "tasks_by_status",
    "attempts_per_task",
    "model_calls",
    "input_tokens",
    "output_tokens",
    "usage_by_role",
    "usage_by_task",
    "cost_usd",
]


def test_report_json_keys_are_pinned(run_scenario) -> None:
    run = run_scenario(load_scenario(None))
    report = json.loads((run.run_dir / "report.json").read_text())
    assert report["version"] == REPORT_SCHEMA_VERSION == 1
    assert list(report) == TOP
    assert list(report["tasks"][0]) == TASK
    assert list(report["files"][0]) == FILE
    assert list(report["callbacks"][0]) == CALLBACK
    assert list(report["metrics"]) == METRICS
    assert report["metrics"]["usage_by_task"]["developer:T2.r1"]["calls"] == 4
