"""The export zip holds every workspace file exactly, nothing from outside it, and is reproducible."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from state.errors import ConfigError
from tools.export import export_zip

FILES = {
    "a.txt": b"alpha\n",
    "pkg/__init__.py": b"",
    "pkg/mod.py": b"print('hi')\n",
    ".hidden": b"dot\n",
    ".git/config": b"[core]\n",
    "deep/er/still/bin.dat": bytes(range(256)) * 10,
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    ws = tmp_path / "run" / "workspace"
    for rel, data in FILES.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(data)
    (ws / "empty_dir").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"TOP SECRET")
    (ws / "leak.txt").symlink_to(outside / "secret.txt")
    (ws / "pkg" / "leakdir").symlink_to(outside)
    (tmp_path / "run" / "report.json").write_text('{"verdict": "PASS"}')
    (tmp_path / "run" / "events.jsonl").write_text('{"op": "write"}\n')
    return ws


def _extras(ws: Path) -> dict[str, Path]:
    return {"report.json": ws.parent / "report.json", "events.jsonl": ws.parent / "events.jsonl"}


def test_every_file_is_in_the_zip_with_identical_bytes(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "export.zip"
    names = export_zip(dest, workspace=tree, extra_files=_extras(tree))
    expected = sorted([f"workspace/{rel}" for rel in FILES] + ["report.json", "events.jsonl"])
    assert names == expected
    with zipfile.ZipFile(dest) as archive:
        assert archive.namelist() == expected
        assert archive.testzip() is None
        for rel, data in FILES.items():
            assert archive.read(f"workspace/{rel}") == data
        assert archive.read("report.json") == b'{"verdict": "PASS"}'
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert os.listdir(dest.parent) == ["export.zip"]  # no temp file left


def test_symlinks_are_not_followed(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "export.zip"
    names = export_zip(dest, workspace=tree)
    assert not any("leak" in name for name in names)
    assert b"TOP SECRET" not in dest.read_bytes()
    with zipfile.ZipFile(dest) as archive:
        assert all(archive.read(name) != b"TOP SECRET" for name in archive.namelist())


def test_two_exports_are_byte_identical(tree: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    export_zip(first, workspace=tree, extra_files=_extras(tree))
    for rel in FILES:
        os.utime(tree / rel, (1_700_000_000, 1_700_000_000))  # timestamps must not matter
    export_zip(second, workspace=tree, extra_files=_extras(tree))
    assert first.read_bytes() == second.read_bytes()


def test_executable_bit_is_kept(tree: Path, tmp_path: Path) -> None:
    os.chmod(tree / "pkg" / "mod.py", 0o755)
    dest = tmp_path / "export.zip"
    export_zip(dest, workspace=tree)
    with zipfile.ZipFile(dest) as archive:
        assert (archive.getinfo("workspace/pkg/mod.py").external_attr >> 16) & 0o777 == 0o755
        assert (archive.getinfo("workspace/a.txt").external_attr >> 16) & 0o777 == 0o644


def test_export_inside_the_workspace_does_not_include_itself(tree: Path) -> None:
    dest = tree / "export.zip"
    export_zip(dest, workspace=tree)
    first = dest.read_bytes()
    names = export_zip(dest, workspace=tree)
    assert "workspace/export.zip" not in names
    assert dest.read_bytes() == first


def test_replacing_an_existing_zip(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "export.zip"
    dest.write_bytes(b"old junk")
    export_zip(dest, workspace=tree)
    assert zipfile.is_zipfile(dest)


@pytest.mark.parametrize("name", ["", "/abs.json", "../up.json", "a/../b", "workspace/x.json", "a\\b"])
def test_bad_extra_names_are_refused(tree: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        export_zip(tmp_path / "export.zip", workspace=tree, extra_files={name: tree / "a.txt"})
    assert not (tmp_path / "export.zip").exists()


def test_missing_extra_file_leaves_no_zip(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.json"):
        export_zip(tmp_path / "export.zip", workspace=tree, extra_files={"m.json": tmp_path / "missing.json"})
    assert sorted(os.listdir(tmp_path)) == ["outside", "run"]
