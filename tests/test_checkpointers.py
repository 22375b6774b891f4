"""`--checkpointer`: SQLite in the run folder by default, or PostgreSQL; refused with one line when wrong."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_support import RUNS, buildcrew, demo_scenario, only_run, report, start_buildcrew

from graph.builder import build_graph
from graph.checkpointers import checkpointer_kind, open_checkpointer, open_postgres, redact, resume_spec, stored_spec
from state.errors import ConfigError


def test_specs_are_sqlite_or_postgresql_urls_and_never_keep_a_password() -> None:
    assert checkpointer_kind(None) == checkpointer_kind("sqlite") == "sqlite"
    assert checkpointer_kind("postgresql://u@h/db") == checkpointer_kind("postgres://u@h/db") == "postgres"
    for bad in ("mysql://u@h/db", "postgresql", "checkpoints.sqlite", ""):
        with pytest.raises(ConfigError, match="^--checkpointer must be 'sqlite' or a postgresql://"):
            checkpointer_kind(bad)
    assert stored_spec(None) is None and stored_spec("sqlite") is None
    assert stored_spec("postgresql://bob:s3cret@db:5432/runs?password=x&sslmode=require") == (
        "postgresql://bob@db:5432/runs?sslmode=require"
    )
    assert "s3cret" not in redact("postgresql://bob:s3cret@db/runs")
    assert resume_spec("postgresql://bob@db/runs", None) == "postgresql://bob@db/runs"
    assert resume_spec("postgresql://bob@db/runs", "postgresql://bob:pw@db/runs") == "postgresql://bob:pw@db/runs"
    with pytest.raises(
        ConfigError, match="^--checkpointer: this run keeps its checkpoints in postgresql://bob@db/runs"
    ):
        resume_spec("postgresql://bob@db/runs", "postgresql://bob@elsewhere/runs")
    with pytest.raises(ConfigError, match="^--checkpointer: this run keeps its checkpoints in sqlite"):
        resume_spec(None, "postgresql://bob@db/runs")


def test_sqlite_checkpoints_are_in_wal_mode_in_the_run_folder(tmp_path: Path) -> None:
    with open_checkpointer(None, tmp_path) as saver:
        assert saver.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "checkpoints.sqlite").exists()


def test_processes_starting_together_set_up_a_fresh_database_once(postgres_url: str) -> None:
    import psycopg

    name = f"buildcrew_setup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        fresh = postgres_url.rsplit("/", 1)[0] + "/" + name

        def open_one(_: int) -> int:
            with open_postgres(fresh) as saver, saver._cursor() as cur:
                return cur.execute("SELECT count(*) AS n FROM checkpoint_migrations").fetchone()["n"]

        try:
            with ThreadPoolExecutor(8) as pool:
                counts = list(pool.map(open_one, range(8)))
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert len(set(counts)) == 1 and counts[0] > 0


@pytest.mark.slow
def test_a_run_on_postgresql_stores_the_url_without_its_password(
    tmp_path: Path, postgres_url: str, postgres_saver: Any
) -> None:
    url = postgres_url.replace("://postgres@", "://postgres:not-stored@", 1)
    result = buildcrew(tmp_path, "run", "--checkpointer", url, "--runs-dir", RUNS)
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run(tmp_path)
    assert report(run_dir)["verdict"] == "PASS"
    assert "not-stored" not in (run_dir / "run.json").read_text()
    assert json.loads((run_dir / "run.json").read_text())["checkpointer"] == redact(url)
    assert not (run_dir / "checkpoints.sqlite").exists()
    done = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS)  # the stored URL, no flag needed
    assert done.returncode == 0 and "already finished" in done.stdout, done.stdout + done.stderr
    other = buildcrew(tmp_path, "resume", run_dir.name, "--runs-dir", RUNS, "--checkpointer", "sqlite")
    assert other.returncode == 2 and "--checkpointer: this run keeps its checkpoints in" in other.stderr
    state = build_graph(checkpointer=postgres_saver).get_state({"configurable": {"thread_id": run_dir.name}})
    assert state.values["report"].verdict == "PASS" and sorted(state.values["tasks"]) == ["T1", "T2", "T2.r1"]
    postgres_saver.delete_thread(run_dir.name)


def test_an_unreachable_or_wrong_checkpointer_is_refused_before_a_run_exists(tmp_path: Path) -> None:
    down = buildcrew(tmp_path, "run", "--checkpointer", "postgresql://nobody:pw@127.0.0.1:1/none", "--runs-dir", RUNS)
    assert down.returncode == 2
    assert down.stderr.startswith("buildcrew: error: --checkpointer: cannot connect to postgresql://nobody@127.0.0.1:1")
    assert "pw" not in down.stderr.replace("password", "")
    wrong = buildcrew(tmp_path, "run", "--checkpointer", "redis://x", "--runs-dir", RUNS)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "--checkpointer must be" in wrong.stderr
    assert not (tmp_path / RUNS).exists()


READER = textwrap.dedent("""
    import sys, time
    from graph.builder import build_graph
    from graph.checkpointers import open_checkpointer
    run_dir, seconds = sys.argv[1], float(sys.argv[2])
    reads, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open_checkpointer(None, run_dir) as saver:
            build_graph(checkpointer=saver).get_state({"configurable": {"thread_id": run_dir.rsplit("/", 1)[-1]}})
        reads += 1
    print(reads)
""")


@pytest.mark.slow
def test_sqlite_readers_never_meet_a_locked_database_while_a_run_writes(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.json"
    scenario.write_text(json.dumps(demo_scenario() | {"latency_s": 0.05}))
    process = start_buildcrew(tmp_path, "run", "--scenario", str(scenario), "--runs-dir", RUNS)
    deadline = time.monotonic() + 30
    while not list((tmp_path / RUNS).glob("*/checkpoints.sqlite")) and time.monotonic() < deadline:
        time.sleep(0.01)
    run_dir = only_run(tmp_path)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(run_dir), "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    listings = [
        buildcrew(tmp_path, command, *extra, "--runs-dir", RUNS)
        for command, extra in (("runs", ()), ("report", (run_dir.name,)), ("events", (run_dir.name,)))
    ]
    outputs = [reader.communicate(timeout=60) for reader in readers]
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stdout + stderr
    for reader, (out, err) in zip(readers, outputs, strict=True):
        assert reader.returncode == 0 and int(out) > 0, err
    for listing in listings:
        assert "locked" not in listing.stderr and listing.returncode in (0, 2), listing.stderr
    assert "database is locked" not in stderr
    assert sqlite3.connect(run_dir / "checkpoints.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
