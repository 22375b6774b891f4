"""`buildcrew run` and `buildcrew resume`: settings from the flags, the run folder, and the graph driven to its end.

Numbers are validated by RunContext itself; its errors are restated here with the flag's name and the value given.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from graph.context import RunContext
from graph.progress import err, out
from graph.runs import Run, context_from_settings, create_run, find_run
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
    "approve": "--approve",
    "max_tokens": "--max-tokens",
    "max_cost": "--max-cost",
    "prices": "--prices",
    "record": "--record",
    "replay": "--replay",
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
    values["approve"] = approve_flag(args.approve)
    values["max_tokens"] = None if args.max_tokens is None else _number(args.max_tokens)
    values["max_cost"] = None if args.max_cost is None else _decimal(args.max_cost, "--max-cost")
    values["prices"] = None if args.prices is None else _price_file(args.prices)
    values["record"] = str(Path(args.record).resolve()) if args.record else None
    values["replay"] = str(Path(args.replay).resolve()) if args.replay else None
    return values


def _decimal(raw: str, flag: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{flag} must be a number, got {raw!r}") from None


def _price_file(path: str) -> dict:
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--prices: cannot read {path!r}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--prices: {path!r} is not valid JSON: {exc}") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"--prices: {path!r} must hold a JSON object of model name -> prices")
    return table


def approve_flag(given: list[str] | None) -> list[str] | None:
    """``--approve plan --approve remediation`` or ``--approve plan,remediation``; None when not given."""
    if given is None:
        return None
    steps = [part.strip().lower() for value in given for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(steps))


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
    from graph.checkpointers import probe, stored_spec
    from graph.cli_drive import drive
    from graph.openai_models import model_settings

    probe(args.checkpointer)  # a bad or unreachable --checkpointer is refused before a run folder exists
    settings = model_settings(args)
    overrides = context_overrides(args)
    context = checked(lambda: RunContext(**{k: v for k, v in overrides.items() if v is not None}), args)
    goal = (args.goal or "").strip()
    if settings is None:
        scenario = load_scenario_flag(args.scenario)
        goal = goal or scenario.goal
    elif not goal:
        raise ConfigError("GOAL is required when a model is configured (only the scripted model has its own goal)")
    run = create_run(
        args.runs_dir,
        goal=goal,
        context=context,
        models=settings,
        scenario=overrides["scenario"],
        checkpointer=stored_spec(args.checkpointer),
    )
    out(f"buildcrew: run folder {run.path}")
    out(f"buildcrew: {_model_notice(settings, args.scenario)}")
    if context.replay:
        out(f"buildcrew: replaying every model answer from {context.replay} (offline)")
    if context.record:
        out(f"buildcrew: recording every model exchange to {context.record}")
    out(f"buildcrew: goal: {goal}")
    context = dataclasses.replace(context, run_dir=str(run.path), run_id=run.run_id)
    return drive(run, settings, context, {"goal": goal}, args, spec=args.checkpointer)


def cmd_resume(args: argparse.Namespace) -> int:
    from graph.checkpointers import checkpointer_kind, resume_spec
    from graph.cli_drive import drive

    checkpointer_kind(args.checkpointer)
    run = find_run(args.run, args.runs_dir)
    if not run.settings:
        raise ConfigError(f"run {args.run!r} has no run.json, so it cannot be resumed")
    stored = run.settings
    settings = _resume_models(stored.get("models"), args)
    overrides = context_overrides(args)
    context = checked(
        lambda: context_from_settings(stored.get("context") or {}, run.path, run.run_id, **overrides), args
    )
    spec = resume_spec(stored.get("checkpointer"), args.checkpointer)
    out(f"buildcrew: resuming run folder {run.path}")
    out(f"buildcrew: {_model_notice(settings, context.scenario if settings is None else None)}")
    return drive(run, settings, context, None, args, spec=spec, decision=args.decision)


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
