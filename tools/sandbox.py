"""Namespaces around an agent's command, where the OS allows them (Linux with util-linux's ``unshare``).

An allowlisted environment keeps secrets out of a command's own variables, but a command running as the same
user could still read them from ``/proc/<parent pid>/environ``, reach the audit trail and checkpoints beside
the workspace, or leave a daemon behind with ``setsid``. The sandbox closes those three doors: a new PID
namespace with its own ``/proc`` (the parent is invisible, and every process dies with the namespace), and a
mount namespace in which the run folder around the workspace is replaced by an empty tmpfs, with only the
workspace mounted back. Where namespaces are not permitted the command runs without them, and
``CommandResult.sandboxed`` says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Run by /bin/sh inside the new namespaces: $1 is the workspace, $2 the folder to hide ("" for none), $3 "ro"
# for a read-only workspace; the rest is the command's argv.
_MOUNTS = r"""
ws="$1"; hide="$2"; mode="$3"; shift 3
fail() { echo "buildcrew-sandbox-setup-failed: $*" >&2; exit 199; }
if [ -n "$hide" ]; then
  keep="$(mktemp -d -p /tmp)" || fail "mktemp"
  mount --bind "$ws" "$keep" || fail "bind $ws"
  mount -t tmpfs -o size=64k,mode=755 buildcrew-hidden "$hide" || fail "hide $hide"
  mkdir -p "$ws" && mount --bind "$keep" "$ws" || fail "rebind $ws"
  umount "$keep"; rmdir "$keep"
fi
if [ "$mode" = ro ]; then
  mount --bind "$ws" "$ws" && mount -o remount,bind,ro "$ws" || fail "read-only $ws"
fi
cd "$ws" || fail "cd $ws"
"$@"
"""
# The shell stays as the namespace's first process and exits with the command's status, so inside the sandbox a
# death by signal N shows as 128 + N, as in any shell. A setup failure exits 199 with a marker line, and
# run_command then runs the command without the sandbox (and says so) rather than blame the command.
SETUP_FAILED = "buildcrew-sandbox-setup-failed:"
SETUP_FAILED_STATUS = 199


def _prefix() -> list[str]:
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *user, "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]


def wrap(argv: list[str], workspace: Path, hide: Path | None, read_only: bool = False) -> list[str] | None:
    """``argv`` run inside the sandbox, or None when this machine does not allow one."""
    if not available():
        return None
    mode = "ro" if read_only else "rw"
    return [*_prefix(), "/bin/sh", "-c", _MOUNTS, "sandbox", str(workspace), str(hide or ""), mode, *argv]


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether namespaces and the hiding mounts work here; probed once, on a scratch folder."""
    if os.name != "posix" or shutil.which("unshare") is None or not os.path.exists("/proc/self/ns/pid"):
        return False
    with tempfile.TemporaryDirectory() as scratch:
        outer = Path(scratch) / "run"
        workspace = outer / "workspace"
        workspace.mkdir(parents=True)
        (outer / "secret").write_text("x")
        argv = [
            *_prefix(),
            "/bin/sh",
            "-c",
            _MOUNTS,
            "sandbox",
            str(workspace),
            str(outer),
            "rw",
            "/bin/sh",
            "-c",
            "test ! -e ../secret && touch inside && test $(ls /proc | grep -c '^[0-9]') -lt 10",
        ]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0 and (workspace / "inside").exists() and (outer / "secret").exists()
