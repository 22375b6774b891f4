"""Drive a run's graph to its end: live progress, approvals asked on the console, the resume checks, the summary.

A fresh run records ``accepted`` in its audit trail before the first node runs. A resumed run records
``resume``, then checks its workspace against the files it recorded before anything continues. Checkpoints are
saved synchronously (``durability="sync"``): once a step's successor starts, the step is on disk.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Any

from langgraph.types import Command

from graph.cli_approval import EXIT_WAITING, ask, parse_answer, waiting_message
from graph.cli_run import print_report
from graph.context import RunContext
from graph.progress import Console, Progress, err, out
from graph.runs import Run, graph_config, run_lock
from state.errors import ConfigError
from tools.audit import AuditTrail


def drive(
    run: Run,
    settings: dict | None,
    context: RunContext,
    graph_input: dict | None,
    args: argparse.Namespace,
    *,
    spec: str | None = None,
    decision: str | None = None,
) -> int:
    """Stream the graph to its end with live progress, then print the summary; resume when no input is given."""
    from graph.builder import build_graph
    from graph.checkpointers import open_checkpointer
    from graph.openai_models import build_models

    models = build_models(settings)
    roles = {"manager": models.manager, "developer": models.developer, "auditor": models.auditor} if models else {}
    progress = Progress(Console(), verbose=args.verbose)
    config = graph_config(run.run_id)
    trail = AuditTrail(run.paths.events, run.run_id)
    with run_lock(run), open_checkpointer(spec, run.path) as saver:
        graph = build_graph(checkpointer=saver, **roles)
        if graph_input is None:
            start = _resume(run, graph, config, progress, trail, decision)
            if isinstance(start, int):
                return start
        else:
            trail.record(
                "accepted",
                role="system",
                detail={
                    "goal": graph_input.get("goal"),
                    "pid": os.getpid(),
                    "checkpointer": run.settings.get("checkpointer"),
                    "approve": list(context.approve),
                },
            )
            start = graph_input
        run.update(status="running", pid=os.getpid(), verdict=None)
        code = _stream_until_done(run, graph, config, context, start, progress, args)
        if code is not None:
            return code
        report = graph.get_state(config).values.get("report")
    return _finish(run, report)


def _resume(run: Run, graph: Any, config: dict, progress: Progress, trail: AuditTrail, decision: str | None) -> Any:
    """What to stream on resume (None, a Command answering an approval, or a fresh input), or an exit code."""
    from graph.resume_check import record_resume_check, recorded_files

    state = graph.get_state(config)
    pending = list(state.interrupts)
    if decision is not None and not pending:
        raise ConfigError(f"--decision: run {run.run_id} is not waiting for an approval")
    # Finished = nothing left to run. `next` alone is not enough: it omits tasks whose writes were saved
    # but not yet applied (a step whose branches all finished as the process was interrupted).
    if state.values and not state.next and not state.tasks:
        out(f"buildcrew: run {run.run_id} had already finished; its report:")
        return print_report(run, as_json=False)
    request = pending[0] if pending else None
    kind = str(((request.value if request else None) or {}).get("kind", "plan"))
    answer = parse_answer(decision, kind, flag="--decision") if request and decision is not None else None
    progress.seed(state.values)
    trail.record(
        "resume",
        role="system",
        detail={
            "checkpoint_id": (state.config.get("configurable") or {}).get("checkpoint_id"),
            "next": list(state.next),
            "pid": os.getpid(),
        },
    )
    mismatches = record_resume_check(state.values, run.paths)
    for mismatch in mismatches:
        out(f"buildcrew: workspace check: {mismatch.describe()}")
    if mismatches:
        out(
            f"buildcrew: workspace check: {len(mismatches)} recorded file(s) not as recorded; final verification "
            "will report them lost and the manager will have them remediated"
        )
    elif files := recorded_files(state.values):
        out(f"buildcrew: workspace check: all {len(files)} recorded file(s) intact")
    if request is not None:
        if answer is None:
            answer = ask(request.value)
        if answer is None:
            return _wait(run, kind)
        return Command(resume={request.id: answer})
    return None if state.values else {"goal": run.settings.get("goal", "")}  # nothing saved: start over


def _stream_until_done(
    run: Run, graph: Any, config: dict, context: RunContext, start: Any, progress: Progress, args: argparse.Namespace
) -> int | None:
    """Stream, asking for each approval the graph waits for; an exit code when the run stops before its end."""
    from graph.progress import TrailTail

    while True:
        tail = TrailTail(run.paths.events, progress.console) if args.verbose else contextlib.nullcontext()
        try:
            with tail:
                for mode, chunk in graph.stream(
                    start, config, context=context, stream_mode=["updates", "custom"], durability="sync"
                ):
                    progress.handle(mode, chunk)
            pending = list(graph.get_state(config).interrupts)
            if not pending:
                progress.finish()
                return None
            progress.console.end_block()
            kind = str((pending[0].value or {}).get("kind", "plan"))
            answer = ask(pending[0].value)
        except KeyboardInterrupt:
            progress.finish()
            run.update(status="interrupted")
            err(f"buildcrew: interrupted; continue with: buildcrew resume {run.path}")
            return 130
        except BaseException as exc:
            run.update(status="crashed", error=f"{type(exc).__name__}: {exc}")
            raise
        if answer is None:
            return _wait(run, kind)
        start = Command(resume={pending[0].id: answer})


def _wait(run: Run, kind: str) -> int:
    run.update(status="waiting")
    err(waiting_message(run.run_id, kind))
    return EXIT_WAITING


def _finish(run: Run, report: Any) -> int:
    from graph.durable import clear_results
    from graph.progress import summary_lines

    doc = run.report()
    if report is None or doc is None:
        run.update(status="crashed", error="the graph ended without a report")
        err("buildcrew: internal error: the run ended without a report")
        return 3
    run.update(status="finished", verdict=report.verdict)
    clear_results(run.path)
    for line in summary_lines(doc, run.paths.report_md):
        out(line)
    return 0 if report.verdict == "PASS" else 1
