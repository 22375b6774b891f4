"""A run killed part-way is finished by `buildcrew resume`, with the same files as a clean run."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from cli_support import RUNS, buildcrew, demo_scenario, events, file_hashes, only_run, report, start_buildcrew

pytestmark = pytest.mark.slow


def _slow_demo(folder: Path) -> Path:
    """The demo scenario with 0.3 s per model call, so a test can stop it part-way."""
    path = folder / "slow.json"
    path.write_text(json.dumps(demo_scenario() | {"latency_s": 0.3}))
    return path


def _wait_for_task_end(cwd: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for trail in (cwd / RUNS).glob("*/events.jsonl"):
            if any(e["op"] == "task_end" for e in events(trail.parent)):
                return trail.parent
        time.sleep(0.02)
    raise AssertionError("no task_end event appeared")


def test_resume_finishes_a_killed_run_with_the_clean_runs_files(tmp_path: Path) -> None:
    clean_cwd = tmp_path / "clean"
    clean_cwd.mkdir()
    assert buildcrew(clean_cwd, "run", "--runs-dir", RUNS).returncode == 0
    clean = file_hashes(only_run(clean_cwd))

    process = start_buildcrew(tmp_path, "run", "--scenario", str(_slow_demo(tmp_path)), "--runs-dir", RUNS)
    try:
        run_dir = _wait_for_task_end(tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert not (run_dir / "report.json").exists()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    listed = buildcrew(tmp_path, "runs", "--runs-dir", RUNS)
    assert "interrupted" in listed.stdout
    unfinished = buildcrew(tmp_path, "report", run_dir.name, "--runs-dir", RUNS)
    assert unfinished.returncode == 2 and "no report yet" in unfinished.stderr

    resumed = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "VERDICT: PASS" in resumed.stdout
    assert report(run_dir)["verdict"] == "PASS"
    assert file_hashes(run_dir) == clean
    assert [e for e in events(run_dir) if e["op"] == "resume"]
    settings = json.loads((run_dir / "run.json").read_text())
    assert settings["status"] == "finished" and settings["verdict"] == "PASS"

    finished = buildcrew(tmp_path, "resume", str(run_dir))  # by path; already done: prints the report
    assert finished.returncode == 0
    assert "already finished" in finished.stdout and "# buildcrew report: PASS" in finished.stdout
    assert only_run(tmp_path) == run_dir


def test_ctrl_c_exits_130_and_the_run_resumes(tmp_path: Path) -> None:
    process = start_buildcrew(tmp_path, "run", "--scenario", str(_slow_demo(tmp_path)), "--runs-dir", RUNS)
    try:
        run_dir = _wait_for_task_end(tmp_path)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert f"buildcrew resume {run_dir}" in stderr and "Traceback" not in stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"

    resumed = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert report(run_dir)["verdict"] == "PASS"
    assert len(file_hashes(run_dir)) == 6
