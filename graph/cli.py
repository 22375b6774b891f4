"""The buildcrew command line: run, resume, report, export, events, graph, runs.

Exit codes: 0 PASS, 1 FAIL, 2 bad usage or configuration (one line naming the flag or value),
3 an unexpected internal error, 5 paused waiting for an approval, 130 interrupted.
``--verbose`` adds tracebacks and every tool call.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from graph.cli_run import LIMIT_FLAGS, cmd_resume, cmd_run, print_report
from graph.context import VERIFY_DEPTHS
from graph.progress import err, out
from graph.runs import DEFAULT_RUNS_DIR, find_run, list_runs
from state.errors import ConfigError, ReplayMismatch


# -- the parser --------------------------------------------------------------------------------------
def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="folder holding run folders (default ./runs)")
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="show every tool call, full tracebacks, and DEBUG logging of the buildcrew logger",
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by run and resume (on resume, the ones given override the run's stored settings)."""
    models = parser.add_argument_group("models (default: OPENAI_API_KEY's gpt-4o-mini, else the offline demo)")
    models.add_argument("--model", help="chat model name for every role, e.g. gpt-4o-mini")
    models.add_argument("--base-url", help="base URL of any OpenAI-compatible server (then no API key is needed)")
    for role in ("manager", "developer", "auditor"):
        models.add_argument(f"--{role}-model", help=f"model name for the {role} (overrides --model)")
    models.add_argument("--scenario", metavar="FILE", help="play this scenario file on the offline scripted model")
    models.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        help="seconds one model request may take before the client retries it (default 120)",
    )
    models.add_argument(
        "--max-retries",
        metavar="N",
        help="retries of a transient model error (429, 5xx, timeout, connection) by the OpenAI client, "
        "honouring Retry-After (default 3); 400, 401 and 403 are never retried",
    )
    models.add_argument("--record", metavar="FILE.jsonl", help="append every model exchange to this cassette")
    models.add_argument(
        "--replay",
        metavar="FILE.jsonl",
        help="answer every model call from this cassette, offline (by role, task and turn)",
    )
    budgets = parser.add_argument_group("budgets (when one is spent no model call starts; the report says FAIL)")
    budgets.add_argument("--max-tokens", metavar="N", help="input + output tokens the whole run may spend")
    budgets.add_argument("--max-cost", metavar="USD", help="US dollars the whole run may spend (needs --prices)")
    budgets.add_argument(
        "--prices",
        metavar="FILE.json",
        help='price table: {"model name or *": {"input": $ per 1M tokens, "output": $ per 1M}}',
    )
    limits = parser.add_argument_group("limits and verification")
    for flag, (_, text) in LIMIT_FLAGS.items():
        limits.add_argument(flag, metavar="N", help=text)
    limits.add_argument(
        "--verify-depth",
        choices=VERIFY_DEPTHS,
        help="integrity: files and tasks; commands: also the verify command (default); full: also a model review",
    )
    limits.add_argument(
        "--verify-command",
        metavar="CMD",
        help="command final verification runs in the workspace ('' for none; default: the scenario's)",
    )
    durable = parser.add_argument_group("checkpoints and approvals")
    durable.add_argument(
        "--checkpointer",
        metavar="SPEC",
        help="where checkpoints live: sqlite (default, in the run folder) or postgresql://user@host:port/db "
        "(the password from PGPASSWORD; run.json keeps the URL without it)",
    )
    durable.add_argument(
        "--approve",
        action="append",
        metavar="STEP",
        help="wait for a person's approval of: plan, remediation (repeatable or comma-separated)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buildcrew",
        description="A LangGraph software team whose every write is "
        "verified and every run ends in an honest PASS/FAIL report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the team on a goal (no model configured: the offline demo)")
    run.add_argument("goal", nargs="?", metavar="GOAL", help="what to build (optional with the scripted model)")
    resume = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run", metavar="RUN", help="run folder or run id")
    resume.add_argument(
        "--decision",
        metavar="ANSWER",
        help="answer the approval the run waits for: approve, 'reject:REASON' or (a plan) edit:PLAN.json",
    )
    for command in (run, resume):
        add_run_options(command)
    report = sub.add_parser("report", help="print a run's report (exit 0 PASS, 1 FAIL)")
    report.add_argument("run", metavar="RUN", help="run folder, or run id under --runs-dir")
    report.add_argument("--json", action="store_true", help="print report.json instead of report.md")
    export = sub.add_parser("export", help="zip a run's workspace, reports, audit trail and settings")
    export.add_argument("run", metavar="RUN", help="run folder, or run id under --runs-dir")
    export.add_argument("-o", "--output", metavar="FILE.zip", help="zip to write (default ./<run id>.zip)")
    events = sub.add_parser("events", help="query a run's audit trail")
    events.add_argument("run", metavar="RUN", help="run folder, or run id under --runs-dir")
    events.add_argument("--op", help="only this operation, e.g. write, run_command, TOOL_EXECUTION_ERROR")
    events.add_argument("--task", help="only this task's events")
    events.add_argument("--path", help="only events on this workspace path")
    events.add_argument("--errors", action="store_true", help="only failed operations")
    events.add_argument("--json", action="store_true", help="JSON lines, every field")
    graph = sub.add_parser("graph", help="print the team graph as a Mermaid drawing")
    runs = sub.add_parser("runs", help="list runs")
    for command in (run, resume, report, export, events, graph, runs):
        add_common_options(command)
    handlers = {
        "run": cmd_run,
        "resume": cmd_resume,
        "report": cmd_report,
        "export": cmd_export,
        "events": cmd_events,
        "graph": cmd_graph,
        "runs": cmd_runs,
    }
    for name, command in sub.choices.items():
        command.set_defaults(handler=handlers[name])
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    return print_report(find_run(args.run, args.runs_dir), as_json=args.json)


def cmd_export(args: argparse.Namespace) -> int:
    from tools.export import export_zip

    run = find_run(args.run, args.runs_dir)
    paths = run.paths
    extras = {p.name: p for p in (paths.report_json, paths.report_md, paths.events, run.settings_path) if p.exists()}
    if not paths.workspace.is_dir():
        raise ConfigError(f"run {run.run_id} has no workspace folder to export")
    dest = Path(args.output or f"{run.run_id}.zip")
    names = export_zip(dest, workspace=paths.workspace, extra_files=extras)
    for name in names:
        out(f"  {name}")
    out(f"buildcrew: wrote {dest.resolve()} ({len(names)} entries)")
    if "report.json" not in extras:
        err("buildcrew: note: the run has no report yet, so the zip holds none")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from graph.progress import event_line
    from tools.audit import AuditTrail

    run = find_run(args.run, args.runs_dir)
    events = AuditTrail(run.paths.events, run.run_id).events(
        op=args.op, task_id=args.task, path=args.path, errors=args.errors
    )
    for event in events:
        out(event.model_dump_json() if args.json else event_line(event, full_time=True, detail=False))
    if not events:
        err("buildcrew: no matching events")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from graph.builder import build_graph

    out(build_graph().get_graph().draw_mermaid().rstrip())
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    runs = list_runs(args.runs_dir)
    if not runs:
        err(f"buildcrew: no runs under {Path(args.runs_dir).resolve()}")
        return 0
    out(f"{'RUN':<23} {'CREATED':<25} {'STATUS':<11} {'VERDICT':<7} GOAL")
    for run in runs:
        goal = " ".join(str(run.settings.get("goal") or (run.report() or {}).get("goal") or "").split())
        goal = goal if len(goal) <= 60 else goal[:57] + "..."
        out(
            f"{run.run_id:<23} {run.settings.get('created') or '-':<25} {run.status():<11} "
            f"{run.verdict() or '-':<7} {goal}"
        )
    return 0


# -- entry point -------------------------------------------------------------------------------------
def configure_logging(verbose: bool) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "buildcrew-cli"]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("buildcrew-cli")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_not_a_blocker)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("buildcrew").setLevel(logging.DEBUG if verbose else logging.NOTSET)


def _not_a_blocker(record: logging.LogRecord) -> bool:
    """Blockers are on the progress lines already; every other warning goes to stderr."""
    return not (record.name == "buildcrew" and record.getMessage().startswith("BLOCKER"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.handler(args)
    except (ConfigError, ReplayMismatch) as exc:  # the user's settings, or a cassette that does not fit the run
        if args.verbose:
            traceback.print_exc()
        err(f"buildcrew: error: {exc}")
        return 2
    except KeyboardInterrupt:
        err("buildcrew: interrupted")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the reader left: stop quietly
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes an exit code
        if args.verbose:
            traceback.print_exc()
        err(
            f"buildcrew: internal error: {type(exc).__name__}: {exc}"
            + ("" if args.verbose else " (run with --verbose for the traceback)")
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
