"""The workspace jail: the only door through which agents touch files.

Model output is untrusted input, so every path an agent gives is validated as a string first (no absolute
paths, no ``..`` components, no NUL bytes, no backslashes, bounded lengths) and then opened component by
component from a file descriptor of the root with ``O_NOFOLLOW``. Any symbolic link met on the way, even one
pointing back inside, is refused: that makes escapes through links, links swapped in between a check and an
open, and link loops all the same simple refusal. Writes are atomic (temp file, fsync, rename, fsync of the
directory) and verified by reading the file back, so a reported write is a write that happened.

Backslashes are refused rather than taken as ordinary name characters: a model writing ``pkg\\mod.py`` almost
certainly meant a folder, and a clear refusal it can fix beats a file with a strange name.
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import functools
import hashlib
import os
import re
import secrets
import stat as stat_mod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from state.errors import (
    ConfigError,
    ContentTooLarge,
    EditMatchError,
    PathRefused,
    ToolInputError,
    WorkspaceFileNotFound,
    WriteVerificationError,
)

if TYPE_CHECKING:
    from tools.commands import CommandResult

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096
DEFAULT_MAX_BYTES = 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us
_TMP_PREFIX = ".buildcrew-tmp-"
_TMP_RE = re.compile(re.escape(_TMP_PREFIX) + r"[0-9a-f]{16}")


class _NotAFile(PathRefused):
    """The path leads to a folder where a file is wanted, a file where a folder is wanted, or a special file."""


@dataclass(frozen=True)
class FileInfo:
    """What a verified write, a move, a delete or a stat found on disk."""

    path: str
    size: int
    sha256: str


def is_temp_name(name: str) -> bool:
    """True for the name of a write's temp file, which a crash may leave behind and listings hide."""
    return _TMP_RE.fullmatch(name) is not None


def _split(path: object, what: str) -> list[str]:
    """Validate a path or pattern as a string and return its components, without touching the disk."""
    if not isinstance(path, str):
        raise PathRefused(f"{what} must be a string, got {type(path).__name__}")
    shown = repr(path) if len(path) <= 300 else repr(path[:300]) + "..."
    if "\x00" in path:
        raise PathRefused(f"{what} {shown} refused: it contains a NUL byte")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise PathRefused(f"{what} {shown} refused: it is not valid UTF-8 text") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise PathRefused(f"{what} {shown} refused: it is {len(encoded)} bytes long, over {MAX_PATH_BYTES}")
    if "\\" in path:
        raise PathRefused(f"{what} {shown} refused: backslash is not allowed; separate folders with '/'")
    if path.startswith("/"):
        raise PathRefused(
            f"{what} {shown} refused: absolute paths are not allowed; give a path relative to "
            f"the workspace, e.g. 'pkg/module.py'"
        )
    parts = [part for part in path.split("/") if part not in ("", ".")]
    for part in parts:
        if part == "..":
            raise PathRefused(
                f"{what} {shown} refused: '..' components are not allowed; the path must stay inside the workspace"
            )
        size = len(part.encode("utf-8"))
        if size > MAX_COMPONENT_BYTES:
            raise PathRefused(
                f"{what} {shown} refused: the name {part[:40]!r}... is {size} bytes long, over {MAX_COMPONENT_BYTES}"
            )
    return parts


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


class Workspace:
    """A folder agents may change, and nothing outside it."""

    def __init__(
        self, root: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, create: bool = True
    ) -> None:
        if max_bytes < 1:
            raise ConfigError(f"max_bytes must be at least 1, got {max_bytes}")
        path = Path(root)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise ConfigError(f"workspace root {str(root)!r} is not an existing directory")
        self.root: Path = path.resolve(strict=True)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r}, max_bytes={self.max_bytes})"

    # -- validation -------------------------------------------------------------------------------
    def normalize(self, path: str, *, for_change: bool = False) -> str:
        """The workspace-relative POSIX form of ``path`` (``"."`` for the root itself); touches nothing.

        With ``for_change`` the root itself is refused, since it can never be written, deleted or moved.
        """
        parts = _split(path, "path")
        for part in parts:
            if is_temp_name(part):
                raise PathRefused(f"path {path!r} refused: names like {part!r} are reserved for temp files")
        if not parts:
            if for_change:
                raise PathRefused(f"path {path!r} refused: it names the workspace root itself, not a file")
            return "."
        return "/".join(parts)

    # -- descriptors ------------------------------------------------------------------------------
    def _open_root(self) -> int:
        try:
            return os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            raise ConfigError(f"workspace root {str(self.root)!r} cannot be opened: {exc}") from exc

    def _refusal(
        self, dir_fd: int, name: str, prefix: str, path: str, error: OSError | None = None, *, expect_dir: bool
    ) -> ToolInputError:
        """Explain why ``name`` (in ``dir_fd``) could not be opened as a folder (``expect_dir``) or a file."""
        st = _lstat(name, dir_fd)
        if st is None:
            where = "" if prefix == path else f" ({prefix!r} does not exist)"
            return WorkspaceFileNotFound(f"no such file in the workspace: {path!r}{where}")
        if stat_mod.S_ISLNK(st.st_mode):
            return PathRefused(
                f"path {path!r} refused: {prefix!r} is a symbolic link, and the workspace follows no symbolic links"
            )
        if expect_dir and stat_mod.S_ISREG(st.st_mode):
            return _NotAFile(f"path {path!r} refused: {prefix!r} is a file, not a directory")
        if not expect_dir and stat_mod.S_ISDIR(st.st_mode):
            return _NotAFile(f"path {path!r} refused: {prefix!r} is a directory, not a file")
        if not stat_mod.S_ISREG(st.st_mode) and not stat_mod.S_ISDIR(st.st_mode):
            return _NotAFile(f"path {path!r} refused: {prefix!r} is not a regular file or directory")
        reason = error.strerror if error is not None and error.strerror else "it cannot be opened"
        return PathRefused(f"path {path!r} refused: {prefix!r}: {reason}")

    def _open_parent(self, parts: list[str], path: str, *, create: bool) -> int:
        """A descriptor of the folder holding ``parts[-1]``, opened without following any link."""
        fd = self._open_root()
        try:
            for index, name in enumerate(parts[:-1]):
                prefix = "/".join(parts[: index + 1])
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise WorkspaceFileNotFound(
                            f"no such file in the workspace: {path!r} (folder {prefix!r} does not exist)"
                        ) from None
                    try:
                        os.mkdir(name, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    try:
                        child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    except OSError as exc:
                        raise self._refusal(fd, name, prefix, path, exc, expect_dir=True) from None
                except OSError as exc:
                    raise self._refusal(fd, name, prefix, path, exc, expect_dir=True) from None
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _open_file(self, dir_fd: int, name: str, path: str) -> int:
        """A read descriptor of the regular file ``name``, refusing links, folders and special files."""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise self._refusal(dir_fd, name, path, path, exc, expect_dir=False) from None
        mode = os.fstat(fd).st_mode
        if not stat_mod.S_ISREG(mode):
            os.close(fd)
            kind = "a directory, not a file" if stat_mod.S_ISDIR(mode) else "not a regular file"
            raise _NotAFile(f"path {path!r} refused: it is {kind}")
        return fd

    def _read_bytes(self, path: str) -> tuple[str, bytes]:
        rel = self.normalize(path)
        if rel == ".":
            raise PathRefused(f"path {path!r} refused: it names the workspace root, a directory, not a file")
        parts = rel.split("/")
        dir_fd = self._open_parent(parts, rel, create=False)
        try:
            fd = self._open_file(dir_fd, parts[-1], rel)
            try:
                return rel, _read_all(fd)
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)

    # -- writing ----------------------------------------------------------------------------------
    def _encode(self, path: str, content: object) -> bytes:
        if not isinstance(content, str):
            raise ToolInputError(f"content for {path!r} must be a string, got {type(content).__name__}")
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ToolInputError(f"content for {path!r} is not valid Unicode text: {exc}") from None
        self._check_size(path, len(data))
        return data

    def _check_size(self, path: str, size: int) -> None:
        if size > self.max_bytes:
            raise ContentTooLarge(
                f"content for {path!r} is {size} bytes, over the workspace cap of "
                f"{self.max_bytes} bytes; split it into smaller files"
            )

    def _write_bytes(self, rel: str, data: bytes) -> FileInfo:
        parts = rel.split("/")
        name = parts[-1]
        dir_fd = self._open_parent(parts, rel, create=True)
        try:
            existing = _lstat(name, dir_fd)
            if existing is not None and not stat_mod.S_ISREG(existing.st_mode):
                raise self._refusal(dir_fd, name, rel, rel, expect_dir=False)
            mode = stat_mod.S_IMODE(existing.st_mode) if existing is not None else None
            tmp = _TMP_PREFIX + secrets.token_hex(8)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, 0o666, dir_fd=dir_fd)
            try:
                try:
                    if mode is not None:
                        os.fchmod(fd, mode | 0o600)  # keeps an executable script executable, and readable by us
                    _write_all(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                os.fsync(dir_fd)
            finally:
                try:  # gone after a successful rename; removed here after any failure
                    os.unlink(tmp, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass
            return self._verify(dir_fd, name, rel, len(data), _sha256(data))
        finally:
            os.close(dir_fd)

    def _verify(self, dir_fd: int, name: str, rel: str, size: int, sha256: str) -> FileInfo:
        """Read the file back: the write only counts if the bytes on disk are the bytes we meant."""
        actual = self._read_back(dir_fd, name)
        actual_sha = None if actual is None else _sha256(actual)
        if actual is None or len(actual) != size or actual_sha != sha256:
            raise WriteVerificationError(rel, size, sha256, None if actual is None else len(actual), actual_sha)
        return FileInfo(path=rel, size=size, sha256=sha256)

    def _read_back(self, dir_fd: int, name: str) -> bytes | None:
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError:
            return None
        try:
            return _read_all(fd) if stat_mod.S_ISREG(os.fstat(fd).st_mode) else None
        finally:
            os.close(fd)

    # -- operations -------------------------------------------------------------------------------
    def write(self, path: str, content: str) -> FileInfo:
        """Create or replace a file atomically, creating parent folders, and verify it on disk."""
        rel = self.normalize(path, for_change=True)
        data = self._encode(rel, content)
        return self._write_bytes(rel, data)

    def read(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        """The file's text (invalid UTF-8 replaced), or lines ``start_line``..``end_line`` (1-based, inclusive)."""
        rel, data = self._read_bytes(path)
        text = data.decode("utf-8", errors="replace")
        if start_line is None and end_line is None:
            return text
        lines = _split_lines(text)
        if (start_line is not None and start_line < 1) or (end_line is not None and end_line < 1):
            raise ToolInputError(f"line numbers start at 1; got start_line={start_line}, end_line={end_line}")
        first = 1 if start_line is None else start_line
        last = len(lines) if end_line is None else end_line
        if first > len(lines) and not (first == 1 and not lines):
            raise ToolInputError(f"start_line {first} is past the end of {rel!r}, which has {len(lines)} lines")
        if end_line is not None and last < first:
            raise ToolInputError(f"end_line {last} is before start_line {first}")
        return "".join(lines[first - 1 : last])

    def edit(self, path: str, old: str, new: str) -> FileInfo:
        """Replace the one exact occurrence of ``old`` with ``new``; any other count changes nothing."""
        rel = self.normalize(path, for_change=True)
        if not isinstance(old, str) or not isinstance(new, str):
            raise ToolInputError("old and new text must be strings")
        if not old:
            raise ToolInputError(f"the text to replace in {rel!r} is empty; give the exact text to change")
        _, data = self._read_bytes(rel)
        text = data.decode("utf-8", errors="surrogateescape")  # undecodable bytes survive the round trip
        count = text.count(old)
        if count != 1:
            found = "was not found" if count == 0 else f"occurs {count} times"
            raise EditMatchError(
                f"edit of {rel!r} refused: the text to replace {found} (it matched {count} "
                f"times); it must match exactly once, so include more surrounding lines"
            )
        try:
            updated = text.replace(old, new, 1).encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:
            raise ToolInputError(f"replacement text for {rel!r} is not valid Unicode text: {exc}") from None
        self._check_size(rel, len(updated))
        return self._write_bytes(rel, updated)

    def list(self, pattern: str = "**/*") -> builtins.list[str]:
        """Files (not folders, not links, not temp files) matching a glob, as sorted relative POSIX paths.

        Glob rules follow ``pathlib``: ``*`` stays inside one name (and matches hidden names), ``**`` spans
        any number of folders including none, so ``*.py`` lists the top level and ``**/*.py`` everything.
        """
        pattern_parts = _split(pattern, "pattern")
        if not pattern_parts:
            raise PathRefused(f"pattern {pattern!r} refused: it is empty; use '**/*' to list every file")
        fd = self._open_root()
        try:
            found = [rel for rel in _walk(fd, "") if _glob_match(pattern_parts, rel.split("/"))]
        finally:
            os.close(fd)
        return sorted(found)

    def delete(self, path: str) -> FileInfo:
        """Delete one regular file; returns what it held just before."""
        rel = self.normalize(path, for_change=True)
        parts = rel.split("/")
        dir_fd = self._open_parent(parts, rel, create=False)
        try:
            fd = self._open_file(dir_fd, parts[-1], rel)
            try:
                data = _read_all(fd)
                held = os.fstat(fd)
            finally:
                os.close(fd)
            current = _lstat(parts[-1], dir_fd)
            if current is None or (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
                raise ToolInputError(f"{rel!r} changed while being deleted; nothing was deleted, try again")
            os.unlink(parts[-1], dir_fd=dir_fd)
            os.fsync(dir_fd)
            return FileInfo(path=rel, size=len(data), sha256=_sha256(data))
        finally:
            os.close(dir_fd)

    def move(self, src: str, dst: str) -> FileInfo:
        """Move a regular file to a path that does not exist yet, creating folders; returns ``dst``'s info."""
        src_rel = self.normalize(src, for_change=True)
        dst_rel = self.normalize(dst, for_change=True)
        if src_rel == dst_rel:
            raise ToolInputError(f"move of {src_rel!r} refused: source and destination are the same")
        if dst_rel.startswith(src_rel + "/"):
            raise PathRefused(f"move of {src_rel!r} refused: destination {dst_rel!r} would be inside it")
        src_parts, dst_parts = src_rel.split("/"), dst_rel.split("/")
        src_dir = self._open_parent(src_parts, src_rel, create=False)
        try:
            fd = self._open_file(src_dir, src_parts[-1], src_rel)
            try:
                data = _read_all(fd)
            finally:
                os.close(fd)
            dst_dir = self._open_parent(dst_parts, dst_rel, create=True)
            try:
                existing = _lstat(dst_parts[-1], dst_dir)
                if existing is not None and not stat_mod.S_ISREG(existing.st_mode):
                    raise self._refusal(dst_dir, dst_parts[-1], dst_rel, dst_rel, expect_dir=False)
                self._place(src_dir, src_parts[-1], dst_dir, dst_parts[-1], dst_rel)
                os.fsync(dst_dir)
                os.fsync(src_dir)
                return self._verify(dst_dir, dst_parts[-1], dst_rel, len(data), _sha256(data))
            finally:
                os.close(dst_dir)
        finally:
            os.close(src_dir)

    def _place(self, src_dir: int, src_name: str, dst_dir: int, dst_name: str, dst_rel: str) -> None:
        """Rename without ever replacing an existing destination (hard link + unlink is no-replace)."""
        exists = ToolInputError(f"move refused: destination {dst_rel!r} already exists; delete it first")
        try:
            os.link(src_name, dst_name, src_dir_fd=src_dir, dst_dir_fd=dst_dir, follow_symlinks=False)
        except FileExistsError:
            raise exists from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if _lstat(dst_name, dst_dir) is not None:  # no hard links here: check, then rename
                raise exists from None
            os.rename(src_name, dst_name, src_dir_fd=src_dir, dst_dir_fd=dst_dir)
            return
        os.unlink(src_name, dir_fd=src_dir)

    def stat(self, path: str) -> FileInfo | None:
        """Size and sha256 of the file as it is now, or None when there is no such file.

        A folder (or anything but a regular file) where the file should be also counts as no file; a symbolic
        link on the way is still refused with ``PathRefused``, as everywhere else.
        """
        try:
            rel, data = self._read_bytes(path)
        except (WorkspaceFileNotFound, _NotAFile):
            return None
        return FileInfo(path=rel, size=len(data), sha256=_sha256(data))

    def run_command(
        self,
        command: str,
        *,
        timeout: float = 60.0,
        output_dir: os.PathLike[str] | None = None,
        hide: os.PathLike[str] | None = None,
        read_only: bool = False,
    ) -> CommandResult:
        """Run a shell command with the workspace root as its working folder; ``hide`` is kept from its sight."""
        from tools.commands import run_command

        return run_command(command, self.root, timeout=timeout, output_dir=output_dir, hide=hide, read_only=read_only)


def _split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only (keeping it), so a stray ``\\r`` or form feed does not shift line numbers."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


MAX_WALK_DEPTH = 512  # one open descriptor per level; deeper folders (only a hostile agent makes them) are skipped


def _walk(dir_fd: int, prefix: str) -> Iterator[str]:
    """Regular files under ``dir_fd``; links are neither listed nor followed, temp files are skipped.

    Iterative, so a folder chain deeper than Python's recursion limit cannot crash a listing.
    """
    stack: list[tuple[int | None, str, list[tuple[str, bool, bool]]]] = [(None, prefix, _entries(dir_fd))]
    opened: list[int] = []
    try:
        while stack:
            fd, base, items = stack[-1]
            if not items:
                stack.pop()
                if fd is not None:
                    os.close(fd)
                    opened.remove(fd)
                continue
            name, is_dir, is_file = items.pop(0)
            parent_fd = dir_fd if fd is None else fd
            if is_file and not is_temp_name(name):
                yield base + name
            elif is_dir and len(stack) < MAX_WALK_DEPTH:
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
                except OSError:
                    continue  # swapped for a link or removed since scandir: nothing to list
                opened.append(child)
                stack.append((child, base + name + "/", _entries(child)))
    finally:
        for fd in opened:
            os.close(fd)


def _entries(dir_fd: int) -> list[tuple[str, bool, bool]]:
    with os.scandir(dir_fd) as entries:
        return [(e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)) for e in entries]


def _glob_match(pattern: list[str], parts: list[str]) -> bool:
    """Match path components against glob components; ``**`` matches any number of components."""

    @functools.cache
    def match(p: int, i: int) -> bool:  # memoised, so many '**' cannot make matching exponential
        if p == len(pattern):
            return i == len(parts)
        if pattern[p] == "**":
            return any(match(p + 1, j) for j in range(i, len(parts) + 1))
        return i < len(parts) and fnmatch.fnmatchcase(parts[i], pattern[p]) and match(p + 1, i + 1)

    return match(0, 0)
