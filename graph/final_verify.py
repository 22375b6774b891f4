"""final_verify: always runs; proves on disk what was delivered and ends in a PASS/FAIL report.

Deterministic checks come first (files intact by sha256, deliverables present, task outcomes, blockers),
then the verification command, then at depth ``full`` the auditor model's structured review.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError

from graph.agent_loop import run_agent
from graph.chains import chain, chain_state
from graph.context import RunContext
from graph.env import NodeEnv, announce_blockers, emit, node_env
from graph.metrics import compute_metrics
from graph.models import RoleModels, unwrap
from graph.prompts import FINAL_REVIEW
from graph.report import build_report, write_report
from graph.scripted import ScriptedChatModel
from state.errors import BuildcrewError, ToolInputError
from state.models import Callback, ChecklistItem, FileRecord, ModelUsage, ToolError, VerificationReport
from state.team_state import TeamState
from tools.agent_tools import READ_ONLY_TOOLS
from tools.audit import TOOL_EXECUTION_ERROR


class Finding(BaseModel):
    task_id: str | None = Field(default=None, description="The task whose work is defective, if one is.")
    message: str = Field(description="The defect, naming the file.")


class submit_review(BaseModel):  # noqa: N801 - the tool name the model sees
    """Submit the final review of the delivered work."""

    verdict: str = Field(description="PASS or FAIL.")
    summary: str = Field(description="One paragraph on what was delivered.")
    findings: list[Finding] = Field(default_factory=list, description="Every defect that must be fixed.")


def final_verify(
    state: TeamState, runtime: Runtime[RunContext], config: RunnableConfig, *, default_models: RoleModels | None = None
) -> dict:
    env = node_env(runtime, config, default_models)
    passes = state.get("final_passes", 0) + 1
    tasks = state.get("tasks") or {}
    env.trail.record("final_verify_start", role="verifier", detail={"pass": passes})
    emit("final_verify", pass_=passes)
    new, checklist, usage, errors = [], [], [], []
    intact, lost = _check_files(env, state.get("files_created") or {}, passes, new, checklist)
    existing = intact | {p for t in tasks.values() for p in t.deliverables if _exists(env, p)}
    _check_deliverables(state, existing, passes, new, checklist)
    _check_tasks(state, env.context, checklist)
    if env.context.verify_depth in ("commands", "full"):
        _check_command(env, _verify_command(env), passes, new, checklist)
    elif _verify_command(env):
        checklist.append(
            ChecklistItem(
                name="verification command",
                status="SKIP",
                evidence=f"`{_verify_command(env)}` not run at depth integrity",
            )
        )
    if env.context.verify_depth == "full":
        usage, errors = _model_review(env, state, passes, new, checklist)
    callbacks = list(state.get("callbacks") or []) + new
    open_blockers = [cb for cb in callbacks if cb.is_open_blocker]
    raised = sum(cb.severity == "blocker" for cb in callbacks)
    checklist.append(
        ChecklistItem(
            name="blockers resolved",
            status="FAIL" if open_blockers else ("PASS" if raised else "SKIP"),
            evidence="; ".join(f"{cb.task_id or 'run'}: {cb.message}" for cb in open_blockers)
            or (f"{raised} raised, all resolved" if raised else "none raised"),
        )
    )
    if state.get("stop_reason"):
        checklist.append(ChecklistItem(name="run completed", status="FAIL", evidence=str(state["stop_reason"])))
    failed = [item.name for item in checklist if item.status == "FAIL"]
    all_errors = list(state.get("errors") or []) + errors
    metrics = compute_metrics(
        tasks,
        callbacks,
        state.get("files_created") or {},
        all_errors,
        list(state.get("usage") or []) + usage,
        existing=existing,
        lost=lost,
        trail_error_messages={e.error for e in env.trail.events(op=TOOL_EXECUTION_ERROR) if e.error},
        prices=env.context.price_table(),
    )
    report = VerificationReport(
        verdict="FAIL" if failed else "PASS",
        depth=env.context.verify_depth,
        checklist=checklist,
        reason=_reason(state.get("stop_reason"), failed),
        unresolved_blockers=open_blockers,
        resolved_blockers=[cb for cb in callbacks if cb.resolved_by],
        metrics=metrics,
    )
    snapshot = {**state, "callbacks": callbacks, "errors": all_errors}
    write_report(
        build_report(snapshot, report, run_id=env.paths.run_id, existing=existing),
        env.paths.report_json,
        env.paths.report_md,
    )
    env.trail.record(
        "final_verify_end",
        ok=report.verdict == "PASS",
        role="verifier",
        detail={"verdict": report.verdict, "reason": report.reason, "pass": passes},
    )
    announce_blockers(new)
    emit("verdict", verdict=report.verdict, reason=report.reason)
    return {"callbacks": new, "report": report, "final_passes": passes, "usage": usage, "errors": errors}


def _exists(env: NodeEnv, path: str) -> bool:
    try:
        return env.workspace.stat(path) is not None
    except (BuildcrewError, OSError):
        return False


def _check_files(
    env: NodeEnv, files: dict[str, FileRecord], passes: int, new: list[Callback], checklist: list[ChecklistItem]
) -> tuple[set[str], set[str]]:
    """Every recorded file must still be on disk with its recorded sha256."""
    intact, lost = set(), set()
    files = {path: record for path, record in files.items() if record.live}
    for record in files.values():
        try:
            info = env.workspace.stat(record.path)
        except (BuildcrewError, OSError):
            info = None
        if info is not None and info.sha256 == record.sha256:
            intact.add(record.path)
            continue
        lost.add(record.path)
        how = (
            "was lost"
            if info is None
            else (f"was changed after it was verified (recorded sha256 {record.sha256[:12]}, found {info.sha256[:12]})")
        )
        env.trail.record(
            "integrity_check",
            ok=False,
            role="verifier",
            task_id=record.task_id,
            path=record.path,
            detail={"reason": how},
        )
        new.append(
            Callback(
                id=f"cb:final{passes}:lost:{record.path}",
                source="verifier",
                task_id=record.task_id,
                severity="blocker",
                kind="lost_file",
                path=record.path,
                message=f"File {record.path} created by task {record.task_id} {how}",
            )
        )
    checklist.append(
        ChecklistItem(
            name="files intact",
            status="FAIL" if lost else ("PASS" if files else "SKIP"),
            evidence=f"{len(intact)}/{len(files)} recorded files match their sha256"
            + (f"; lost or changed: {', '.join(sorted(lost))}" if lost else ""),
        )
    )
    return intact, lost


def _check_deliverables(
    state: TeamState, existing: set[str], passes: int, new: list[Callback], checklist: list[ChecklistItem]
) -> None:
    """Every declared deliverable must exist; a missing one not yet reported becomes a fixable blocker."""
    tasks, files = state.get("tasks") or {}, state.get("files_created") or {}
    owners = {p: t for t in tasks.values() for p in t.deliverables}  # the latest task that declared each path
    missing = sorted(p for p in owners if p not in existing)
    reported = {cb.path for cb in [*(state.get("callbacks") or []), *new] if cb.is_open_blocker and cb.path}
    for path in missing:
        if path in reported or owners[path].status != "done":  # a task that never delivered is reported already
            continue
        owner, record = owners[path], files.get(path)
        message = (
            f"File {path} created by task {owner.id} was lost (deleted by task {record.task_id})"
            if record is not None and not record.live
            else f"Deliverable {path} of task {owner.id} is missing at final verification"
        )
        new.append(
            Callback(
                id=f"cb:final{passes}:missing:{path}",
                source="verifier",
                task_id=owner.id,
                severity="blocker",
                kind="lost_file" if record is not None else "missing_file",
                path=path,
                message=message,
            )
        )
    checklist.append(
        ChecklistItem(
            name="deliverables present",
            status="FAIL" if missing else ("PASS" if owners else "SKIP"),
            evidence=f"{len(owners) - len(missing)}/{len(owners)} declared deliverables exist"
            + (f"; missing: {', '.join(missing)}" if missing else ""),
        )
    )


def _check_tasks(state: TeamState, context: RunContext, checklist: list[ChecklistItem]) -> None:
    tasks, callbacks = state.get("tasks") or {}, list(state.get("callbacks") or [])
    if state.get("plan_status") != "ok":
        checklist.append(ChecklistItem(name="plan", status="FAIL", evidence="the manager produced no valid plan"))
    roots = sorted({t.root for t in tasks.values()})
    outcomes = {root: chain_state(tasks, callbacks, root, context) for root in roots}
    bad = {root: outcome for root, outcome in outcomes.items() if outcome != "done"}
    latest = {root: chain(tasks, root)[-1] for root in bad}
    checklist.append(
        ChecklistItem(
            name="tasks completed",
            status="FAIL" if bad or not roots else "PASS",
            evidence=f"{len(roots) - len(bad)}/{len(roots)} tasks delivered"
            + (
                "; "
                + ", ".join(
                    f"{r}: {o}, latest {latest[r].id} {latest[r].status}"
                    + (f" ({latest[r].error})" if latest[r].error else "")
                    for r, o in bad.items()
                )
                if bad
                else ""
            ),
        )
    )


def _verify_command(env: NodeEnv) -> str | None:
    if env.context.verify_command is not None:
        return env.context.verify_command or None
    model = unwrap(env.models.developer)
    return model.scenario.verify_command if isinstance(model, ScriptedChatModel) else None


def _check_command(
    env: NodeEnv, command: str | None, passes: int, new: list[Callback], checklist: list[ChecklistItem]
) -> None:
    if not command:
        checklist.append(ChecklistItem(name="verification command", status="SKIP", evidence="none configured"))
        return
    result = env.workspace.run_command(
        command, timeout=env.context.command_timeout, output_dir=env.paths.outputs, hide=env.paths.run_dir
    )
    ok = result.returncode == 0
    env.trail.record(
        "verify_command",
        ok=ok,
        role="verifier",
        detail={
            "command": command,
            "returncode": result.returncode,
            "timed_out": result.timed_out,
            "full_output_path": result.full_output_path,
        },
    )
    tail = result.output.strip().splitlines()[-1:] or [""]
    checklist.append(
        ChecklistItem(
            name="verification command",
            status="PASS" if ok else "FAIL",
            evidence=f"`{command}` exit {result.returncode}: {tail[0]}",
        )
    )
    if not ok:
        new.append(
            Callback(
                id=f"cb:final{passes}:command",
                source="verifier",
                severity="blocker",
                kind="verification_failed",
                message=f"Verification command `{command}` failed (exit {result.returncode}, "
                f"timed out: {result.timed_out}):\n{result.output}",
            )
        )


def _model_review(
    env: NodeEnv, state: TeamState, passes: int, new: list[Callback], checklist: list[ChecklistItem]
) -> tuple[list[ModelUsage], list[ToolError]]:
    """The auditor model reviews the delivered workspace with the read-only tools, then submits a verdict."""
    if reason := env.meter.exhausted():
        checklist.append(ChecklistItem(name="model review", status="SKIP", evidence=reason))
        return [], []
    toolbox = env.toolbox("final", "auditor", passes)
    files = "\n".join(sorted(p for p, r in (state.get("files_created") or {}).items() if r.live))
    prompt = f"Goal: {state['goal']}\nFiles delivered:\n{files}\nChecks so far:\n" + "\n".join(
        f"- {c.name}: {c.status} ({c.evidence})" for c in checklist
    )
    outcome = run_agent(
        env.models.auditor,
        toolbox,
        toolbox.tools(READ_ONLY_TOOLS),
        system=FINAL_REVIEW,
        prompt=prompt,
        max_turns=env.context.max_tool_turns,
        key="final",
        loop_guard_repeats=env.context.loop_guard_repeats,
        meter=env.meter,
        submit=submit_review,
    )
    usage = [outcome.usage] if outcome.usage else []
    errors = toolbox.errors + ([outcome.error] if outcome.error else [])
    try:
        if outcome.submitted is None:
            raise ToolInputError(
                f"the review ended ({outcome.ending}) without a submit_review call: "
                f"{outcome.detail or outcome.final_text!r}"
            )
        review = submit_review.model_validate(outcome.submitted)
    except (ToolInputError, ValidationError) as exc:
        checklist.append(ChecklistItem(name="model review", status="FAIL", evidence=f"{type(exc).__name__}: {exc}"))
        return usage, errors
    passed = review.verdict.strip().upper() == "PASS" and not review.findings
    checklist.append(ChecklistItem(name="model review", status="PASS" if passed else "FAIL", evidence=review.summary))
    new += [cb for cb in toolbox.callbacks if cb.severity == "blocker"]
    for i, finding in enumerate(review.findings, 1):
        task_id = finding.task_id if finding.task_id in (state.get("tasks") or {}) else None
        new.append(
            Callback(
                id=f"cb:final{passes}:review:{i}",
                source="auditor",
                task_id=task_id,
                severity="blocker",
                kind="review",
                message=finding.message,
            )
        )
    return usage, errors


def _reason(stop_reason: str | None, failed: list[str]) -> str:
    if not failed:
        return "every check passed"
    return "; ".join(filter(None, [stop_reason, "failed: " + ", ".join(failed)]))
