"""A recorded run replays offline to the same files and verdict; a replay that runs out stops clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import plan_turn, scenario, turn, write
from graph.cassette import Cassette, RecordingModel, ReplayChatModel
from graph.scripted import ScriptedChatModel, load_scenario
from state.errors import ReplayMismatch


def _files(run) -> dict[str, str]:
    return {path: record.sha256 for path, record in run.state["files_created"].items()}


def test_a_recorded_run_replays_to_the_same_files_and_verdict(run_scenario, tmp_path: Path) -> None:
    demo = load_scenario(None)
    cassette = Cassette(tmp_path / "demo.jsonl")
    recorded = run_scenario(
        demo, model=RecordingModel(ScriptedChatModel(scenario=demo), cassette), verify_command=demo.verify_command
    )
    entries = [json.loads(line) for line in cassette.path.read_text().splitlines()]
    assert len(entries) == recorded.report.metrics["model_calls"]
    assert {"role", "task", "turn", "request", "response", "usage"} <= set(entries[0])
    replayed = run_scenario(demo, model=ReplayChatModel.from_file(cassette.path), verify_command=demo.verify_command)
    assert replayed.report.verdict == recorded.report.verdict == "PASS"
    assert _files(replayed) == _files(recorded)
    assert replayed.report.metrics["input_tokens"] == recorded.report.metrics["input_tokens"]


def test_a_replay_that_runs_out_stops_naming_the_task_and_turn(run_scenario, tmp_path: Path) -> None:
    scn = scenario(
        manager={"plan": [plan_turn({"id": "T1", "title": "t", "deliverables": ["a.txt"]})]},
        developer={"T1": [turn("", write("a.txt", "a")), turn("done")]},
    )
    cassette = Cassette(tmp_path / "short.jsonl")
    run_scenario(scn, model=RecordingModel(ScriptedChatModel(scenario=scn), cassette))
    lines = cassette.path.read_text().splitlines()
    kept = [
        line
        for line in lines
        if not (
            json.loads(line)["task"] == "T1"
            and json.loads(line)["turn"] == 2
            and json.loads(line)["role"] == "developer"
        )
    ]
    cassette.path.write_text("\n".join(kept) + "\n")
    with pytest.raises(ReplayMismatch, match=r"developer task 'T1' turn 2"):
        run_scenario(scn, model=ReplayChatModel.from_file(cassette.path))


def test_a_run_recorded_over_http_replays_offline_identically(run_scenario, tmp_path: Path) -> None:
    from langchain_openai import ChatOpenAI

    from fake_openai import FakeOpenAI, ScenarioAnswerer

    demo = load_scenario(None)
    cassette = Cassette(tmp_path / "wire.jsonl")
    with FakeOpenAI() as server:
        server.answerer = ScenarioAnswerer(demo)
        client = ChatOpenAI(model="fake-model", base_url=server.base_url, api_key="k", max_retries=0, timeout=10)
        recorded = run_scenario(demo, model=RecordingModel(client, cassette), verify_command=demo.verify_command)
        requests = len(server.requests)
    replayed = run_scenario(demo, model=ReplayChatModel.from_file(cassette.path), verify_command=demo.verify_command)
    assert recorded.report.verdict == replayed.report.verdict == "PASS"
    assert _files(replayed) == _files(recorded)
    assert requests == len(cassette.path.read_text().splitlines())
    assert {json.loads(line)["model"] for line in cassette.path.read_text().splitlines()} == {"fake-model"}
