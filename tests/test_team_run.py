"""The original plan's integration cases: files are created, read, merged, kept and verified."""

from __future__ import annotations

import hashlib
import json

from conftest import plan_turn, scenario, turn, write
from graph.scripted import load_scenario
from tools.audit import AuditTrail


def test_demo_scenario_passes_after_one_remediation(run_scenario) -> None:
    run = run_scenario(load_scenario(None))
    assert run.report.verdict == "PASS", run.report.reason
    tasks = run.state["tasks"]
    assert tasks["T2.r1"].retry_for == "T2"
    [blocker] = run.blockers()
    assert blocker.task_id == "T2" and blocker.kind == "review" and blocker.resolved_by == "T2.r1"
    assert "len(words)" in (run.workspace / "textkit/stats.py").read_text()
    command = next(c for c in run.report.checklist if c.name == "verification command")
    assert command.status == "PASS" and "6 passed" in command.evidence


def test_developer_creates_a_file_and_the_auditor_reads_it(run_scenario) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "hello", "deliverables": ["hello.txt"]})]},
        developer={"T1": [turn("", write("hello.txt", "hi\n")), turn("done")]},
        auditor={"T1": [turn("", ("read_file", {"path": "hello.txt"})), turn("Looks right.")]},
    )
    run = run_scenario(scn)
    assert run.report.verdict == "PASS"
    trail = AuditTrail(run.run_dir / "events.jsonl", "x")
    [read] = trail.events(op="read", path="hello.txt")
    assert read.role == "auditor" and read.task_id == "T1" and read.ok
    assert run.state["tasks"]["T1"].audit == "passed"


def test_parallel_developers_lose_no_update_in_the_merge(run_scenario) -> None:
    count = 6
    tasks = [{"id": f"T{i}", "title": f"file {i}", "deliverables": [f"f{i}.txt"]} for i in range(count)]
    developer = {
        f"T{i}": [
            turn(
                "",
                write(f"f{i}.txt", f"content {i}\n"),
                ("raise_callback", {"severity": "info", "message": f"note from T{i}"}),
            ),
            turn("done"),
        ]
        for i in range(count)
    }
    # each model call waits 0.2 s, so a wave whose tasks truly run at once starts them all before any ends
    scn = scenario(manager={"plan": [plan_turn(*tasks)]}, developer=developer, latency_s=0.2)
    run = run_scenario(scn, max_concurrency=count)
    assert run.report.verdict == "PASS"
    assert sorted(run.state["files_created"]) == sorted(f"f{i}.txt" for i in range(count))
    notes = {cb.message for cb in run.state["callbacks"] if cb.severity == "info"}
    assert notes == {f"note from T{i}" for i in range(count)}
    assert {t.status for t in run.state["tasks"].values()} == {"done"}
    starts = [e for e in AuditTrail(run.run_dir / "events.jsonl", "x") if e.op == "task_start"]
    ends = [e for e in AuditTrail(run.run_dir / "events.jsonl", "x") if e.op == "task_end"]
    assert max(e.time for e in starts) < min(e.time for e in ends), "the tasks did not run in one parallel wave"


def test_max_concurrency_one_runs_tasks_one_at_a_time(run_scenario) -> None:
    tasks = [{"id": f"T{i}", "title": f"file {i}", "deliverables": [f"f{i}.txt"]} for i in range(3)]
    developer = {f"T{i}": [turn("", write(f"f{i}.txt", "x")), turn("done")] for i in range(3)}
    run = run_scenario(scenario(manager={"plan": [plan_turn(*tasks)]}, developer=developer), max_concurrency=1)
    events = [
        e
        for e in AuditTrail(run.run_dir / "events.jsonl", "x")
        if e.op in ("task_start", "task_end", "audit_start", "audit_end")
    ]
    running = 0
    for event in events:
        running += 1 if event.op.endswith("start") else -1
        assert running <= 1
    assert run.report.verdict == "PASS"


def test_files_persist_through_audit_and_final_verification_finds_every_deliverable(run_scenario) -> None:
    run = run_scenario(load_scenario(None))
    report = json.loads((run.run_dir / "report.json").read_text())
    assert report["verdict"] == "PASS"
    for entry in report["files"]:
        data = (run.workspace / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and entry["exists"]
    declared = {p for t in report["tasks"] for p in t["deliverables"]}
    assert declared <= {f["path"] for f in report["files"]}
    assert report["metrics"]["deliverables_created_pct"] == 100.0
    assert report["metrics"]["final_verification_ran"] is True


def test_callbacks_are_collected_and_reported(run_scenario) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "a", "deliverables": ["a.txt"]})]},
        developer={
            "T1": [
                turn("", write("a.txt", "a"), ("raise_callback", {"severity": "warning", "message": "a.txt is tiny"})),
                turn("done"),
            ]
        },
    )
    run = run_scenario(scn)
    report = json.loads((run.run_dir / "report.json").read_text())
    assert [c["message"] for c in report["callbacks"]] == ["a.txt is tiny"]
    assert report["metrics"]["callbacks_by_severity"] == {"info": 0, "warning": 1, "blocker": 0}


def test_full_depth_review_reads_the_work_before_its_verdict(run_scenario) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "a", "deliverables": ["a.txt"]})]},
        developer={"T1": [turn("", write("a.txt", "alpha\n")), turn("done")]},
        auditor={
            "final": [
                turn("", ("read_file", {"path": "a.txt"})),
                turn(
                    "",
                    (
                        "submit_review",
                        {
                            "verdict": "FAIL",
                            "summary": "a.txt is wrong",
                            "findings": [{"task_id": "T1", "message": "a.txt: not beta"}],
                        },
                    ),
                ),
            ],
            "*": [turn("fine")],
        },
    )
    run = run_scenario(scn, verify_depth="full", max_rounds=1)
    reads = AuditTrail(run.run_dir / "events.jsonl", "x").events(op="read", task_id="final")
    assert reads and {e.path for e in reads} == {"a.txt"}
    review = next(c for c in run.report.checklist if c.name == "model review")
    assert review.status == "FAIL" and review.evidence == "a.txt is wrong"
    assert any(b.message == "a.txt: not beta" and b.task_id == "T1" for b in run.blockers())
