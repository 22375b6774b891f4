"""Helpers for the CLI tests: run ``python -m graph.cli`` as a subprocess, write scenario files, read runs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

RUNS = "runs-here"  # every test passes --runs-dir, so nothing depends on the default


def cli_env() -> dict[str, str]:
    """The environment with no API key, so every run uses the offline scripted model."""
    return {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


def buildcrew(
    cwd: Path, *args: str, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; ``input`` is its standard input (default: none, i.e. at end of input)."""
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args],
        cwd=cwd,
        env=cli_env(),
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_buildcrew(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """Start the CLI in the background; SIGINT is reset to its default so Ctrl-C can be simulated."""
    return subprocess.Popen(
        [sys.executable, "-m", "graph.cli", *args],
        cwd=cwd,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def turn(content: str = "", *calls: tuple[str, dict]) -> dict:
    """One scripted answer: text and tool calls given as (name, args) pairs."""
    return {"content": content, "tool_calls": [{"name": name, "args": args} for name, args in calls]}


def plan(*tasks: dict) -> dict[str, list[dict]]:
    full = [{"role": "developer", "instructions": t["title"], "depends_on": [], **t} for t in tasks]
    return {"plan": [turn("plan", ("submit_plan", {"tasks": full}))]}


def write_scenario(path: Path, **parts: Any) -> Path:
    doc = {"name": path.stem, "goal": f"goal of {path.stem}", "auditor": {"*": [turn("No defects.")]}, **parts}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def demo_scenario() -> dict[str, Any]:
    from importlib import resources

    return json.loads(resources.files("graph.scenarios").joinpath("demo.json").read_text(encoding="utf-8"))


def only_run(cwd: Path) -> Path:
    runs = sorted(p for p in (cwd / RUNS).iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


def report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def file_hashes(run_dir: Path) -> dict[str, str]:
    """path -> sha256 as the report lists them, after checking each against the file on disk."""
    listed = {f["path"]: f["sha256"] for f in report(run_dir)["files"]}
    for path, digest in listed.items():
        assert hashlib.sha256((run_dir / "workspace" / path).read_bytes()).hexdigest() == digest, path
    return listed


def events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
