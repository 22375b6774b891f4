"""Blockers route to the manager, become remediation tasks, and are fixed or honestly reported."""

from __future__ import annotations

import json

from conftest import plan_turn, scenario, turn, write

PLAN_ONE = {"plan": [plan_turn({"id": "T1", "title": "module", "deliverables": ["mod.py"]})]}


def test_claimed_done_without_writing_is_caught_and_remediated(run_scenario) -> None:
    scn = scenario(
        manager=PLAN_ONE,
        developer={
            "T1": [turn("All done!")],  # claims success, never called a tool
            "T1.r1": [turn("", write("mod.py", "X = 1\n")), turn("written")],
        },
    )
    run = run_scenario(scn)
    [blocker] = run.blockers()
    assert blocker.kind == "missing_file" and blocker.message == "File mod.py was not created by task T1"
    fix = run.state["tasks"]["T1.r1"]
    assert fix.retry_for == "T1" and fix.deliverables == ["mod.py"] and "mod.py was not created" in fix.instructions
    assert blocker.resolved_by == "T1.r1"
    assert run.report.verdict == "PASS", run.report.reason
    assert run.report.metrics["blockers_remediated_pct"] == 100.0


def test_file_deleted_after_its_task_is_reported_lost_then_restored(run_scenario) -> None:
    scn = scenario(
        manager={
            "plan": [
                plan_turn(
                    {"id": "T1", "title": "data", "deliverables": ["data.txt"]},
                    {"id": "T2", "title": "cleanup", "deliverables": ["other.txt"], "depends_on": ["T1"]},
                )
            ]
        },
        developer={
            "T1": [turn("", write("data.txt", "precious\n")), turn("done")],
            "T2": [turn("", write("other.txt", "o"), ("delete_file", {"path": "data.txt"})), turn("done")],
            "T1.r1": [turn("", write("data.txt", "precious\n")), turn("restored")],
        },
    )
    run = run_scenario(scn)
    lost = [b for b in run.blockers() if b.kind == "lost_file"]
    assert [b.message for b in lost] == ["File data.txt created by task T1 was lost (deleted by task T2)"]
    assert lost[0].resolved_by == "T1.r1"
    assert run.state["final_passes"] == 2
    assert run.report.verdict == "PASS", run.report.reason
    assert (run.workspace / "data.txt").read_text() == "precious\n"


def test_a_task_that_always_fails_stops_after_three_attempts_with_an_honest_fail(run_scenario) -> None:
    never = [turn("I finished the module.")]
    scn = scenario(manager=PLAN_ONE, developer={"T1": never, "T1.r1": never, "T1.r2": never, "T1.r3": never})
    run = run_scenario(scn, max_attempts=3)
    tasks = run.state["tasks"]
    assert sorted(tasks) == ["T1", "T1.r1", "T1.r2"]
    assert run.report.metrics["attempts_per_task"] == {"T1": 3}
    assert run.report.verdict == "FAIL"
    unresolved = run.report.unresolved_blockers
    assert unresolved and all(b.kind == "missing_file" for b in unresolved)
    assert "File mod.py was not created by task T1.r2" in {b.message for b in unresolved}
    report_md = (run.run_dir / "report.md").read_text()
    assert "UNRESOLVED" in report_md and "mod.py" in report_md


def test_review_blockers_go_through_the_manager_model(run_scenario) -> None:
    scn = scenario(
        manager={
            **PLAN_ONE,
            "remediate:T1": [
                turn("", ("submit_remediation", {"instructions": "Set X to 2, not 1.", "deliverables": ["mod.py"]}))
            ],
        },
        developer={
            "T1": [turn("", write("mod.py", "X = 1\n")), turn("done")],
            "T1.r1": [
                turn("", ("edit_file", {"path": "mod.py", "old_text": "X = 1", "new_text": "X = 2"})),
                turn("fixed"),
            ],
        },
        auditor={
            "T1": [
                turn("", ("raise_callback", {"severity": "blocker", "message": "mod.py: X must be 2"})),
                turn("one defect"),
            ],
            "*": [turn("fine")],
        },
    )
    run = run_scenario(scn)
    fix = run.state["tasks"]["T1.r1"]
    assert fix.instructions.startswith("Set X to 2, not 1.") and "mod.py: X must be 2" in fix.instructions
    assert run.report.verdict == "PASS"
    assert (run.workspace / "mod.py").read_text() == "X = 2\n"


def test_remediation_rounds_bound_backs_up_attempts(run_scenario) -> None:
    never = [turn("done")]
    scn = scenario(manager=PLAN_ONE, developer={"*": never})
    run = run_scenario(scn, max_attempts=10, max_rounds=2)
    assert run.state["remediation_rounds"] == 2
    assert run.report.verdict == "FAIL"
    report = json.loads((run.run_dir / "report.json").read_text())
    assert len(report["tasks"]) == 3 and report["unresolved_blockers"]


def test_a_file_removed_behind_the_tools_back_is_lost_and_restored(run_scenario) -> None:
    scn = scenario(
        manager={
            "plan": [
                plan_turn(
                    {"id": "T1", "title": "data", "deliverables": ["data.txt"]},
                    {"id": "T2", "title": "other", "deliverables": ["other.txt"], "depends_on": ["T1"]},
                )
            ]
        },
        developer={
            "T1": [turn("", write("data.txt", "precious\n")), turn("done")],
            "T2": [turn("", write("other.txt", "o"), ("run_command", {"command": "rm data.txt"})), turn("done")],
            "T1.r1": [turn("", write("data.txt", "precious\n")), turn("restored")],
        },
    )
    run = run_scenario(scn)
    [lost] = [b for b in run.blockers() if b.kind == "lost_file"]
    assert lost.message == "File data.txt created by task T1 was lost" and lost.resolved_by == "T1.r1"
    assert run.report.verdict == "PASS"


def test_a_scratch_file_deleted_through_the_tools_is_not_lost(run_scenario) -> None:
    scn = scenario(
        manager=PLAN_ONE,
        developer={
            "T1": [
                turn("", write("scratch.txt", "tmp"), write("mod.py", "X = 1\n")),
                turn(
                    "",
                    ("move_file", {"source": "mod.py", "destination": "mod2.py"}),
                    ("move_file", {"source": "mod2.py", "destination": "mod.py"}),
                    ("delete_file", {"path": "scratch.txt"}),
                ),
                turn("done"),
            ]
        },
    )
    run = run_scenario(scn)
    assert run.report.verdict == "PASS" and not run.blockers()
    assert sorted(p for p, r in run.state["files_created"].items() if r.live) == ["mod.py"]
    assert run.state["tasks"]["T1"].files_created == ["mod.py"]


def test_a_defect_handed_to_a_fix_that_failed_is_handed_on_not_forgotten(run_scenario) -> None:
    scn = scenario(
        manager={
            **PLAN_ONE,
            "remediate:T1": [turn("", ("submit_remediation", {"instructions": "Fix the off-by-one."}))] * 3,
        },
        developer={
            "T1": [turn("", write("mod.py", "X = 0\n")), turn("done")],
            "T1.r1": [turn("", ("read_file", {"path": "nope.py"}))] * 5,  # stuck: loop guard stops it
            "T1.r2": [turn("", write("mod.py", "X = 1\n")), turn("fixed")],
        },
        auditor={
            "T1": [
                turn("", ("raise_callback", {"severity": "blocker", "message": "mod.py: off-by-one"})),
                turn("one defect"),
            ],
            "*": [turn("fine")],
        },
    )
    run = run_scenario(scn, max_attempts=3)
    defect = next(b for b in run.blockers() if b.message == "mod.py: off-by-one")
    assert "mod.py: off-by-one" in run.state["tasks"]["T1.r2"].instructions
    assert defect.resolved_by == "T1.r2" and run.report.verdict == "PASS"


def test_the_manager_can_add_deliverables_to_a_fix_but_never_drop_one(run_scenario) -> None:
    scn = scenario(
        manager={
            **PLAN_ONE,
            "remediate:T1": [
                turn("", ("submit_remediation", {"instructions": "Write notes instead.", "deliverables": ["notes.md"]}))
            ],
        },
        developer={
            "T1": [turn("", ("raise_callback", {"severity": "blocker", "message": "spec unclear"})), turn("blocked")],
            "T1.r1": [turn("", write("notes.md", "n")), turn("done")],
            "T1.r2": [turn("", write("mod.py", "X = 1\n")), turn("done")],
        },
    )
    run = run_scenario(scn)
    assert run.state["tasks"]["T1.r1"].deliverables == ["mod.py", "notes.md"]
    assert run.report.verdict == "PASS" and (run.workspace / "mod.py").exists()
