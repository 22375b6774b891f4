"""Every path an agent gives stays inside the workspace, and a refused path changes nothing anywhere."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state.errors import PathRefused, ToolInputError
from tools.workspace import Workspace


def snapshot(top: Path) -> dict[str, object]:
    """Everything under ``top`` without following links: file bytes, link targets, folders."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            rel = str(full.relative_to(top))
            if full.is_symlink():
                found[rel] = ("link", os.readlink(full))
            elif full.is_dir():
                found[rel] = ("dir",)
            else:
                found[rel] = ("file", full.read_bytes())
    return found


@pytest.fixture
def jail(tmp_path: Path) -> Workspace:
    """A workspace at tmp/ws with a sibling tmp/ws2, an outside folder, and links pointing out of and around it."""
    root = tmp_path / "ws"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "inside.txt").write_text("inside\n")
    (tmp_path / "ws2").mkdir()
    (tmp_path / "ws2" / "x").write_text("sibling\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    (root / "to_sibling").symlink_to(tmp_path / "ws2")
    (root / "out.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (root / "sub" / "deeper" / "escape").symlink_to(tmp_path / "outside")
    (root / "inner_link.txt").symlink_to(root / "inside.txt")
    (root / "loop").symlink_to("loop")
    (root / "ping").symlink_to("pong")
    (root / "pong").symlink_to("ping")
    return Workspace(root)


def _ops(path: str) -> dict[str, Callable[[Workspace], object]]:
    return {
        "write": lambda ws: ws.write(path, "pwned\n"),
        "read": lambda ws: ws.read(path),
        "edit": lambda ws: ws.edit(path, "secret", "pwned"),
        "delete": lambda ws: ws.delete(path),
        "move_src": lambda ws: ws.move(path, "moved.txt"),
        "move_dst": lambda ws: ws.move("inside.txt", path),
        "stat": lambda ws: ws.stat(path),
    }


REFUSED_PATHS = {
    "absolute": "/etc/passwd",
    "absolute_inside_root": "<root>/inside.txt",
    "dotdot": "../outside/secret.txt",
    "dotdot_sibling_prefix": "../ws2/x",
    "dotdot_deep": "sub/../../outside/secret.txt",
    "dotdot_back_inside": "sub/../inside.txt",
    "dotdot_alone": "..",
    "sibling_via_dir_link": "to_sibling/x",
    "file_link_outside": "out.txt",
    "dir_link_part_way": "sub/deeper/escape/secret.txt",
    "dir_link_part_way_new_file": "sub/deeper/escape/new/file.txt",
    "link_inside_pointing": "inner_link.txt",
    "loop_self": "loop",
    "loop_self_below": "loop/x.txt",
    "loop_pair": "ping/x.txt",
    "nul_byte": "a\x00b.txt",
    "backslash": "sub\\x.txt",
    "name_256_bytes": "x" * 256,
    "name_256_bytes_multibyte": "\u00e9" * 128,
    "path_over_4096_bytes": "/".join(["d" * 100] * 41),
    "reserved_temp_name": "sub/.buildcrew-tmp-0123456789abcdef",
}


@pytest.mark.parametrize("op", list(_ops("x")))
@pytest.mark.parametrize("case", list(REFUSED_PATHS))
def test_refused_path_changes_nothing(jail: Workspace, tmp_path: Path, case: str, op: str) -> None:
    path = REFUSED_PATHS[case].replace("<root>", str(jail.root))
    before = snapshot(tmp_path)
    with pytest.raises(PathRefused) as excinfo:
        _ops(path)[op](jail)
    assert snapshot(tmp_path) == before
    assert "refused" in str(excinfo.value)


@pytest.mark.parametrize("path", ["", ".", "./", "//", "./.", "sub/.."])
@pytest.mark.parametrize("op", ["write", "delete", "move_src", "move_dst"])
def test_root_itself_cannot_be_changed(jail: Workspace, tmp_path: Path, path: str, op: str) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(PathRefused):
        _ops(path)[op](jail)
    assert snapshot(tmp_path) == before


def test_refusal_message_names_path_and_reason(jail: Workspace) -> None:
    with pytest.raises(PathRefused, match=r"'\.\./x'.*'\.\.'"):
        jail.write("../x", "")
    with pytest.raises(PathRefused, match=r"'/etc/x'.*absolute"):
        jail.write("/etc/x", "")
    with pytest.raises(PathRefused, match=r"'sub/deeper/escape'.*symbolic link"):
        jail.read("sub/deeper/escape/secret.txt")
    with pytest.raises(PathRefused, match=r"NUL"):
        jail.normalize("a\x00")
    with pytest.raises(PathRefused, match=r"256 bytes"):
        jail.normalize("y" * 256)


def test_directory_targets_are_refused(jail: Workspace, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    for op in (
        lambda: jail.write("sub", "x"),
        lambda: jail.read("sub"),
        lambda: jail.edit("sub", "a", "b"),
        lambda: jail.delete("sub"),
        lambda: jail.move("sub", "elsewhere"),
    ):
        with pytest.raises(PathRefused, match="directory"):
            op()
    with pytest.raises(PathRefused, match="is a file, not a directory"):
        jail.write("inside.txt/child.txt", "x")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "path", ["report..final.md", "[...slug].tsx", "a..b/c.txt", "...", ".hidden", "x" * 255, "\u00e9" * 127]
)
def test_names_merely_containing_dots_are_allowed(jail: Workspace, path: str) -> None:
    info = jail.write(path, "ok\n")
    assert info.path == path
    assert (jail.root / path).read_text() == "ok\n"
    assert jail.read(path) == "ok\n"


def test_normalize_cleans_without_touching(jail: Workspace, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    assert jail.normalize("./a//b/./c.txt") == "a/b/c.txt"
    assert jail.normalize("new/dir/") == "new/dir"
    assert jail.normalize("") == "."
    with pytest.raises(PathRefused):
        jail.normalize("", for_change=True)
    assert snapshot(tmp_path) == before


def test_list_never_follows_links_out(jail: Workspace) -> None:
    assert jail.list() == ["inside.txt"]
    for bad in ("/etc/*", "../*", "sub/../../*", "a\x00"):
        with pytest.raises(PathRefused):
            jail.list(bad)


def test_root_given_through_a_symlink_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    ws = Workspace(tmp_path / "alias")
    assert ws.root == tmp_path / "real"
    ws.write("f.txt", "x")
    assert (tmp_path / "real" / "f.txt").read_text() == "x"


# -- property: whatever the string, the write lands inside the root or is refused ---------------

_COMPONENTS = st.sampled_from(
    [
        "..",
        ".",
        "",
        "a",
        "b",
        "\x00",
        "x" * 256,
        "y" * 255,
        "ws",
        "ws2",
        "~",
        "\\",
        "a..b",
        "...",
        " ",
        "\n",
        "to_sibling",
        "loop",
        "sub",
        "file.txt",
        "out.txt",
        "\u00e9" * 128,
        "C:",
    ]
)
_MIXED_PATHS = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "/", "./", "../", "//"]),
    st.lists(_COMPONENTS, min_size=0, max_size=8),
)


def _write_stays_inside(path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        root = top / "ws"
        (root / "sub").mkdir(parents=True)
        (root / "file.txt").write_text("f")
        (top / "ws2").mkdir()
        (root / "to_sibling").symlink_to(top / "ws2")
        (root / "out.txt").symlink_to(top / "ws2" / "target.txt")
        (root / "loop").symlink_to("loop")
        ws = Workspace(root)
        try:
            info = ws.write(path, "content")
        except PathRefused:
            pass
        except ToolInputError as exc:  # any other refusal must still be a PathRefused
            raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc
        else:
            real = os.path.realpath(root / info.path)
            assert real.startswith(str(root.resolve()) + os.sep)
            assert Path(real).read_text() == "content"
        assert sorted(os.listdir(top)) == ["ws", "ws2"]
        assert os.listdir(top / "ws2") == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_path_is_refused_or_inside(path: str) -> None:
    _write_stays_inside(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MIXED_PATHS)
def test_any_mixed_path_is_refused_or_inside(path: str) -> None:
    _write_stays_inside(path)
