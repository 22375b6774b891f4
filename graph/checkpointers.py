"""Where a run keeps its LangGraph checkpoints: SQLite in the run folder (the default), or PostgreSQL.

``--checkpointer`` takes ``sqlite`` (or nothing) or a ``postgresql://`` URL. run.json keeps the spec without
its password (``stored_spec``); libpq reads the password from ``PGPASSWORD`` (or the URL given again) on resume.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from state.errors import ConfigError

FLAG = "--checkpointer"
SQLITE_FILE = "checkpoints.sqlite"
POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10
SETUP_WAIT_S = 120.0
_SETUP_LOCK_KEY = 0x6275696C6463  # "buildc": serializes the one-time table setup across processes

Kind = Literal["sqlite", "postgres"]


def checkpointer_kind(spec: str | None) -> Kind:
    """``sqlite`` for None or "sqlite", ``postgres`` for a postgresql:// URL; anything else is refused."""
    if spec is None or spec.strip().lower() == "sqlite":
        return "sqlite"
    if urlsplit(spec.strip()).scheme.lower() in POSTGRES_SCHEMES and "://" in spec:
        return "postgres"
    raise ConfigError(f"{FLAG} must be 'sqlite' or a postgresql://user@host:port/database URL, got {redact(spec)!r}")


def redact(spec: str) -> str:
    """The spec without a password (in the user part or as a ``password=`` query parameter)."""
    try:
        parts = urlsplit(spec)
    except ValueError:
        return "<unparsable>"
    if not parts.scheme or "://" not in spec:
        return spec
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def stored_spec(spec: str | None) -> str | None:
    """What run.json keeps: None for SQLite, the URL without its password for PostgreSQL."""
    return None if checkpointer_kind(spec) == "sqlite" else redact(spec.strip())  # type: ignore[union-attr]


def resume_spec(stored: str | None, given: str | None) -> str | None:
    """The spec a resume connects with: the stored one, or the same one given again (e.g. with its password)."""
    if given is None:
        return stored
    if stored_spec(given) != stored:
        raise ConfigError(
            f"{FLAG}: this run keeps its checkpoints in {stored or 'sqlite'}, not {stored_spec(given) or 'sqlite'}"
        )
    return given


@contextlib.contextmanager
def open_checkpointer(spec: str | None, run_dir: str | os.PathLike[str]) -> Iterator[BaseCheckpointSaver]:
    """The checkpointer a spec names, open for the duration of the ``with`` block."""
    if checkpointer_kind(spec) == "sqlite":
        with open_sqlite(Path(run_dir) / SQLITE_FILE) as saver:
            yield saver
    else:
        with open_postgres(str(spec).strip()) as saver:
            yield saver


@contextlib.contextmanager
def open_sqlite(path: Path) -> Iterator[SqliteSaver]:
    """A SQLite checkpointer in WAL mode: readers never block the writer; lock waits are bounded (busy_timeout)."""
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        yield SqliteSaver(conn)
    finally:
        conn.close()


def probe(spec: str | None) -> None:
    """Refuse a PostgreSQL spec that cannot be reached now, before a run folder is made for it."""
    if checkpointer_kind(spec) == "postgres":
        _connect(str(spec).strip()).close()


def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{FLAG}: cannot connect to {redact(url)}: {reason}") from None


@contextlib.contextmanager
def open_postgres(url: str, *, max_size: int = 2) -> Iterator[BaseCheckpointSaver]:
    """A PostgresSaver over a connection pool, its tables set up (once, whoever comes first)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with _connect(url) as control:  # closed once the tables are set up: a run holds only its pool
        pool = ConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=kwargs, open=False, name="buildcrew-checkpoints"
        )
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            saver = PostgresSaver(pool)  # type: ignore[arg-type]
            _setup_once(saver, control)
        except BaseException:
            pool.close()
            raise
    try:
        yield saver
    finally:
        pool.close()


def _setup_once(saver: Any, control: Any) -> None:
    """Create or migrate the tables under an advisory lock, so processes starting together never race.

    The lock is polled (never waited on inside a statement): setup's CREATE INDEX CONCURRENTLY waits for other
    sessions' open transactions, and a session blocked in pg_advisory_lock would be one.
    """
    deadline = time.monotonic() + SETUP_WAIT_S
    while not control.execute("SELECT pg_try_advisory_lock(%s)", (_SETUP_LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise ConfigError(f"{FLAG}: another process held the checkpoint setup lock for {SETUP_WAIT_S:.0f} s")
        time.sleep(0.05)
    try:
        saver.setup()
    finally:
        control.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
