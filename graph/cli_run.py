"""`buildcrew run` and `buildcrew resume`: settings from the flags, the run folder, and the graph driven to its end.

Numbers are validated by RunContext itself; its errors are restated here with the flag's name and the value given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from graph.context import RunContext
from graph.progress import err, out
from graph.runs import Run, context_from_settings, create_run, find_run, run_lock
from state.errors import ConfigError

LIMIT_FLAGS = {  # flag -> (RunContext field, help)
    "--max-concurrency": ("max_concurrency", "agents that may run at once (default 4)"),
    "--max-attempts": ("max_attempts", "attempts per task in all, remediations included (default 3)"),
    "--max-rounds": ("max_rounds", "times the manager may turn blockers into remediation tasks (default 5)"),
    "--max-tool-turns": ("max_tool_turns", "model turns one agent may take before its task fails (default 30)"),
}
FIELD_FLAGS = {field: flag for flag, (field, _) in LIMIT_FLAGS.items()} | {
    "verify_depth": "--verify-depth",
    "verify_command": "--verify-command",
    "scenario": "--scenario",
}
DEMO_NOTICE = "no model configured: running the bundled demo scenario on the offline scripted model"


# -- settings from flags -----------------------------------------------------------------------------
def _number(raw: str) -> int | str:
    """An int when the text is one; otherwise the text itself, for RunContext to reject by name."""
    try:
        return int(raw.strip())
    except ValueError:
        return raw


def context_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """RunContext fields the flags set (None = not given)."""
    values: dict[str, Any] = {
        field: None if getattr(args, field) is None else _number(getattr(args, field))
        for field, _ in LIMIT_FLAGS.values()
    }
    values["verify_depth"] = args.verify_depth
    values["verify_command"] = args.verify_command
    values["scenario"] = str(Path(args.scenario).resolve()) if args.scenario else None
    return values


def checked(build: Any, args: argparse.Namespace) -> RunContext:
    """Call ``build`` (which makes a RunContext); its ConfigError is restated with the flag's name and raw value."""
    try:
        return build()
    except ConfigError as exc:
        message = str(exc)
        for field in FIELD_FLAGS:
            if message.startswith(field + " "):
                raw = getattr(args, field, None)
                message = FIELD_FLAGS[field] + message[len(field) :]
                if isinstance(raw, str):
                    message = re.sub(r"got .*$", f"got {raw!r}", message)
        raise ConfigError(message) from exc


def load_scenario_flag(path: str | None) -> Any:
    from graph.scripted import load_scenario

    try:
        return load_scenario(path)
    except ConfigError as exc:
        raise ConfigError(f"--scenario: {exc}") from exc


# -- run and resume ----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from graph.openai_models import model_settings

    settings = model_settings(args)
    overrides = context_overrides(args)
    context = checked(lambda: RunContext(**{k: v for k, v in overrides.items() if v is not None}), args)
    goal = (args.goal or "").strip()
    if settings is None:
        scenario = load_scenario_flag(args.scenario)
        goal = goal or scenario.goal
    elif not goal:
        raise ConfigError("GOAL is required when a model is configured (only the scripted model has its own goal)")
    run = create_run(args.runs_dir, goal=goal, context=context, models=settings, scenario=overrides["scenario"])
    out(f"buildcrew: run folder {run.path}")
    out(f"buildcrew: {_model_notice(settings, args.scenario)}")
    out(f"buildcrew: goal: {goal}")
    context = dataclasses.replace(context, run_dir=str(run.path), run_id=run.run_id)
    return drive(run, settings, context, {"goal": goal}, args)


def cmd_resume(args: argparse.Namespace) -> int:
    run = find_run(args.run, args.runs_dir)
    if not run.settings:
        raise ConfigError(f"run {args.run!r} has no run.json, so it cannot be resumed")
    stored = run.settings
    settings = _resume_models(stored.get("models"), args)
    overrides = context_overrides(args)
    context = checked(
        lambda: context_from_settings(stored.get("context") or {}, run.path, run.run_id, **overrides), args
    )
    out(f"buildcrew: resuming run folder {run.path}")
    out(f"buildcrew: {_model_notice(settings, context.scenario if settings is None else None)}")
    return drive(run, settings, context, None, args)


def _resume_models(stored: dict | None, args: argparse.Namespace) -> dict | None:
    """The run's stored models, with the model flags given to resume laid over them."""
    from graph.openai_models import MODEL_FLAGS, ROLES, model_settings

    given = {name: getattr(args, name) for name in MODEL_FLAGS if getattr(args, name) is not None}
    if not given:
        return None if args.scenario else stored
    base: dict[str, Any] = {"base_url": (stored or {}).get("base_url")}
    if stored and "model" not in given:  # --model replaces every stored role name; a role flag replaces one
        base |= {f"{role}_model": stored.get(role) for role in ROLES}
    return model_settings(
        argparse.Namespace(**{name: None for name in MODEL_FLAGS} | base | given, scenario=args.scenario)
    )


def _model_notice(settings: dict | None, scenario: str | None) -> str:
    if settings is None:
        return f"running scenario {scenario} on the offline scripted model" if scenario else DEMO_NOTICE
    base = f" at {settings['base_url']}" if settings.get("base_url") else ""
    return (
        f"models{base}: manager {settings['manager']}, developer {settings['developer']}, auditor {settings['auditor']}"
    )


def drive(
    run: Run, settings: dict | None, context: RunContext, graph_input: dict | None, args: argparse.Namespace
) -> int:
    """Stream the graph to its end with live progress, then print the summary; resume when no input is given."""
    from graph.builder import build_graph
    from graph.openai_models import build_models
    from graph.progress import Console, Progress, TrailTail, summary_lines
    from graph.runs import graph_config, open_checkpointer
    from tools.audit import AuditTrail

    models = build_models(settings)
    roles = {"manager": models.manager, "developer": models.developer, "auditor": models.auditor} if models else {}
    console = Console()
    progress = Progress(console, verbose=args.verbose)
    config = graph_config(run.run_id)
    with run_lock(run), open_checkpointer(run.paths.checkpoints) as saver:
        graph = build_graph(checkpointer=saver, **roles)
        if graph_input is None:
            state = graph.get_state(config)
            # Finished = nothing left to run. `next` alone is not enough: it omits tasks whose writes were saved
            # but not yet applied (a step whose branches all finished as the process was interrupted).
            if state.values and not state.next and not state.tasks:
                out(f"buildcrew: run {run.run_id} had already finished; its report:")
                return print_report(run, as_json=False)
            progress.seed(state.values)
            AuditTrail(run.paths.events, run.run_id).record(
                "resume",
                role="system",
                detail={
                    "checkpoint_id": (state.config.get("configurable") or {}).get("checkpoint_id"),
                    "next": list(state.next),
                    "pid": os.getpid(),
                },
            )
            graph_input = None if state.values else {"goal": run.settings.get("goal", "")}  # none saved: restart
        run.update(status="running", pid=os.getpid(), verdict=None)
        tail = TrailTail(run.paths.events, console) if args.verbose else contextlib.nullcontext()
        try:
            with tail:
                for mode, chunk in graph.stream(
                    graph_input, config, context=context, stream_mode=["updates", "custom"]
                ):
                    progress.handle(mode, chunk)
        except KeyboardInterrupt:
            progress.finish()
            run.update(status="interrupted")
            err(f"buildcrew: interrupted; continue with: buildcrew resume {run.path}")
            return 130
        except BaseException as exc:
            run.update(status="crashed", error=f"{type(exc).__name__}: {exc}")
            raise
        progress.finish()
        report = graph.get_state(config).values.get("report")
    doc = run.report()
    if report is None or doc is None:
        run.update(status="crashed", error="the graph ended without a report")
        err("buildcrew: internal error: the run ended without a report")
        return 3
    run.update(status="finished", verdict=report.verdict)
    for line in summary_lines(doc, run.paths.report_md):
        out(line)
    return 0 if report.verdict == "PASS" else 1


def print_report(run: Run, *, as_json: bool) -> int:
    doc = run.report()
    if doc is None:
        raise ConfigError(
            f"run {run.run_id} has no report yet (status {run.status()}): "
            f"finish it with `buildcrew resume {run.run_id}`"
        )
    if run.status() not in ("finished", "unknown"):
        err(f"buildcrew: note: run {run.run_id} is {run.status()}; this report is from a pass before its end")
    path = run.paths.report_json if as_json else run.paths.report_md
    out(path.read_text(encoding="utf-8").removesuffix("\n"))  # exactly the file
    return 0 if doc.get("verdict") == "PASS" else 1
