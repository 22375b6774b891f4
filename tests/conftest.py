"""Shared fixtures: a guard against real network calls, and a way to run the graph on a scripted scenario.

``run_scenario`` runs every graph test twice: on SQLite and on PostgreSQL (``BUILDCREW_TEST_POSTGRES_URL``,
default ``postgresql://postgres@127.0.0.1:5432/test``; skipped only when no server answers there).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.builder import build_graph
from graph.checkpointers import open_postgres, redact
from graph.context import RunContext
from graph.scripted import Scenario, ScriptedChatModel

_real_connect = socket.socket.connect
POSTGRES_URL = os.environ.get("BUILDCREW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


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
    base = {"name": "test", "goal": "test goal", "auditor": {"*": [turn("", ("list_files", {})), turn("No defects.")]}}
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


def postgres_unreachable(url: str) -> str | None:
    """Why no PostgreSQL server answers at ``url`` (nothing listens there), or None when one does."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    host, port = str(info.get("host") or "localhost"), int(info.get("port") or 5432)
    if host.startswith("/"):
        socket_path = os.path.join(host, f".s.PGSQL.{port}")
        return None if os.path.exists(socket_path) else f"no PostgreSQL server socket at {socket_path}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(3)
            _real_connect(sock, address)
    except OSError as exc:
        return f"no PostgreSQL server answers at {redact(url)} ({exc}); set BUILDCREW_TEST_POSTGRES_URL"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's URL; the test is skipped when no server answers there."""
    reason = postgres_unreachable(POSTGRES_URL)
    if reason:
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_saver(postgres_url: str) -> Iterator[Any]:
    """One PostgresSaver for the session; every run on it has its own thread id."""
    with open_postgres(postgres_url) as saver:
        yield saver


@pytest.fixture(params=["sqlite", "postgres"])
def run_scenario(tmp_path: Path, request: pytest.FixtureRequest):
    """Run the graph on a scenario with a real checkpointer (SQLite, then PostgreSQL); returns a Run."""
    connections: list[sqlite3.Connection] = []
    threads: list[str] = []
    postgres = request.getfixturevalue("postgres_saver") if request.param == "postgres" else None

    def _run(scn: Scenario, *, goal: str = "test goal", model: Any = None, **settings: Any) -> Run:
        run_dir = tmp_path / f"run{len(connections) + len(threads)}"
        run_dir.mkdir()
        thread_id = f"{run_dir.name}-{uuid.uuid4().hex[:12]}"  # unique: budget meters are kept per run id
        if postgres is None:
            conn = sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False)
            connections.append(conn)
            saver = SqliteSaver(conn)
        else:
            saver = postgres
            threads.append(thread_id)
        graph = build_graph(model or ScriptedChatModel(scenario=scn), checkpointer=saver)
        config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 500}
        context = RunContext(run_dir=str(run_dir), **{"run_id": thread_id, **settings})
        state = graph.invoke({"goal": goal}, config, context=context)
        return Run(state, run_dir, graph, config)

    yield _run
    for conn in connections:
        conn.close()
    for thread_id in threads:
        postgres.delete_thread(thread_id)  # type: ignore[union-attr]
