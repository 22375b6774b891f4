"""Each workspace operation does what it says, verifies it, and changes nothing when it fails."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from state.errors import (
    ContentTooLarge,
    EditMatchError,
    PathRefused,
    ToolInputError,
    WorkspaceFileNotFound,
    WriteVerificationError,
)
from tools.workspace import FileInfo, Workspace, is_temp_name


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- construction -----------------------------------------------------------------------------


def test_root_is_created_and_resolved(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "a" / "b")
    assert ws.root == (tmp_path / "a" / "b").resolve()
    assert ws.root.is_dir()
    assert ws.max_bytes == 1024 * 1024


# -- write ------------------------------------------------------------------------------------


def test_write_creates_parents_and_returns_verified_info(ws: Workspace) -> None:
    content = "print('h\u00e9llo')\n"
    info = ws.write("pkg/sub/mod.py", content)
    data = content.encode()
    assert info == FileInfo(path="pkg/sub/mod.py", size=len(data), sha256=sha(data))
    assert (ws.root / "pkg" / "sub" / "mod.py").read_bytes() == data


def test_write_overwrites_and_keeps_mode(ws: Workspace) -> None:
    ws.write("run.sh", "#!/bin/sh\n")
    os.chmod(ws.root / "run.sh", 0o755)
    ws.write("run.sh", "#!/bin/sh\necho hi\n")
    assert (ws.root / "run.sh").read_text() == "#!/bin/sh\necho hi\n"
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o755


def test_write_keeps_newlines_exactly(ws: Workspace) -> None:
    ws.write("crlf.txt", "a\r\nb\rc\n")
    assert (ws.root / "crlf.txt").read_bytes() == b"a\r\nb\rc\n"


def test_write_leaves_no_temp_files(ws: Workspace) -> None:
    for i in range(5):
        ws.write("f.txt", f"v{i}")
    assert os.listdir(ws.root) == ["f.txt"]


def test_write_refuses_non_string_content(ws: Workspace) -> None:
    with pytest.raises(ToolInputError, match="must be a string"):
        ws.write("f.txt", b"bytes")  # type: ignore[arg-type]
    assert os.listdir(ws.root) == []


def test_content_over_cap_is_refused_and_nothing_written(ws: Workspace) -> None:
    with pytest.raises(ContentTooLarge, match=r"2097152 bytes.*1048576"):
        ws.write("big/file.txt", "x" * (2 * 1024 * 1024))
    assert os.listdir(ws.root) == []


def test_cap_counts_encoded_bytes(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, max_bytes=10)
    ws.write("ok.txt", "x" * 10)
    with pytest.raises(ContentTooLarge):
        ws.write("no.txt", "\u00e9" * 6)  # 6 characters, 12 bytes
    assert not (tmp_path / "no.txt").exists()


def test_lost_write_raises_verification_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.write("kept.txt", "old")
    monkeypatch.setattr(os, "rename", lambda *args, **kwargs: None)  # the rename "succeeds" but does nothing
    with pytest.raises(WriteVerificationError) as excinfo:
        ws.write("kept.txt", "new content")
    err = excinfo.value
    assert (err.path, err.expected_size, err.expected_sha256) == ("kept.txt", 11, sha(b"new content"))
    assert (err.actual_size, err.actual_sha256) == (3, sha(b"old"))
    with pytest.raises(WriteVerificationError) as excinfo:
        ws.write("never.txt", "x")
    assert excinfo.value.actual_size is None
    assert sorted(os.listdir(ws.root)) == ["kept.txt"]  # temp files removed


def test_corrupted_read_back_raises_verification_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "_read_back", lambda self, dir_fd, name: b"garbage")
    with pytest.raises(WriteVerificationError, match="did not verify"):
        ws.write("f.txt", "content")


_WRITER = textwrap.dedent(
    """
    import sys
    from tools.workspace import Workspace
    ws = Workspace(sys.argv[1])
    versions = ["A" * 700_000, "B" * 300_000 + "\\n"]
    ws.write("data.txt", versions[0])
    print("ready", flush=True)
    i = 1
    while True:
        ws.write("data.txt", versions[i % 2])
        i += 1
    """
)


def test_killed_writer_leaves_old_or_new_content(ws: Workspace) -> None:
    versions = {"A" * 700_000, "B" * 300_000 + "\n"}
    rng = random.Random(1234)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(ws.root)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.005, 0.12))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        assert ws.read("data.txt") in versions
        assert ws.list() == ["data.txt"]  # a leftover temp file is never mistaken for a workspace file
        assert all(name == "data.txt" or is_temp_name(name) for name in os.listdir(ws.root))
    info = ws.write("data.txt", "after")
    assert ws.read("data.txt") == "after"
    assert info.size == 5


# -- read -------------------------------------------------------------------------------------


def test_read_whole_and_line_ranges(ws: Workspace) -> None:
    ws.write("f.txt", "one\ntwo\nthree\nfour")
    assert ws.read("f.txt") == "one\ntwo\nthree\nfour"
    assert ws.read("f.txt", 2, 3) == "two\nthree\n"
    assert ws.read("f.txt", 3) == "three\nfour"
    assert ws.read("f.txt", end_line=1) == "one\n"
    assert ws.read("f.txt", 4, 99) == "four"
    with pytest.raises(ToolInputError, match="past the end"):
        ws.read("f.txt", 5)
    with pytest.raises(ToolInputError):
        ws.read("f.txt", 3, 2)
    with pytest.raises(ToolInputError):
        ws.read("f.txt", 0, 2)


def test_read_counts_lines_by_newline_only(ws: Workspace) -> None:
    ws.write("f.txt", "a\r\nb\x0cc\nd\u2028e\n")
    assert ws.read("f.txt", 2, 2) == "b\x0cc\n"
    assert ws.read("f.txt", 3, 3) == "d\u2028e\n"


def test_read_replaces_invalid_utf8(ws: Workspace) -> None:
    (ws.root / "bin.dat").write_bytes(b"ok\xff\xfe end")
    assert ws.read("bin.dat") == "ok\ufffd\ufffd end"


def test_read_missing_file(ws: Workspace) -> None:
    with pytest.raises(WorkspaceFileNotFound, match="nope.txt"):
        ws.read("nope.txt")
    with pytest.raises(WorkspaceFileNotFound):
        ws.read("no/such/dir.txt")
    assert os.listdir(ws.root) == []


def test_read_refuses_special_files(ws: Workspace) -> None:
    os.mkfifo(ws.root / "pipe")
    with pytest.raises(PathRefused, match="not a regular file"):
        ws.read("pipe")


# -- edit -------------------------------------------------------------------------------------


def test_edit_replaces_the_single_match(ws: Workspace) -> None:
    ws.write("f.py", "x = 1\ny = 2\n")
    info = ws.edit("f.py", "y = 2", "y = 3")
    assert ws.read("f.py") == "x = 1\ny = 3\n"
    assert info == FileInfo("f.py", 12, sha(b"x = 1\ny = 3\n"))


@pytest.mark.parametrize(("old", "count"), [("z = 9", 0), ("= ", 2)])
def test_edit_with_zero_or_many_matches_changes_nothing(ws: Workspace, old: str, count: int) -> None:
    ws.write("f.py", "x = 1\ny = 2\n")
    before = (ws.root / "f.py").stat()
    with pytest.raises(EditMatchError, match=f"matched {count} times"):
        ws.edit("f.py", old, "!")
    assert (ws.root / "f.py").read_bytes() == b"x = 1\ny = 2\n"
    assert (ws.root / "f.py").stat().st_ino == before.st_ino


def test_edit_rejects_empty_old_text_and_missing_file(ws: Workspace) -> None:
    ws.write("f.txt", "abc")
    with pytest.raises(ToolInputError, match="empty"):
        ws.edit("f.txt", "", "x")
    with pytest.raises(WorkspaceFileNotFound):
        ws.edit("missing.txt", "a", "b")


def test_edit_keeps_undecodable_bytes(ws: Workspace) -> None:
    (ws.root / "f.txt").write_bytes(b"\xff header\nvalue = 1\n")
    ws.edit("f.txt", "value = 1", "value = 2")
    assert (ws.root / "f.txt").read_bytes() == b"\xff header\nvalue = 2\n"


def test_edit_respects_the_cap(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, max_bytes=20)
    ws.write("f.txt", "short")
    with pytest.raises(ContentTooLarge):
        ws.edit("f.txt", "short", "much much longer text")
    assert ws.read("f.txt") == "short"


# -- list -------------------------------------------------------------------------------------


def test_list_files_sorted_hidden_included(ws: Workspace) -> None:
    for path in ["b.py", "a.txt", "pkg/mod.py", "pkg/sub/deep.py", ".hidden", "pkg/.env"]:
        ws.write(path, "x")
    (ws.root / "empty_dir").mkdir()
    assert ws.list() == [".hidden", "a.txt", "b.py", "pkg/.env", "pkg/mod.py", "pkg/sub/deep.py"]
    assert ws.list("**/*.py") == ["b.py", "pkg/mod.py", "pkg/sub/deep.py"]
    assert ws.list("*.py") == ["b.py"]
    assert ws.list("pkg/*") == ["pkg/.env", "pkg/mod.py"]
    assert ws.list("pkg/**") == ["pkg/.env", "pkg/mod.py", "pkg/sub/deep.py"]
    assert ws.list("./pkg/sub/deep.py") == ["pkg/sub/deep.py"]
    assert ws.list("nothing*") == []
    with pytest.raises(PathRefused):
        ws.list("")


def test_list_with_many_double_stars_is_fast(ws: Workspace) -> None:
    ws.write("/".join("d" * 30) + "/f.txt", "x")
    started = time.monotonic()
    assert ws.list("/".join(["**"] * 40) + "/nomatch") == []
    assert time.monotonic() - started < 2


# -- delete -----------------------------------------------------------------------------------


def test_delete_returns_info_before_deletion(ws: Workspace) -> None:
    ws.write("pkg/f.txt", "bye")
    info = ws.delete("pkg/f.txt")
    assert info == FileInfo("pkg/f.txt", 3, sha(b"bye"))
    assert not (ws.root / "pkg" / "f.txt").exists()
    assert (ws.root / "pkg").is_dir()
    with pytest.raises(WorkspaceFileNotFound):
        ws.delete("pkg/f.txt")


# -- move -------------------------------------------------------------------------------------


def test_move_into_new_folder(ws: Workspace) -> None:
    ws.write("a.txt", "data")
    info = ws.move("a.txt", "new/dir/b.txt")
    assert info == FileInfo("new/dir/b.txt", 4, sha(b"data"))
    assert not (ws.root / "a.txt").exists()
    assert (ws.root / "new" / "dir" / "b.txt").read_text() == "data"


def test_move_refuses_existing_destination(ws: Workspace) -> None:
    ws.write("a.txt", "a")
    ws.write("b.txt", "b")
    with pytest.raises(ToolInputError, match="already exists"):
        ws.move("a.txt", "b.txt")
    assert (ws.read("a.txt"), ws.read("b.txt")) == ("a", "b")
    with pytest.raises(ToolInputError, match="same"):
        ws.move("a.txt", "./a.txt")


def test_move_of_missing_file_creates_nothing(ws: Workspace) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        ws.move("missing.txt", "new/dir/x.txt")
    assert os.listdir(ws.root) == []


# -- stat -------------------------------------------------------------------------------------


def test_stat(ws: Workspace) -> None:
    assert ws.stat("missing.txt") is None
    assert ws.stat("no/dir/missing.txt") is None
    ws.write("d/f.txt", "abc")
    assert ws.stat("d/f.txt") == FileInfo("d/f.txt", 3, sha(b"abc"))
    assert ws.stat("d") is None
    assert ws.stat("d/f.txt/below") is None
    (ws.root / "d" / "f.txt").write_text("changed outside")
    assert ws.stat("./d//f.txt") == FileInfo("d/f.txt", 15, sha(b"changed outside"))


def test_workspace_run_command_runs_in_root(ws: Workspace) -> None:
    ws.write("hello.txt", "hi from file\n")
    result = ws.run_command("cat hello.txt && pwd", timeout=10)
    assert result.returncode == 0
    assert result.output == f"hi from file\n{ws.root}\n"
