"""Failures reach the console honestly: FAIL exits 1 with its blocker, bad settings exit 2 in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import RUNS, buildcrew, only_run, plan, report, turn, write_scenario

pytestmark = pytest.mark.slow


def test_a_deliverable_never_written_fails_with_its_unresolved_blocker(tmp_path: Path) -> None:
    never = [turn("done")]  # every attempt answers without writing x.py
    scenario = write_scenario(
        tmp_path / "never.json",
        manager=plan({"id": "T1", "title": "Write x.py", "deliverables": ["x.py"]}),
        developer={"T1": never, "T1.r1": never, "T1.r2": never},
    )
    done = buildcrew(tmp_path, "run", "--scenario", str(scenario), "--runs-dir", RUNS)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "VERDICT: FAIL" in done.stdout
    assert "running scenario" in done.stdout and "goal of never" in done.stdout
    assert "UNRESOLVED" in done.stdout
    run_dir = only_run(tmp_path)
    md = (run_dir / "report.md").read_text()
    assert "File x.py was not created by task T1" in md
    assert "UNRESOLVED" in md
    assert report(run_dir)["verdict"] == "FAIL"
    assert {t["id"] for t in report(run_dir)["tasks"]} == {"T1", "T1.r1", "T1.r2"}
    again = buildcrew(tmp_path, "report", run_dir.name, "--runs-dir", RUNS)
    assert again.returncode == 1 and "UNRESOLVED" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--max-attempts", "0"], "--max-attempts must be a whole number >= 1, got '0'"),
        (["run", "--max-concurrency", "many"], "--max-concurrency must be a whole number >= 1, got 'many'"),
        (["run", "--verify-depth", "deep"], "--verify-depth"),
        (["run", "--scenario", "/nonexistent.json"], "--scenario: cannot read scenario file '/nonexistent.json'"),
        (["run", "--model", "gpt-4o-mini", "some goal"], "OPENAI_API_KEY"),
        (["run", "--model", "m", "--base-url", "http://127.0.0.1:9"], "GOAL is required"),
        (["report", "20990101-000000-abcdef"], "no run '20990101-000000-abcdef'"),
        (["resume", "20990101-000000-abcdef"], "no run '20990101-000000-abcdef'"),
        (["events", "nowhere"], "no run 'nowhere'"),
    ],
)
def test_bad_settings_exit_2_with_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = buildcrew(tmp_path, *args, "--runs-dir", RUNS)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / RUNS).exists() or not any((tmp_path / RUNS).iterdir())  # no run folder was made


def test_a_malformed_scenario_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad"}))  # no goal
    done = buildcrew(tmp_path, "run", "--scenario", str(bad), "--runs-dir", RUNS)
    assert done.returncode == 2
    assert "--scenario: scenario" in done.stderr and "malformed" in done.stderr
    assert "Traceback" not in done.stderr


def test_refused_write_is_shown_and_found_by_events_errors(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path / "escape.json",
        manager=plan({"id": "T1", "title": "Write x.py", "deliverables": ["x.py"]}),
        developer={
            "T1": [
                turn("", ("write_file", {"path": "../escape.txt", "content": "out"})),
                turn("", ("write_file", {"path": "x.py", "content": "x = 1\n"})),
                turn("done"),
            ]
        },
    )
    done = buildcrew(tmp_path, "run", "--scenario", str(scenario), "--runs-dir", RUNS, "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR T1 developer write_file" in done.stdout and "../escape.txt" in done.stdout
    assert " write " in done.stdout and "x.py ok" in done.stdout  # --verbose shows every tool call
    run_dir = only_run(tmp_path)
    assert not (run_dir / "escape.txt").exists()
    failed = buildcrew(tmp_path, "events", run_dir.name, "--runs-dir", RUNS, "--errors", "--json")
    rows = [json.loads(line) for line in failed.stdout.splitlines()]
    assert len(rows) == 1
    assert rows[0]["ok"] is False and rows[0]["op"] == "TOOL_EXECUTION_ERROR"
    assert rows[0]["detail"]["tool"] == "write_file" and rows[0]["error"]
    plain = buildcrew(tmp_path, "events", run_dir.name, "--runs-dir", RUNS, "--errors")
    assert len(plain.stdout.splitlines()) == 1 and "FAILED PathRefused" in plain.stdout
    by_path = buildcrew(tmp_path, "events", run_dir.name, "--runs-dir", RUNS, "--path", "x.py", "--op", "write")
    assert len(by_path.stdout.splitlines()) == 1 and "x.py ok" in by_path.stdout
