"""The CLI's model options: budgets stop a run with an honest FAIL; a recorded run replays offline identically."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import RUNS, buildcrew

DEMO = ["run", "--runs-dir", RUNS]


def _only_run(cwd: Path) -> Path:
    [run_dir] = [p for p in (cwd / RUNS).iterdir() if p.is_dir()]
    return run_dir


def _files(run_dir: Path) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in json.loads((run_dir / "report.json").read_text())["files"]}


def test_a_recorded_demo_replays_offline_to_the_same_files_and_verdict(tmp_path: Path) -> None:
    (tmp_path / "rec").mkdir()
    (tmp_path / "rep").mkdir()
    recorded = buildcrew(tmp_path / "rec", *DEMO, "--record", str(tmp_path / "demo.jsonl"))
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "recording every model exchange" in recorded.stdout
    command = "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p no:cacheprovider"
    replayed = buildcrew(tmp_path / "rep", *DEMO, "--replay", str(tmp_path / "demo.jsonl"), "--verify-command", command)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replaying every model answer" in replayed.stdout
    assert _files(_only_run(tmp_path / "rep")) == _files(_only_run(tmp_path / "rec"))


def test_a_replay_that_runs_out_stops_with_a_clear_error(tmp_path: Path) -> None:
    cassette = tmp_path / "short.jsonl"
    assert buildcrew(tmp_path, *DEMO, "--record", str(cassette)).returncode == 0
    lines = [line for line in cassette.read_text().splitlines() if '"task": "T2.r1"' not in line]
    cassette.write_text("\n".join(lines) + "\n")
    result = buildcrew(tmp_path, *DEMO, "--runs-dir", "again", "--replay", str(cassette))
    assert result.returncode == 2
    assert "has no answer for developer task 'T2.r1' turn 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_budget_ends_the_run_with_fail_budget_exhausted(tmp_path: Path) -> None:
    result = buildcrew(tmp_path, *DEMO, "--max-tokens", "2000")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((_only_run(tmp_path) / "report.json").read_text())
    assert report["verdict"] == "FAIL" and report["reason"].startswith("budget exhausted")
    assert report["stop_reason"].startswith("budget exhausted")


def test_a_cost_budget_uses_the_price_table(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"*": {"input": 1000.0, "output": 1000.0}}))
    result = buildcrew(tmp_path, *DEMO, "--max-cost", "1.5", "--prices", str(prices))
    assert result.returncode == 1
    report = json.loads((_only_run(tmp_path) / "report.json").read_text())
    assert "budget exhausted" in report["reason"] and report["metrics"]["cost_usd"] >= 1.5


def test_bad_model_options_exit_2_naming_the_flag(tmp_path: Path) -> None:
    cases = {
        ("--max-tokens", "0"): "--max-tokens must be a whole number >= 1",
        ("--max-cost", "cheap"): "--max-cost must be a number",
        ("--max-cost", "1"): "--max-cost needs a price table",
        ("--prices", "/nonexistent.json"): "--prices: cannot read",
        ("--replay", "/nonexistent.jsonl"): "--replay names no cassette file",
        ("--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "-1"): "--max-retries must be",
        ("--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--request-timeout", "0"): "--request-timeout must",
    }
    for flags, message in cases.items():
        result = buildcrew(tmp_path, *DEMO, *flags)
        assert result.returncode == 2, (flags, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (flags, result.stderr)
