"""The benchmarks' quick mode runs end to end and prints every figure, so `make bench` cannot rot.

Only that the figures are produced is checked here; whether they meet their targets is the full run's job
(`python -m bench`, written to docs/benchmarks.md), since tiny sizes on a shared machine cannot judge them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main

pytestmark = pytest.mark.slow

FIGURE_ROWS = [
    ("1. parallel", "speed-up, max_concurrency 1 -> "),
    ("1. parallel", "makespan / bound at max_concurrency "),
    ("2. overhead", "framework time per model call, buildcrew / bare loop"),
    ("3. prompt", "first developer prompt, "),
    ("4. checkpoints", "checkpoint db per task, "),
    ("4. checkpoints", "growth exponent k, "),
    ("5. memory", "peak RSS of a "),
]


def test_quick_mode_prints_and_writes_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "benchmarks.md"
    assert main(["--quick", "--out", str(out), "--workdir", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line.startswith(tuple(f for f, _ in FIGURE_ROWS))]
    for figure, metric in FIGURE_ROWS:
        matching = [line for line in table if line.startswith(figure) and metric in line]
        assert matching, f"no row {figure!r} / {metric!r} in:\n{printed}"
        for line in matching:  # a value with its unit: never a blank or a NaN
            assert "nan" not in line.lower(), line
    assert "quick mode" in printed
    doc = out.read_text(encoding="utf-8")
    for heading in ("## Results", "## Machine", "## Method", "## Measurements", "## Findings"):
        assert heading in doc, heading
    for key in ("nproc", "python", "langgraph", "date (UTC)"):
        assert f"- {key}: " in doc, key
    for _, metric in FIGURE_ROWS:
        assert metric in doc, metric
