"""The team graph with the real OpenAI client, over HTTP, against a local fake server.

Everything between the graph and the wire is real: ``langchain_openai.ChatOpenAI``, the ``openai`` SDK
with its retries and timeouts, JSON and server-sent events. Only the server is ours (tests/fake_openai.py):
it plays buildcrew scenarios and injects the faults a real provider produces.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from conftest import Run, plan_turn, scenario, turn, write
from fake_openai import (
    Call,
    FakeOpenAI,
    Reply,
    ScenarioAnswerer,
    bad_arguments,
    conversation_problem,
    hang,
    invalid_api_key,
    rate_limited,
    request_for,
    server_error,
)
from graph.builder import build_graph
from graph.context import RunContext
from graph.scripted import Scenario, load_scenario
from tools.audit import TOOL_EXECUTION_ERROR, AuditTrail

TWO_TASKS = {
    "plan": [
        plan_turn(
            {"id": "A", "title": "file a", "deliverables": ["a.txt"]},
            {"id": "B", "title": "file b", "deliverables": ["pkg/b.txt"]},
        )
    ]
}
TWO_DEVELOPERS = {
    "A": [turn("", write("a.txt", "alpha\n")), turn("A done")],
    "B": [turn("", write("pkg/b.txt", "beta\n")), turn("B done")],
}
BAD_JSON = '{"path": "a.txt" "content": "alpha"}'  # a missing comma: no parser can repair it


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def chat(server: FakeOpenAI, *, streaming: bool = False, max_retries: int = 0, timeout: float = 10.0) -> ChatOpenAI:
    extra = {"streaming": True, "stream_usage": True} if streaming else {}
    return ChatOpenAI(
        model="fake-model",
        base_url=server.base_url,
        api_key="test-key",
        max_retries=max_retries,
        timeout=timeout,
        **extra,
    )


def play(
    server: FakeOpenAI,
    scn: Scenario,
    tmp_path: Path,
    *,
    name: str = "run",
    streaming: bool = False,
    max_retries: int = 0,
    timeout: float = 10.0,
    **settings,
) -> Run:
    """Run the real graph with ChatOpenAI talking to the fake server, which plays ``scn``."""
    server.answerer = ScenarioAnswerer(scn)
    graph = build_graph(chat(server, streaming=streaming, max_retries=max_retries, timeout=timeout))
    run_dir = tmp_path / name
    config = {"configurable": {"thread_id": name}, "recursion_limit": 500}
    state = graph.invoke({"goal": scn.goal}, config, context=RunContext(run_dir=str(run_dir), **settings))
    return Run(state, run_dir, graph, config)


def model_errors(run: Run, task_id: str) -> list:
    return [e for e in run.state.get("errors") or [] if e.tool == "model" and e.task_id == task_id]


def workspace_files(workspace: Path) -> dict[str, str]:
    """Every file (path -> sha256), bytecode caches left out."""
    return {
        p.relative_to(workspace).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(workspace.rglob("*"))
        if p.is_file() and not {"__pycache__", ".pytest_cache"} & set(p.relative_to(workspace).parts)
    }


# -- the protocol ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
def test_tool_calls_over_the_wire_run_to_pass(server: FakeOpenAI, tmp_path: Path, streaming: bool) -> None:
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, streaming=streaming)
    assert run.report.verdict == "PASS", run.report.reason
    assert (run.workspace / "a.txt").read_text() == "alpha\n"
    assert (run.workspace / "pkg/b.txt").read_text() == "beta\n"
    calls = server.calls
    # plan, two developer turns per task, two auditor turns (list the files, then answer) per task
    assert sorted((c.role, c.key, c.turn) for c in calls) == sorted(
        [("manager", "plan", 1)]
        + [("developer", t, n) for t in "AB" for n in (1, 2)]
        + [("auditor", t, n) for t in "AB" for n in (1, 2)]
    )
    assert all(c.outcome == "answered" and c.stream is streaming for c in calls)
    if streaming:
        assert all(c.body.get("stream_options") == {"include_usage": True} for c in calls)
    metrics = run.report.metrics
    assert metrics["model_calls"] == len(calls)
    assert metrics["input_tokens"] > 0 and metrics["input_tokens"] == server.usage_total("prompt_tokens")
    assert metrics["output_tokens"] == server.usage_total("completion_tokens")
    ids = [i for c in calls for i in c.tool_call_ids]
    assert len(ids) == len(set(ids)), "tool call ids are unique"


def test_the_stream_is_openai_shaped(server: FakeOpenAI) -> None:
    """Server-level check of the SSE form the client parsed above: split tool-call deltas, usage, [DONE]."""
    server.answerer = lambda call: Reply.calling("write_file", {"path": "x", "content": "y"})
    body = {
        "model": "fake-model",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = [line for line in response.read().decode().split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    pieces = [d["tool_calls"][0] for d in deltas if d.get("tool_calls")]
    assert len(pieces) >= 3 and pieces[0]["id"].startswith("call_") and all(p["index"] == 0 for p in pieces)
    assert json.loads("".join(p["function"]["arguments"] for p in pieces)) == {"path": "x", "content": "y"}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_the_server_refuses_tool_calls_left_unanswered() -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "user", "content": "y"},
        ],
    }
    assert "call_1" in conversation_problem(body)
    body["messages"][2] = {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
    assert conversation_problem(body) is None


# -- provider faults ------------------------------------------------------------------------------------


def test_a_rate_limit_is_retried_after_the_time_the_server_asks(server: FakeOpenAI, tmp_path: Path) -> None:
    server.add_fault(rate_limited(retry_after=1, when=request_for("developer", "A", 1)))
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, max_retries=2)
    assert run.report.verdict == "PASS", run.report.reason
    first, second = server.calls_for("developer", "A", 1)
    assert (first.outcome, second.outcome) == ("error 429", "answered")
    assert second.received_at - first.received_at >= 0.95, "the client honoured Retry-After: 1"
    assert not run.state.get("errors")


def test_a_server_error_is_retried_by_the_client(server: FakeOpenAI, tmp_path: Path) -> None:
    server.add_fault(server_error(when=request_for("developer", "B", 2)))
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, max_retries=2)
    assert run.report.verdict == "PASS", run.report.reason
    assert [c.outcome for c in server.calls_for("developer", "B", 2)] == ["error 500", "answered"]
    assert len(server.calls) == 10, "the 9 calls of the run, one of them made twice"


def test_a_bad_api_key_fails_its_task_at_once_and_the_run_reports_it(server: FakeOpenAI, tmp_path: Path) -> None:
    server.add_fault(invalid_api_key(when=request_for("developer", "A"), times=None))
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, max_retries=3)
    assert [c.outcome for c in server.calls_for("developer", "A")] == ["error 401"], "a 401 is not retried"
    tasks = run.state["tasks"]
    assert tasks["A"].status == "failed" and "AuthenticationError" in tasks["A"].error
    assert tasks["B"].status == "done" and (run.workspace / "pkg/b.txt").read_text() == "beta\n"
    [error] = model_errors(run, "A")
    assert error.error_type.endswith("AuthenticationError")  # openai's, as re-raised by langchain-openai
    assert "Incorrect API key provided" in error.message and "401" in error.message
    assert "Traceback" in error.traceback and error.role == "developer"
    assert run.report.verdict == "FAIL"
    assert any(b.kind == "model_error" and b.task_id == "A" for b in run.report.unresolved_blockers)


def in_chain(root: str) -> Callable[[Call], bool]:
    """Requests of the developer on task ``root`` or any of its remediations (``root.r<n>``)."""
    return lambda call: call.role == "developer" and (call.key or "").split(".r")[0] == root


def test_a_bad_api_key_is_not_tried_again_as_a_remediation_task(server: FakeOpenAI, tmp_path: Path) -> None:
    """The same as above, with the key bad for A's remediations too: the key must be sent once, not 3 times."""
    server.add_fault(invalid_api_key(when=in_chain("A"), times=None))
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, max_retries=2)
    assert run.report.verdict == "FAIL"
    chain_a = [(c.key, c.outcome) for c in server.calls if in_chain("A")(c)]
    assert chain_a == [("A", "error 401")], f"requests for task A and its remediations: {chain_a}"
    assert sorted(run.state["tasks"]) == ["A", "B"]


@pytest.mark.parametrize(("source", "streaming"), [("fault", False), ("fault", True), ("scenario", False)])
def test_tool_arguments_that_are_not_json_go_back_to_the_model(
    server: FakeOpenAI, tmp_path: Path, source: str, streaming: bool
) -> None:
    if source == "fault":
        server.add_fault(bad_arguments("write_file", BAD_JSON, when=request_for("developer", "A", 1)))
        first = turn("(never sent: the fault answers this turn)")
    else:
        first = {"content": "", "raw_tool_calls": [{"name": "write_file", "arguments": BAD_JSON}]}
    developer = {**TWO_DEVELOPERS, "A": [first, turn("", write("a.txt", "alpha\n")), turn("A done")]}
    run = play(server, scenario(manager=TWO_TASKS, developer=developer), tmp_path, streaming=streaming)
    [bad] = server.calls_for("developer", "A", 1)
    [bad_id] = bad.tool_call_ids
    [retry] = server.calls_for("developer", "A", 2)
    [answer] = [m for m in retry.messages if m.get("role") == "tool"]
    assert answer["tool_call_id"] == bad_id and "could not be parsed" in answer["content"]
    [event] = AuditTrail(run.run_dir / "events.jsonl", "x").events(op=TOOL_EXECUTION_ERROR)
    assert event.task_id == "A" and event.detail["tool_call_id"] == bad_id and not event.ok
    assert run.report.verdict == "PASS", run.report.reason
    assert (run.workspace / "a.txt").read_text() == "alpha\n"


def test_a_response_that_never_comes_times_out_boundedly(tmp_path: Path) -> None:
    started = time.monotonic()
    with FakeOpenAI(faults=[hang(5, when=request_for("developer", "A"), times=None)]) as server:
        run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, timeout=1, max_retries=1)
    elapsed = time.monotonic() - started
    hung = server.calls_for("developer", "A")
    assert [c.outcome for c in hung] == ["aborted", "aborted"], "max_retries=1: exactly two requests, unanswered"
    assert run.state["tasks"]["A"].status == "failed" and run.state["tasks"]["B"].status == "done"
    [error] = model_errors(run, "A")
    assert "Timeout" in error.error_type and "timed out" in error.message.lower()
    assert run.report.verdict == "FAIL"
    assert elapsed < 5, f"the run and the server's stop took {elapsed:.1f}s; the hangs alone were 10s"


# -- model behaviour ------------------------------------------------------------------------------------


def test_a_model_that_never_calls_a_tool_ends_in_an_honest_fail(server: FakeOpenAI, tmp_path: Path) -> None:
    plan = {"plan": [plan_turn({"id": "T1", "title": "module", "deliverables": ["mod.py"]})]}
    run = play(server, scenario(manager=plan, developer={"*": [turn("All done!")]}), tmp_path, max_attempts=3)
    tasks = run.state["tasks"]
    assert sorted(tasks) == ["T1", "T1.r1", "T1.r2"]
    messages = [b.message for b in run.blockers()]
    assert messages == [f"File mod.py was not created by task {t}" for t in ("T1", "T1.r1", "T1.r2")]
    assert run.report.verdict == "FAIL"
    unresolved = run.report.unresolved_blockers
    assert "File mod.py was not created by task T1.r2" in {b.message for b in unresolved}
    assert unresolved and all(b.kind == "missing_file" for b in unresolved)
    assert [(c.role, c.key) for c in server.calls] == [("manager", "plan")] + [
        ("developer", t) for t in ("T1", "T1.r1", "T1.r2")
    ]
    assert all(not c.tool_call_ids for c in server.calls[1:])


def test_the_loop_guard_stops_a_model_repeating_a_call_over_the_wire(server: FakeOpenAI, tmp_path: Path) -> None:
    plan = {"plan": [plan_turn({"id": "T1", "title": "module", "deliverables": ["mod.py"]})]}
    same = turn("", ("read_file", {"path": "spec.md"}))
    developers = {"T1": [same] * 10, "T1.r1": [turn("", write("mod.py", "X = 1\n")), turn("done")]}
    run = play(server, scenario(manager=plan, developer=developers), tmp_path, loop_guard_repeats=3)
    [loop] = [b for b in run.blockers() if b.kind == "loop_detected"]
    assert "repeated the same tool call 3 times" in loop.message and loop.resolved_by == "T1.r1"
    assert len(server.calls_for("developer", "T1")) == 3, "the agent was stopped, not left to spend its turns"
    assert run.report.verdict == "PASS"


def test_an_invalid_plan_is_repaired_over_the_wire(server: FakeOpenAI, tmp_path: Path) -> None:
    cyclic = plan_turn({"id": "A", "title": "a", "depends_on": ["B"]}, {"id": "B", "title": "b", "depends_on": ["A"]})
    scn = scenario(manager={"plan": [cyclic, TWO_TASKS["plan"][0]]}, developer=TWO_DEVELOPERS)
    run = play(server, scn, tmp_path)
    assert run.report.verdict == "PASS", run.report.reason
    first, repair = server.calls_for("manager", "plan")
    [feedback] = [m for m in repair.messages if m.get("role") == "tool"]
    assert feedback["tool_call_id"] == first.tool_call_ids[0] and "dependency cycle" in feedback["content"]


@pytest.mark.parametrize("first", ["two submit_plan calls", "another tool"])
def test_a_plan_repair_is_a_conversation_openai_accepts(server: FakeOpenAI, tmp_path: Path, first: str) -> None:
    cyclic = plan_turn({"id": "A", "title": "a", "depends_on": ["B"]}, {"id": "B", "title": "b", "depends_on": ["A"]})
    if first == "two submit_plan calls":
        answer = {"content": "", "tool_calls": cyclic["tool_calls"] * 2}
    else:
        answer = turn("Let me look around first.", ("list_files", {}))
    run = play(server, scenario(manager={"plan": [answer, TWO_TASKS["plan"][0]]}, developer=TWO_DEVELOPERS), tmp_path)
    [repair] = server.calls_for("manager", "plan", 2)
    assert repair.outcome == "answered", repair.problem
    assert run.report.verdict == "PASS", run.report.reason


# -- bounds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["plan", "task"])
def test_requests_are_bounded_by_the_client_retries_alone(server: FakeOpenAI, tmp_path: Path, where: str) -> None:
    server.add_fault(
        server_error(when=request_for("manager", "plan") if where == "plan" else in_chain("A"), times=None)
    )
    run = play(server, scenario(manager=TWO_TASKS, developer=TWO_DEVELOPERS), tmp_path, max_retries=2)
    failing = [c for c in server.calls if c.outcome == "error 500"]
    assert len({(c.role, c.key, c.turn) for c in failing}) == 1, "one model call failed"
    assert len(failing) == 3, "max_retries=2: one model call is exactly three requests"
    # the plan fails (3 requests) and nothing else runs; or: plan 1 + A 3 + B 2 + B's review 1
    assert len(server.calls) == (3 if where == "plan" else 8)
    assert run.report.verdict == "FAIL"
    if where == "plan":
        assert run.state["plan_status"] == "invalid"
        [error] = [e for e in run.state["errors"] if e.tool == "model"]
        assert error.task_id == "plan" and "500" in error.message
    else:
        assert run.state["tasks"]["A"].status == "failed" and "A.r1" not in run.state["tasks"]
        [error] = model_errors(run, "A")
        assert "500" in error.message


# -- the demo -------------------------------------------------------------------------------------------


def test_the_demo_played_over_the_wire_delivers_what_the_scripted_demo_does(server: FakeOpenAI, tmp_path: Path) -> None:
    demo = load_scenario(None)
    scripted_dir = tmp_path / "scripted"
    scripted = build_graph().invoke(
        {"goal": demo.goal},
        {"configurable": {"thread_id": "s"}, "recursion_limit": 500},
        context=RunContext(run_dir=str(scripted_dir)),
    )
    assert scripted["report"].verdict == "PASS", scripted["report"].reason

    run = play(server, demo, tmp_path, name="wire", verify_command=demo.verify_command)
    assert run.report.verdict == "PASS", run.report.reason
    assert workspace_files(run.workspace) == workspace_files(scripted_dir / "workspace")
    assert {p: r.sha256 for p, r in run.state["files_created"].items()} == {
        p: r.sha256 for p, r in scripted["files_created"].items()
    }
    assert sorted(run.state["tasks"]) == sorted(scripted["tasks"]) == ["T1", "T2", "T2.r1"]
    assert [c.name for c in run.report.checklist] == [c.name for c in scripted["report"].checklist]
    command = next(c for c in run.report.checklist if c.name == "verification command")
    assert command.status == "PASS" and "6 passed" in command.evidence
    assert [c.outcome for c in server.calls] == ["answered"] * len(server.calls)
    assert len(server.calls_for("manager", "remediate:T2")) == 1
    assert run.report.metrics["model_calls"] == len(server.calls)
