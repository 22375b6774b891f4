"""Running an agent's shell command without letting it hang the run, see a secret, or outlive its call.

The command is model output, so it runs in its own session (the whole process group is killed on timeout
and again after it exits, so background children cannot linger or hold the output pipe open), with an
environment built from an allowlist that never passes secret-looking variables, and under resource limits
set by a tiny Python trampoline before ``exec`` (``preexec_fn`` is unsafe when the caller has threads).
A failing command is data, not an exception: the model reads the output and fixes its work.
"""

from __future__ import annotations

import codecs
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict

from state.errors import ToolInputError
from tools import sandbox

DEFAULT_ENV_ALLOWLIST: tuple[str, ...] = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV")
"""Variables a command may inherit. PYTHONPATH is deliberately absent: the workspace is the code under test."""

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION|^AWS_|^OPENAI_|^ANTHROPIC_", re.I)
_DRAIN_GRACE_S = 1.0  # after the group is killed, how long to wait for the pipe to close before giving up

# Runs as the command's parent for a few milliseconds: applies the limits, then becomes /bin/sh.
_TRAMPOLINE = """\
import os, resource, sys
def cap(res, value, hard_extra=0):
    if value < 0:
        return
    try:
        soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
            hard_value = min(value + hard_extra, hard)
        else:
            hard_value = value + hard_extra
        resource.setrlimit(res, (value, hard_value))
    except (ValueError, OSError):
        pass
cap(resource.RLIMIT_CPU, int(sys.argv[1]), 2)
cap(resource.RLIMIT_FSIZE, int(sys.argv[2]))
if hasattr(resource, "RLIMIT_NPROC"):
    cap(resource.RLIMIT_NPROC, int(sys.argv[3]))
os.execv("/bin/sh", ["/bin/sh", "-c", sys.argv[4]])
"""


@dataclass(frozen=True)
class ResourceLimits:
    """Per-process limits for a command; ``None`` leaves that limit as inherited.

    ``max_processes`` counts processes the command may add on top of those its user already runs
    (RLIMIT_NPROC is per user, so an absolute cap would break a busy account); root is exempt anyway.
    """

    cpu_seconds: int | None = 300
    file_size_bytes: int | None = 256 * 1024 * 1024
    max_processes: int | None = 256


DEFAULT_LIMITS = ResourceLimits()


class CommandResult(BaseModel):
    """What a command did: its exit status and its output, shortened in the middle if long."""

    model_config = ConfigDict(frozen=True)

    command: str
    returncode: int | None
    timed_out: bool
    output: str
    output_chars: int
    elided_chars: int
    full_output_path: str | None
    duration_s: float
    sandboxed: bool = False
    """Whether the command ran in namespaces that hide the run folder, the parent process and /proc."""


def child_environment(
    allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment a command sees: allowlisted, secret-free, with this interpreter's venv first on PATH."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in allowlist if name in source and not is_secret_name(name)}
    bin_dir = str(Path(sys.executable).parent) if sys.executable else None
    path = [entry for entry in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if entry]
    if bin_dir:
        path = [bin_dir] + [entry for entry in path if entry != bin_dir]
    env["PATH"] = os.pathsep.join(path)
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    if "LANG" not in env and "LC_ALL" not in env:
        env["LANG"] = "C.UTF-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def is_secret_name(name: str) -> bool:
    """True for variable names that look like credentials; these never reach a command, allowlisted or not."""
    return _SECRET_NAME.search(name) is not None


def _user_task_count() -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) the current user runs; 0 when unknown."""
    uid = os.getuid()
    count = 0
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count


def _argv(command: str, limits: ResourceLimits | None) -> list[str]:
    if limits is None or not sys.executable:
        return ["/bin/sh", "-c", command]
    nproc = -1
    if limits.max_processes is not None:
        nproc = limits.max_processes if os.getuid() == 0 else _user_task_count() + limits.max_processes
    values = [limits.cpu_seconds, limits.file_size_bytes]
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _TRAMPOLINE,
        *(str(-1 if v is None else v) for v in values),
        str(nproc),
        command,
    ]


class _Capture:
    """Keeps the head and tail of a stream of text, counts it all, and optionally saves it all."""

    def __init__(self, max_chars: int, log: IO[str] | None) -> None:
        self.head_limit = max_chars // 2
        self.tail_limit = max_chars - self.head_limit
        self.head = ""
        self.tail = ""
        self.total = 0
        self.log = log
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self.decoder.decode(data, final)
        if not text:
            return
        self.total += len(text)
        if self.log is not None:
            self.log.write(text)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail = (self.tail + text)[-self.tail_limit :] if self.tail_limit else ""

    def render(self, full_output_path: str | None) -> tuple[str, int]:
        elided = self.total - len(self.head) - len(self.tail)
        if elided <= 0:
            return self.head + self.tail, 0
        where = f"full output in {full_output_path}" if full_output_path else "full output not saved"
        return f"{self.head}\n... [{elided} characters elided; {where}] ...\n{self.tail}", elided


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(
    command: str,
    cwd: os.PathLike[str] | str,
    *,
    timeout: float = 60.0,
    max_output_chars: int = 20_000,
    output_dir: os.PathLike[str] | str | None = None,
    env_allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST,
    limits: ResourceLimits | None = DEFAULT_LIMITS,
    hide: os.PathLike[str] | str | None = None,
    read_only: bool = False,
    isolate: bool = True,
) -> CommandResult:
    """Run ``command`` with ``/bin/sh -c`` in ``cwd``; never raises because the command failed.

    ``hide`` names a folder around ``cwd`` (the run folder) that the command must not see; with the sandbox
    available it is replaced by an empty one, with only ``cwd`` mounted back; ``read_only`` mounts ``cwd``
    read-only (a reviewer's commands may test the work, not change it). ``isolate=False`` skips the sandbox;
    a sandbox that cannot be set up here is skipped the same way, and the result says ``sandboxed=False``.
    """
    if not isinstance(command, str) or not command.strip():
        raise ToolInputError("the command is empty; give a shell command such as 'python -m pytest -q'")
    if "\x00" in command:
        raise ToolInputError("the command contains a NUL byte")
    if not timeout > 0:
        raise ToolInputError(f"timeout must be positive, got {timeout}")
    if not Path(cwd).is_dir():
        raise ToolInputError(f"working directory {str(cwd)!r} does not exist")

    log_path: Path | None = None
    log: IO[str] | None = None
    if output_dir is not None:
        log_dir = Path(output_dir).absolute()
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        log_path = log_dir / f"cmd-{stamp}-{uuid.uuid4().hex[:8]}.log"
        log = open(log_path, "w", encoding="utf-8", newline="")  # closed in the finally below
    capture = _Capture(max(0, max_output_chars), log)
    argv = _argv(command, limits)
    sandboxed = (
        sandbox.wrap(argv, Path(cwd).absolute(), Path(hide).absolute() if hide else None, read_only)
        if isolate
        else None
    )
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            sandboxed or argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=child_environment(env_allowlist),
            close_fds=True,
        )
        try:
            timed_out = _pump(proc, capture, started + timeout)
        finally:
            _kill_group(proc.pid)  # background children die with the command, or when we are interrupted
            if proc.stdout is not None:
                proc.stdout.close()
            proc.wait()
        capture.feed(b"", final=True)
    finally:
        if log is not None:
            log.close()
    output, elided = capture.render(str(log_path) if log_path else None)
    returncode = proc.returncode
    if sandboxed is not None and returncode == sandbox.SETUP_FAILED_STATUS and sandbox.SETUP_FAILED in capture.head:
        return run_command(
            command,
            cwd,
            timeout=timeout,
            max_output_chars=max_output_chars,
            output_dir=output_dir,
            env_allowlist=env_allowlist,
            limits=limits,
            isolate=False,
        )
    return CommandResult(
        command=command,
        returncode=None if timed_out else returncode,
        timed_out=timed_out,
        output=output,
        output_chars=capture.total,
        elided_chars=elided,
        full_output_path=str(log_path) if log_path else None,
        duration_s=round(time.monotonic() - started, 3),
        sandboxed=sandboxed is not None,
    )


def _exited(pid: int) -> bool:
    """True once the child has exited, without reaping it: while it is an unreaped zombie its pid, and so its
    process group id, cannot be reused, which keeps the group kill that follows from hitting a stranger."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped elsewhere
        return True


def _pump(proc: subprocess.Popen[bytes], capture: _Capture, deadline: float) -> bool:
    """Collect output until the shell exits or the deadline passes; then kill its group and drain. True on timeout.

    The caller kills the group again and reaps the shell, however this returns.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        pipe_open = True
        timed_out = False
        while not _exited(proc.pid):
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if pipe_open:
                pipe_open = _read_available(selector, fd, capture, min(0.05, deadline - now))
            else:  # the pipe closed (e.g. 'exec >/dev/null') but the shell is still running
                time.sleep(min(0.02, deadline - now))
        _kill_group(proc.pid)  # background children must not outlive the call or hold the pipe
        drain_until = time.monotonic() + _DRAIN_GRACE_S
        while pipe_open and (left := drain_until - time.monotonic()) > 0:
            pipe_open = _read_available(selector, fd, capture, min(0.05, left))
        # a pipe still open here is held by something that left the group: we stop waiting for it
    return timed_out


def _read_available(selector: selectors.BaseSelector, fd: int, capture: _Capture, wait: float) -> bool:
    """Read whatever arrives within ``wait`` seconds; False once the pipe is closed."""
    for _key, _events in selector.select(wait):
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                return False
            capture.feed(chunk)
    return True
