"""Commands run to completion or to their timeout, leave no processes behind, and never see secrets."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from state.errors import ToolInputError
from tools.commands import ResourceLimits, child_environment, is_secret_name, run_command


def test_output_and_returncode(tmp_path: Path) -> None:
    result = run_command("echo out; echo err >&2; echo again", tmp_path, timeout=10)
    assert result.returncode == 0
    assert not result.timed_out
    assert result.output == "out\nerr\nagain\n"
    assert (result.output_chars, result.elided_chars, result.full_output_path) == (14, 0, None)
    assert result.command == "echo out; echo err >&2; echo again"
    assert result.duration_s >= 0


def test_failing_command_is_data(tmp_path: Path) -> None:
    result = run_command("echo broken >&2; exit 7", tmp_path, timeout=10)
    assert result.returncode == 7
    assert result.output == "broken\n"
    missing = run_command("no-such-program-xyz", tmp_path, timeout=10)
    assert missing.returncode == 127
    assert "not found" in missing.output


def test_closing_stdout_early_still_waits_for_exit(tmp_path: Path) -> None:
    result = run_command("echo before; exec >/dev/null 2>&1; sleep 0.3; exit 3", tmp_path, timeout=10)
    assert (result.returncode, result.timed_out, result.output) == (3, False, "before\n")
    slow = run_command("exec >/dev/null 2>&1; sleep 300", tmp_path, timeout=0.3)
    assert slow.timed_out
    assert slow.returncode is None


def test_runs_in_cwd_with_stdin_closed(tmp_path: Path) -> None:
    result = run_command("pwd; cat; echo done", tmp_path, timeout=10)
    assert result.output == f"{tmp_path}\ndone\n"


@pytest.mark.parametrize("command", ["", "   ", "\n"])
def test_empty_command_is_refused(tmp_path: Path, command: str) -> None:
    with pytest.raises(ToolInputError, match="empty"):
        run_command(command, tmp_path)


def _survived(marker: Path, within: float = 2.5) -> bool:
    """Whether a background process left behind by a command lived to write ``marker`` (after 1.5 s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if marker.exists():
            return True
        time.sleep(0.05)
    return marker.exists()


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_command("(sleep 1.5; touch survived) & echo started; sleep 300", tmp_path, timeout=0.5)
    assert time.monotonic() - started < 3
    assert result.timed_out
    assert result.returncode is None
    assert result.output == "started\n"
    assert not _survived(tmp_path / "survived")


def test_background_child_holding_stdout_does_not_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_command("(sleep 1.5; touch survived) & echo main done", tmp_path, timeout=20)
    assert time.monotonic() - started < 3
    assert (result.returncode, result.timed_out, result.output) == (0, False, "main done\n")
    assert not _survived(tmp_path / "survived")  # no orphan left behind


def test_escaped_session_holding_stdout_does_not_hang(tmp_path: Path) -> None:
    """A child that leaves the process group must not block the call (the sandbox also kills it: test_sandbox)."""
    started = time.monotonic()
    result = run_command("setsid sh -c 'exec sleep 3' & sleep 0.2; echo main done", tmp_path, timeout=20)
    assert time.monotonic() - started < 5
    assert result.returncode == 0
    assert result.output == "main done\n"


def test_secrets_never_reach_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-1",
        "ANTHROPIC_API_KEY": "sk-2",
        "AWS_REGION": "eu",
        "FOO_SECRET": "s",
        "MY_TOKEN": "t",
        "GITHUB_PAT_PASSWORD": "p",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTHONPATH", "/should/not/leak")
    allow = ("PATH", "HOME", *secrets)  # even explicitly allowlisted
    result = run_command("env", tmp_path, timeout=10, env_allowlist=allow)
    seen = dict(line.split("=", 1) for line in result.output.splitlines() if "=" in line)
    for name in [*secrets, "PYTHONPATH"]:
        assert name not in seen
    assert seen["PYTHONDONTWRITEBYTECODE"] == "1"
    assert seen["PYTHONIOENCODING"] == "utf-8"
    assert seen["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_secret_name_filter() -> None:
    for name in ["OPENAI_API_KEY", "AWS_ACCESS_KEY_ID", "aws_profile", "X_TOKEN", "DB_PASSWORD", "MY_SECRET_THING"]:
        assert is_secret_name(name)
    for name in ["PATH", "HOME", "LANG", "TZ", "VIRTUAL_ENV"]:
        assert not is_secret_name(name)
    env = child_environment(("PATH", "OPENAI_API_KEY"), {"PATH": "/usr/bin", "OPENAI_API_KEY": "x"})
    assert "OPENAI_API_KEY" not in env
    assert env["PATH"].split(":") == [str(Path(sys.executable).parent), "/usr/bin"]


def test_python_in_child_is_this_interpreter(tmp_path: Path) -> None:
    result = run_command("python -c 'import sys; print(sys.prefix)'", tmp_path, timeout=20)
    assert result.output.strip() == sys.prefix


def test_large_output_is_elided_and_saved_whole(tmp_path: Path) -> None:
    expected = "".join(f"{i}\n" for i in range(1, 100_001))
    logs = tmp_path / "logs"
    result = run_command("seq 1 100000", tmp_path, timeout=10, max_output_chars=1000, output_dir=logs)
    assert result.output_chars == len(expected)
    assert result.elided_chars == len(expected) - 1000
    assert result.output.startswith(expected[:500])
    assert result.output.endswith(expected[-500:])
    assert f"\n... [{len(expected) - 1000} characters elided; full output in {result.full_output_path}] ...\n" in (
        result.output
    )
    assert result.full_output_path is not None
    saved = Path(result.full_output_path)
    assert saved.parent == logs
    assert saved.name.startswith("cmd-")
    assert saved.suffix == ".log"
    assert saved.read_text(encoding="utf-8") == expected


def test_short_output_saved_too(tmp_path: Path) -> None:
    result = run_command("echo hi", tmp_path, timeout=10, output_dir=tmp_path / "logs")
    assert result.output == "hi\n"
    assert result.elided_chars == 0
    assert Path(str(result.full_output_path)).read_text() == "hi\n"


def test_non_utf8_output_is_replaced(tmp_path: Path) -> None:
    result = run_command(r"printf 'ok\377\376end\n'", tmp_path, timeout=10)
    assert result.output == "ok\ufffd\ufffdend\n"


def test_multibyte_characters_split_across_reads_survive(tmp_path: Path) -> None:
    result = run_command("python -c \"print('\u00e9' * 100000)\"", tmp_path, timeout=20, max_output_chars=10**6)
    assert result.output == "\u00e9" * 100000 + "\n"


def test_cpu_limit_stops_a_busy_loop(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_command("while :; do :; done", tmp_path, timeout=20, limits=ResourceLimits(cpu_seconds=1))
    assert time.monotonic() - started < 8
    assert not result.timed_out
    # killed by SIGXCPU: a negative status outside the sandbox, 128 + N from the sandbox's shell (as in any shell)
    assert result.returncode == (128 + signal.SIGXCPU if result.sandboxed else -signal.SIGXCPU)


def test_file_size_limit(tmp_path: Path) -> None:
    result = run_command(
        "head -c 100000 /dev/zero > big.bin", tmp_path, timeout=10, limits=ResourceLimits(file_size_bytes=4096)
    )
    assert result.returncode != 0
    assert (tmp_path / "big.bin").stat().st_size <= 4096


def test_limits_can_be_disabled(tmp_path: Path) -> None:
    result = run_command("echo plain", tmp_path, timeout=10, limits=None)
    assert result.output == "plain\n"
