"""One zip holding a run's workspace and its records, byte-identical for identical inputs.

Entries are sorted and stamped 1980-01-01 with fixed permissions, so two exports of the same tree can be
compared by hash. Symbolic links are skipped, never followed: the workspace was written by a model, and a
link must not pull files from outside it into an archive someone will share. The zip is written to a temp
file and renamed into place, so a reader never sees half an archive.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from state.errors import ConfigError

WORKSPACE_PREFIX = "workspace/"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _workspace_files(dir_fd: int, prefix: str = "") -> Iterator[str]:
    """Relative paths of every regular file, hidden ones included; links are neither listed nor followed."""
    with os.scandir(dir_fd) as entries:
        items = [(e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)) for e in entries]
    for name, is_dir, is_file in items:
        if is_file:
            yield prefix + name
        elif is_dir:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # replaced by a link or removed since the listing
            try:
                yield from _workspace_files(child, prefix + name + "/")
            finally:
                os.close(child)


def _open_workspace_file(root_fd: int, rel: str) -> int | None:
    """Open ``rel`` below ``root_fd`` without following links; None if it is no longer a plain path to a file."""
    parts = rel.split("/")
    fd = os.dup(root_fd)
    try:
        for name in parts[:-1]:
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        return os.open(parts[-1], _READ_FLAGS, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _check_extra_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in parts):
        raise ConfigError(f"extra file archive name {name!r} must be a plain relative path like 'report.json'")
    if name.startswith(WORKSPACE_PREFIX):
        raise ConfigError(f"extra file archive name {name!r} must not be inside {WORKSPACE_PREFIX!r}")


def _entry(name: str, mode: int, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the permission bits below mean the same everywhere
    info.external_attr = (stat.S_IFREG | (0o755 if mode & 0o111 else 0o644)) << 16
    info.file_size = size  # lets zipfile pick ZIP64 up front for very large files
    return info


def _add(archive: zipfile.ZipFile, name: str, fd: int, st: os.stat_result) -> None:
    with os.fdopen(os.dup(fd), "rb") as source, archive.open(_entry(name, st.st_mode, st.st_size), "w") as target:
        shutil.copyfileobj(source, target, 1 << 20)


def export_zip(
    dest_zip: os.PathLike[str] | str,
    *,
    workspace: os.PathLike[str] | str,
    extra_files: dict[str, os.PathLike[str] | str] | None = None,
) -> list[str]:
    """Write ``dest_zip`` with ``workspace/<path>`` for every workspace file plus ``extra_files``; return the names."""
    dest = Path(dest_zip).absolute()
    extras = dict(extra_files or {})
    for name in extras:
        _check_extra_name(name)
    try:
        root_fd = os.open(Path(workspace), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(f"workspace {str(workspace)!r} cannot be exported: {exc}") from exc
    try:
        return _write_zip(dest, root_fd, extras)
    finally:
        os.close(root_fd)


def _write_zip(dest: Path, root_fd: int, extras: dict[str, os.PathLike[str] | str]) -> list[str]:
    skip: set[tuple[int, int]] = set()  # an earlier export inside the workspace must not include itself
    try:
        dest_st = os.stat(dest)
        skip.add((dest_st.st_dev, dest_st.st_ino))
    except OSError:
        pass
    sources = [(WORKSPACE_PREFIX + rel, rel, True) for rel in _workspace_files(root_fd)]  # before the temp exists
    sources += [(name, os.fspath(path), False) for name, path in extras.items()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    names: list[str] = []
    try:
        with os.fdopen(fd, "w+b") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for archive_name, source, in_workspace in sorted(sources):
                    if _add_source(archive, archive_name, source, in_workspace, root_fd, skip):
                        names.append(archive_name)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return names


def _add_source(
    archive: zipfile.ZipFile,
    archive_name: str,
    source: str,
    in_workspace: bool,
    root_fd: int,
    skip: set[tuple[int, int]],
) -> bool:
    """Add one file; False when a workspace entry is skipped (it became a link, vanished, or is the zip)."""
    fd = _open_workspace_file(root_fd, source) if in_workspace else _open_extra(archive_name, source)
    if fd is None:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if in_workspace:
                return False
            raise ConfigError(f"extra file {archive_name!r} at {source!r} is not a regular file")
        if (st.st_dev, st.st_ino) in skip:
            return False
        _add(archive, archive_name, fd, st)
        return True
    finally:
        os.close(fd)


def _open_extra(archive_name: str, source: str) -> int:
    try:
        return os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"extra file {archive_name!r} cannot be read from {source!r}: {exc}") from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
