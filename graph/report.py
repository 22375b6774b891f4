"""report.json and report.md: the run's outcome in a stable, versioned schema, and rendered for people."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from state.models import VerificationReport

REPORT_SCHEMA_VERSION = 1


def build_report(state: dict, report: VerificationReport, *, run_id: str, existing: set[str]) -> dict[str, Any]:
    """The report.json document (schema version 1; see docs/report-schema.md)."""
    tasks = state.get("tasks") or {}
    files = state.get("files_created") or {}
    return {
        "version": REPORT_SCHEMA_VERSION,
        "run_id": run_id,
        "verdict": report.verdict,
        "reason": report.reason,
        "goal": state.get("goal", ""),
        "verify_depth": report.depth,
        "stop_reason": state.get("stop_reason"),
        "tasks": [
            {
                "id": t.id,
                "role": t.role,
                "title": t.title,
                "status": t.status,
                "audit": t.audit,
                "attempts": t.attempts,
                "retry_for": t.retry_for,
                "depends_on": t.depends_on,
                "deliverables": t.deliverables,
                "files_created": t.files_created,
                "error": t.error,
            }
            for t in tasks.values()
        ],
        "files": [
            {
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "task": f.task_id,
                "role": f.role,
                "exists": f.path in existing,
            }
            for f in sorted(files.values(), key=lambda f: f.path)
            if f.live
        ],
        "callbacks": [
            {
                "id": c.id,
                "severity": c.severity,
                "kind": c.kind,
                "source": c.source,
                "task": c.task_id,
                "message": c.message,
                "path": c.path,
                "remediation_task": c.remediation_task,
                "resolved_by": c.resolved_by,
                "time": c.time.isoformat(),
            }
            for c in state.get("callbacks") or []
        ],
        "errors": [e.model_dump(mode="json") for e in state.get("errors") or []],
        "checklist": [item.model_dump(mode="json") for item in report.checklist],
        "unresolved_blockers": [c.id for c in report.unresolved_blockers],
        "metrics": report.metrics,
    }


def render_markdown(doc: dict[str, Any]) -> str:
    """report.md: the same facts, for a person."""
    m = doc["metrics"]
    lines = [
        f"# buildcrew report: {doc['verdict']}",
        "",
        f"- Run: `{doc['run_id']}`",
        f"- Goal: {doc['goal']}",
        f"- Verdict: **{doc['verdict']}** ({doc['reason']})",
        f"- Verification depth: {doc['verify_depth']}",
        "",
        "## Checklist",
        "",
        "| check | status | evidence |",
        "|---|---|---|",
        *[f"| {c['name']} | {c['status']} | {_cell(c['evidence'])} |" for c in doc["checklist"]],
        "",
        "## Blockers",
        "",
    ]
    blockers = [c for c in doc["callbacks"] if c["severity"] == "blocker"]
    if not blockers:
        lines.append("None raised.")
    for c in blockers:
        state = f"resolved by {c['resolved_by']}" if c["resolved_by"] else "**UNRESOLVED**"
        lines.append(f"- [{c['kind']}] {c['task'] or 'run'}: {c['message']} ({state})")
    lines += [
        "",
        "## Tasks",
        "",
        "| task | role | status | review | attempts | retry for | deliverables |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {t['id']} | {t['role']} | {t['status']} | {t['audit']} | {t['attempts']} | {t['retry_for'] or ''} | "
            f"{', '.join(t['deliverables'])} |"
            for t in doc["tasks"]
        ],
        "",
        "## Files",
        "",
        "| path | bytes | sha256 | task | exists |",
        "|---|---|---|---|---|",
        *[
            f"| {f['path']} | {f['size']} | `{f['sha256'][:16]}` | {f['task']} | {'yes' if f['exists'] else 'NO'} |"
            for f in doc["files"]
        ],
        "",
        "## Metrics",
        "",
        f"- Deliverables created / declared: {m['deliverables_created']}/{m['deliverables_declared']} "
        f"({_pct(m['deliverables_created_pct'])})",
        f"- Callbacks collected: {m['callbacks_total']} {m['callbacks_by_severity']}",
        f"- Blockers remediated / raised: {m['blockers_remediated']}/{m['blockers_raised']} "
        f"({_pct(m['blockers_remediated_pct'])})",
        f"- Final verification ran: {'yes' if m['final_verification_ran'] else 'no'}",
        f"- Tool errors recorded with full detail: {m['tool_errors']} (messages truncated: {m['errors_truncated']})",
        f"- Files lost: {m['files_lost']}",
        f"- Attempts per task: {m['attempts_per_task']}",
        f"- Model calls: {m['model_calls']}, tokens in/out: {m['input_tokens']}/{m['output_tokens']}",
        "",
        "## Errors",
        "",
    ]
    if not doc["errors"]:
        lines.append("None.")
    for e in doc["errors"]:
        lines += [
            f"### {e['error_type']} in {e['tool']} ({e['role'] or '-'} / {e['task_id'] or '-'})",
            "",
            "```",
            e["message"],
            "```",
            "",
        ]
        if e.get("traceback"):
            lines += ["<details><summary>traceback</summary>", "", "```", e["traceback"], "```", "</details>", ""]
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value}%"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def write_report(doc: dict[str, Any], json_path: Path, md_path: Path) -> None:
    """Write both files atomically, so a reader never sees half a report."""
    for path, text in (
        (json_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n"),
        (md_path, render_markdown(doc)),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
