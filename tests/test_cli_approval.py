"""`--approve plan|remediation`: the CLI shows what waits, reads approve / reject / edit, or leaves the run paused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import RUNS, buildcrew, events, only_run, plan, report, turn, write_scenario

pytestmark = pytest.mark.slow

PLAN_A = plan({"id": "A", "title": "write a", "deliverables": ["a.txt"]})["plan"][0]
PLAN_B = plan({"id": "B", "title": "write b", "deliverables": ["b.txt"]})["plan"][0]
DEVELOPERS = {
    "A": [turn("", ("write_file", {"path": "a.txt", "content": "a\n"})), turn("done")],
    "B": [turn("", ("write_file", {"path": "b.txt", "content": "b\n"})), turn("done")],
}
INTEGRITY = ("--verify-depth", "integrity", "--runs-dir", RUNS)


def _plans(folder: Path) -> Path:
    """Plan A first; after a rejection the manager re-plans on turns 3 and 4 and proposes plan B."""
    return write_scenario(folder / "plans.json", manager={"plan": [PLAN_A, PLAN_A, PLAN_B]}, developer=DEVELOPERS)


def _task_ids(run_dir: Path) -> list[str]:
    return [t["id"] for t in report(run_dir)["tasks"]]


def _approvals(run_dir: Path) -> list[dict]:
    return [e["detail"] for e in events(run_dir) if e["op"] == "approval"]


def test_an_approved_plan_runs_to_pass(tmp_path: Path) -> None:
    result = buildcrew(
        tmp_path, "run", "--scenario", str(_plans(tmp_path)), "--approve", "plan", *INTEGRITY, input="approve\n"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "APPROVAL NEEDED: the manager's plan (1 task(s))" in result.stdout
    assert any(line.split()[:2] == ["A", "write"] for line in result.stdout.splitlines())
    run_dir = only_run(tmp_path)
    assert report(run_dir)["verdict"] == "PASS" and _task_ids(run_dir) == ["A"]
    assert [a["action"] for a in _approvals(run_dir)] == ["approve"]
    assert json.loads((run_dir / "run.json").read_text())["context"]["approve"] == ["plan"]


def test_a_rejected_plan_is_replanned_with_the_reason_then_approved(tmp_path: Path) -> None:
    result = buildcrew(
        tmp_path,
        "run",
        "--scenario",
        str(_plans(tmp_path)),
        "--approve",
        "plan",
        *INTEGRITY,
        input="reject do B instead\napprove\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("APPROVAL NEEDED") == 2
    run_dir = only_run(tmp_path)
    assert report(run_dir)["verdict"] == "PASS" and _task_ids(run_dir) == ["B"]
    assert sorted(p.name for p in (run_dir / "workspace").iterdir()) == ["b.txt"]
    assert [(a["action"], a["reason"]) for a in _approvals(run_dir)] == [("reject", "do B instead"), ("approve", "")]


def test_an_edited_plan_from_a_json_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(
        json.dumps({"tasks": [{"id": "B", "title": "b instead", "deliverables": ["b.txt"]}]})
    )
    result = buildcrew(
        tmp_path,
        "run",
        "--scenario",
        str(_plans(tmp_path)),
        "--approve",
        "plan",
        *INTEGRITY,
        input="bogus\nedit missing.json\nedit mine.json\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expected approve | reject REASON | edit PLAN.json, got 'bogus'" in result.stdout
    assert "cannot read plan file 'missing.json'" in result.stdout
    run_dir = only_run(tmp_path)
    assert report(run_dir)["verdict"] == "PASS"
    assert [(t["id"], t["title"]) for t in report(run_dir)["tasks"]] == [("B", "b instead")]


def test_a_rejected_remediation_leaves_the_blocker_unresolved(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path / "lazy.json",
        manager={"plan": [PLAN_A]},
        developer={"A": [turn("done, trust me")], "A.r1": DEVELOPERS["A"]},
    )
    result = buildcrew(
        tmp_path,
        "run",
        "--scenario",
        str(scenario),
        "--approve",
        "plan,remediation",
        *INTEGRITY,
        input="approve\nedit x.json\nreject not worth it\n",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "APPROVAL NEEDED: the manager's remediation task(s) (1 task(s))" in result.stdout
    assert "remediation tasks can be approved or rejected, not edited" in result.stdout
    doc = report(only_run(tmp_path))
    assert doc["verdict"] == "FAIL"
    fix = next(t for t in doc["tasks"] if t["id"] == "A.r1")
    assert fix["status"] == "blocked" and fix["attempts"] == 0 and "not worth it" in fix["error"]
    assert any(
        b["kind"] == "missing_file" and b["path"] == "a.txt"
        for b in [c for c in doc["callbacks"] if c["id"] in doc["unresolved_blockers"]]
    )
    assert "UNRESOLVED" in result.stdout


def test_without_an_answer_the_run_waits_and_resume_decides(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"id": "B", "title": "b edited", "deliverables": ["b.txt"]}]))
    scenario = str(_plans(tmp_path))
    waiting = buildcrew(tmp_path, "run", "--scenario", scenario, "--approve", "plan", *INTEGRITY)
    run_dir = only_run(tmp_path)
    run_id = run_dir.name
    assert waiting.returncode == 5, waiting.stdout + waiting.stderr
    assert (
        f"buildcrew: run {run_id} is waiting for approval of its plan: buildcrew resume {run_id} "
        '--decision approve|"reject:REASON"|edit:PLAN.json'
    ) in waiting.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "waiting"
    assert "waiting" in buildcrew(tmp_path, "runs", "--runs-dir", RUNS).stdout
    assert not (run_dir / "workspace" / "a.txt").exists()

    bad = buildcrew(tmp_path, "resume", run_id, "--runs-dir", RUNS, "--decision", "maybe")
    assert bad.returncode == 2 and bad.stderr.startswith("buildcrew: error: --decision: expected approve"), bad.stderr

    again = buildcrew(tmp_path, "resume", run_id, "--runs-dir", RUNS, "--decision", "reject:do B instead")
    assert again.returncode == 5, again.stdout + again.stderr  # the new plan waits for approval in turn
    assert "B            write b" in again.stdout
    done = buildcrew(tmp_path, "resume", run_id, "--runs-dir", RUNS, "--decision", "edit:mine.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(t["id"], t["title"]) for t in report(run_dir)["tasks"]] == [("B", "b edited")]
    assert [a["action"] for a in _approvals(run_dir)] == ["reject", "edit"]
    assert len([e for e in events(run_dir) if e["op"] == "resume"]) == 2

    late = buildcrew(tmp_path, "resume", run_id, "--runs-dir", RUNS, "--decision", "approve")
    assert late.returncode == 2 and "--decision: run" in late.stderr and "not waiting" in late.stderr


def test_approve_names_its_flag_when_wrong(tmp_path: Path) -> None:
    result = buildcrew(tmp_path, "run", "--approve", "plan,everything", "--runs-dir", RUNS)
    assert result.returncode == 2
    assert result.stderr.strip() == "buildcrew: error: --approve accepts plan and remediation, got 'everything'"
    assert not (tmp_path / RUNS).exists()
