"""Shared fixtures: a guard against real network calls, and a way to run the graph on a scripted scenario."""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.builder import build_graph
from graph.context import RunContext
from graph.scripted import Scenario, ScriptedChatModel

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(f"tests must not touch the network: connection to {address!r} refused")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection outside the loopback interface fails the test (model calls included)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


def turn(content: str = "", *calls: tuple[str, dict]) -> dict:
    """One scripted answer: text and tool calls given as (name, args) pairs."""
    return {"content": content, "tool_calls": [{"name": n, "args": a} for n, a in calls]}


def plan_turn(*tasks: dict) -> dict:
    full = [{"role": "developer", "instructions": t.get("title", ""), "depends_on": [], **t} for t in tasks]
    return turn("plan", ("submit_plan", {"tasks": full}))


def write(path: str, content: str) -> tuple[str, dict]:
    return ("write_file", {"path": path, "content": content})


def scenario(**parts: Any) -> Scenario:
    base = {"name": "test", "goal": "test goal", "auditor": {"*": [turn("No defects.")]}}
    return Scenario.model_validate({**base, **parts})


class Run:
    """A finished run: its final state and its folder."""

    def __init__(self, state: dict, run_dir: Path, graph: Any, config: dict) -> None:
        self.state, self.run_dir, self.graph, self.config = state, run_dir, graph, config

    @property
    def report(self):  # noqa: ANN201
        return self.state["report"]

    @property
    def workspace(self) -> Path:
        return self.run_dir / "workspace"

    def blockers(self) -> list:
        return [cb for cb in self.state.get("callbacks", []) if cb.severity == "blocker"]


@pytest.fixture
def run_scenario(tmp_path: Path):
    """Run the graph on a scenario with a real SQLite checkpointer; returns a Run."""
    connections: list[sqlite3.Connection] = []

    def _run(scn: Scenario, *, goal: str = "test goal", model: Any = None, **settings: Any) -> Run:
        run_dir = tmp_path / f"run{len(connections)}"
        run_dir.mkdir()
        conn = sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False)
        connections.append(conn)
        graph = build_graph(model or ScriptedChatModel(scenario=scn), checkpointer=SqliteSaver(conn))
        config = {"configurable": {"thread_id": run_dir.name}, "recursion_limit": 500}
        state = graph.invoke({"goal": goal}, config, context=RunContext(run_dir=str(run_dir), **settings))
        return Run(state, run_dir, graph, config)

    yield _run
    for conn in connections:
        conn.close()
