"""The Studio entry point: graph/studio.py's model choice, and the team graph served by ``langgraph dev``.

The end-to-end test starts the real dev server on a free port, in a temporary copy of the project (so the
server's state folder and the runs/<thread id> run folders land there), drives it with the LangGraph SDK and
always kills the server's whole process group at the end. It is fully offline: the scripted model plays the
demo, CLI analytics, LangSmith tracing and the server's version check are off.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.openai_models import DEFAULT_MODEL
from graph.studio import make_graph, models_from_env
from state.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 90.0
RUN_TIMEOUT_S = 180.0
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",  # langgraph-cli posts usage analytics unless this is exactly "1"
    "LANGGRAPH_NO_VERSION_CHECK": "true",  # the API server asks PyPI for newer versions unless this is set
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
}
# Anything that would make graph/studio.py pick a real model, or send a key anywhere.
MODEL_ENV = ("OPENAI_API_KEY", "BUILDCREW_MODEL", "BUILDCREW_BASE_URL", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


# -- model choice (fast) --------------------------------------------------------------------------------


@pytest.fixture
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_model_configured_means_scripted(no_model_env):
    assert models_from_env() is None


def test_model_and_base_url_configure_chat_openai(no_model_env):
    no_model_env.setenv("BUILDCREW_MODEL", "qwen2.5-coder")
    no_model_env.setenv("BUILDCREW_BASE_URL", "http://127.0.0.1:9/v1")
    models = models_from_env()
    for model in (models.manager, models.developer, models.auditor):
        assert type(model).__name__ == "ChatOpenAI"
        assert model.model_name == "qwen2.5-coder"
        assert model.openai_api_base == "http://127.0.0.1:9/v1"


def test_api_key_alone_uses_the_default_model(no_model_env):
    no_model_env.setenv("OPENAI_API_KEY", "sk-test")
    assert models_from_env().developer.model_name == DEFAULT_MODEL


@pytest.mark.parametrize(
    ("name", "value", "needs"),
    [
        ("BUILDCREW_MODEL", "gpt-4o-mini", "OPENAI_API_KEY"),
        ("BUILDCREW_BASE_URL", "http://127.0.0.1:9/v1", "BUILDCREW_MODEL"),
    ],
)
def test_incomplete_model_settings_are_a_config_error(no_model_env, name, value, needs):
    no_model_env.setenv(name, value)
    with pytest.raises(ConfigError, match=needs):
        models_from_env()


def test_studio_graph_has_no_checkpointer(no_model_env):
    graph = make_graph()  # langgraph dev refuses a graph that brings its own checkpointer

    assert graph.checkpointer is None
    assert {"plan", "schedule", "develop", "audit", "remediate", "final_verify"} <= set(graph.nodes)


# -- langgraph dev, end to end (slow) -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "runs", ".langgraph_api")
    for name in ("graph", "state", "tools"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("langgraph.json", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's whole process group, then kill it if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stray children of the group, if any
    except ProcessLookupError:
        pass
    proc.wait(timeout=15)


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode} before answering:\n{log.read_text()[-4000:]}")
        try:
            with opener.open(f"{url}/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"langgraph dev did not answer /ok within {STARTUP_TIMEOUT_S:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``langgraph dev`` serving a copy of the project; yields (url, project copy)."""
    project = _copy_project(tmp_path / "project")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in MODEL_ENV}
    env.update(OFFLINE_ENV)
    log = tmp_path / "langgraph-dev.log"
    command = [
        sys.executable,
        "-c",
        "import sys; from langgraph_cli.cli import cli; sys.exit(cli())",
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(proc, url, log)
        yield url, project
    finally:
        _stop(proc)


async def _run_demo(url: str) -> tuple[str, list[str], list[dict], dict]:
    from langgraph_sdk import get_client

    client = get_client(url=url, api_key=None)
    thread = await client.threads.create()
    nodes: list[str] = []
    custom: list[dict] = []
    async for part in client.runs.stream(
        thread["thread_id"], "buildcrew", input={"goal": "Build textkit"}, stream_mode=["updates", "custom"]
    ):
        if part.event == "error":
            pytest.fail(f"the run failed on the server: {part.data}")
        if part.event == "updates" and isinstance(part.data, dict):
            nodes += list(part.data)
        elif part.event == "custom":
            custom.append(part.data)
    state = await client.threads.get_state(thread["thread_id"])
    return thread["thread_id"], nodes, custom, state["values"]


@pytest.mark.slow
def test_langgraph_dev_serves_the_team_graph(dev_server):
    url, project = dev_server
    thread_id, nodes, custom, values = asyncio.run(asyncio.wait_for(_run_demo(url), RUN_TIMEOUT_S))

    assert {"plan", "schedule", "develop", "audit", "remediate", "final_verify"} <= set(nodes), nodes
    assert nodes[0] == "plan"
    assert nodes[-1] == "final_verify"
    events = [event.get("event") for event in custom]
    assert "blocker" in events  # the demo's auditor finds the bug ...
    assert {"event": "remediation", "tasks": ["T2.r1"]} in custom  # ... and the manager orders the fix
    assert custom[-1]["event"] == "verdict"
    assert custom[-1]["verdict"] == "PASS"

    assert values["report"]["verdict"] == "PASS", values["report"]
    assert values["tasks"]["T2.r1"]["retry_for"] == "T2"
    assert all(cb["resolved_by"] for cb in values["callbacks"] if cb["severity"] == "blocker")

    # The run folder is runs/<thread id> under the server's working directory.
    run_dir = project / "runs" / thread_id
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "PASS"
    assert report["run_id"] == thread_id
    assert (run_dir / "workspace" / "textkit" / "stats.py").is_file()
    assert (run_dir / "events.jsonl").is_file()
