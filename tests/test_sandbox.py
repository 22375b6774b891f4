"""A command cannot reach the parent's secrets, the run folder around the workspace, or outlive its call."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tools import sandbox
from tools.commands import run_command

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="this OS does not allow unshare namespaces")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "run" / "workspace").mkdir(parents=True)
    (tmp_path / "run" / "events.jsonl").write_text("the audit trail\n")
    return tmp_path / "run"


def test_the_parents_environment_is_out_of_reach(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-to-be-seen")
    result = run_command(
        "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo parent=$PPID; env", run_dir / "workspace", hide=run_dir
    )
    assert result.sandboxed and result.returncode == 0
    assert "sk-never-to-be-seen" not in result.output
    assert str(os.getpid()) not in result.output.split("parent=")[1].split()[0]


def test_the_run_folder_around_the_workspace_is_hidden(run_dir: Path) -> None:
    result = run_command(
        "ls -a ..; cat ../events.jsonl; : > ../events.jsonl; echo kept > mine.txt", run_dir / "workspace", hide=run_dir
    )
    listing = result.output.split("cat:")[0].split()
    assert listing == [".", "..", "workspace"] and "the audit trail" not in result.output
    assert (run_dir / "events.jsonl").read_text() == "the audit trail\n"
    assert (run_dir / "workspace" / "mine.txt").read_text() == "kept\n"


def test_a_reviewers_command_cannot_change_the_workspace(run_dir: Path) -> None:
    (run_dir / "workspace" / "app.py").write_text("good\n")
    result = run_command("echo broken > app.py", run_dir / "workspace", hide=run_dir, read_only=True)
    assert result.returncode != 0 and "Read-only" in result.output
    assert (run_dir / "workspace" / "app.py").read_text() == "good\n"


def test_a_daemon_escaping_the_process_group_dies_with_the_command(run_dir: Path) -> None:
    marker = run_dir / "workspace" / "alive"
    result = run_command(
        "setsid sh -c 'sleep 2; echo still here > alive' & sleep 0.2; echo started", run_dir / "workspace", hide=run_dir
    )
    assert "started" in result.output
    time.sleep(2.5)
    assert not marker.exists()


def test_exit_codes_are_the_commands_own(run_dir: Path) -> None:
    for status in (0, 1, 130, 137):
        assert run_command(f"exit {status}", run_dir / "workspace", hide=run_dir).returncode == status


def test_the_sandbox_leaves_nothing_in_tmp_and_ignores_a_tmpdir_inside_the_run(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = set(Path("/tmp").iterdir())
    (run_dir / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(run_dir / "tmp"))
    result = run_command("echo ok", run_dir / "workspace", hide=run_dir)
    assert result.sandboxed and result.returncode == 0 and result.output == "ok\n"
    assert set(Path("/tmp").iterdir()) - before == set()


def test_a_sandbox_that_cannot_be_set_up_runs_the_command_without_it(run_dir: Path) -> None:
    result = run_command("echo ran", run_dir / "workspace", hide=run_dir / "missing-folder")
    assert result.returncode == 0 and result.output == "ran\n" and not result.sandboxed
