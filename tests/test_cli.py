"""`buildcrew run` with no model plays the offline demo end to end; report, export, events, graph and runs read it."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from cli_support import RUNS, buildcrew, file_hashes, only_run, report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """One demo run shared by this module's tests: (cwd, run folder, finished process)."""
    cwd = tmp_path_factory.mktemp("demo")
    done = buildcrew(cwd, "run", "--runs-dir", RUNS)
    return cwd, only_run(cwd), done


def test_demo_run_passes_with_a_complete_run_folder(demo) -> None:
    cwd, run_dir, done = demo
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("workspace", "outputs"):
        assert (run_dir / name).is_dir(), name
    for name in ("events.jsonl", "checkpoints.sqlite", "report.json", "report.md", "run.json"):
        assert (run_dir / name).is_file(), name
    doc = report(run_dir)
    assert doc["verdict"] == "PASS"
    hashes = file_hashes(run_dir)  # every listed file exists with the sha256 the report gives
    assert set(hashes) == {
        "pyproject.toml",
        "textkit/__init__.py",
        "textkit/slug.py",
        "textkit/stats.py",
        "tests/test_slug.py",
        "tests/test_stats.py",
    }
    assert all(f["exists"] for f in doc["files"])


def test_demo_run_console_shows_path_notice_tasks_and_verdict(demo) -> None:
    _, run_dir, done = demo
    out = done.stdout
    assert str(run_dir) in out.splitlines()[0]
    assert "no model configured: running the bundled demo scenario on the offline scripted model" in out
    for task in ("T1", "T2", "T2.r1"):
        assert task in out
    assert "VERDICT: PASS" in out
    assert "blockers: 1 raised, 1 resolved, 0 unresolved" in out
    assert "resolved by T2.r1" in out
    assert "deliverables_created_pct: 100.0" in out
    assert "Traceback" not in done.stderr


def test_run_json_keeps_the_settings_and_never_a_key(demo) -> None:
    _, run_dir, _ = demo
    settings = json.loads((run_dir / "run.json").read_text())
    assert settings["run_id"] == run_dir.name
    assert settings["status"] == "finished" and settings["verdict"] == "PASS"
    assert settings["offline"] is True and settings["models"] is None
    assert settings["context"]["max_attempts"] == 3
    assert "key" not in json.dumps(settings).lower()


def test_report_prints_markdown_or_json_and_exits_by_verdict(demo) -> None:
    cwd, run_dir, _ = demo
    md = buildcrew(cwd, "report", run_dir.name, "--runs-dir", RUNS)
    assert md.returncode == 0
    assert md.stdout == (run_dir / "report.md").read_text()
    by_path = buildcrew(cwd, "report", str(run_dir), "--json")
    assert by_path.returncode == 0
    assert json.loads(by_path.stdout)["verdict"] == "PASS"


def test_export_holds_every_reported_file_and_the_records(demo, tmp_path: Path) -> None:
    cwd, run_dir, _ = demo
    dest = tmp_path / "out.zip"
    done = buildcrew(cwd, "export", run_dir.name, "--runs-dir", RUNS, "-o", str(dest))
    assert done.returncode == 0, done.stderr
    assert str(dest) in done.stdout
    with zipfile.ZipFile(dest) as archive:
        names = set(archive.namelist())
        for path in file_hashes(run_dir):
            assert archive.read(f"workspace/{path}") == (run_dir / "workspace" / path).read_bytes()
    assert {"report.json", "report.md", "events.jsonl", "run.json"} <= names


def test_events_filters_by_op_and_task(demo) -> None:
    cwd, run_dir, _ = demo
    writes = buildcrew(cwd, "events", run_dir.name, "--runs-dir", RUNS, "--op", "write")
    lines = writes.stdout.splitlines()
    assert writes.returncode == 0 and len(lines) == 6
    assert all(line.split()[3] == "write" for line in lines)
    t2 = buildcrew(cwd, "events", run_dir.name, "--runs-dir", RUNS, "--task", "T2", "--json")
    rows = [json.loads(line) for line in t2.stdout.splitlines()]
    assert rows and {row["task_id"] for row in rows} == {"T2"}
    assert {"task_start", "write", "task_end", "audit_start", "raise_callback"} <= {row["op"] for row in rows}


def test_runs_lists_the_run_with_its_verdict(demo) -> None:
    cwd, run_dir, _ = demo
    done = buildcrew(cwd, "runs", "--runs-dir", RUNS)
    assert done.returncode == 0
    row = next(line for line in done.stdout.splitlines() if line.startswith(run_dir.name))
    assert "finished" in row and "PASS" in row and "Build textkit" in row


def test_graph_prints_a_mermaid_drawing(tmp_path: Path) -> None:
    done = buildcrew(tmp_path, "graph")
    assert done.returncode == 0
    assert "graph TD" in done.stdout or "flowchart" in done.stdout
    for node in ("plan", "schedule", "develop", "audit", "remediate", "final_verify"):
        assert node in done.stdout
