"""Run settings: passed as LangGraph runtime context, never stored in state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from graph.budget import Price
from state.errors import ConfigError

VerifyDepth = Literal["integrity", "commands", "full"]
VERIFY_DEPTHS: tuple[VerifyDepth, ...] = ("integrity", "commands", "full")
MAX_CONCURRENCY = 64
"""The most agents a run may have at once (the thread pool build_graph gives LangGraph)."""


@dataclass
class RunContext:
    """Everything a run is configured with. Plain values, so Studio and the SDK can pass it as JSON."""

    run_dir: str | None = None
    """Folder holding the workspace, the audit trail and the reports; default ``runs/<thread id>``."""
    run_id: str | None = None
    """Id written into every audit event; default the thread id."""
    max_concurrency: int = 4
    """Agents that may run at once."""
    max_attempts: int = 3
    """Attempts per task in all, remediations included."""
    max_rounds: int = 5
    """Times the manager may turn blockers into remediation tasks."""
    max_tool_turns: int = 30
    """Model turns one agent may take before its task fails."""
    loop_guard_repeats: int = 3
    """Identical tool calls in a row that stop an agent as stuck."""
    verify_depth: VerifyDepth = "commands"
    """integrity: files and tasks only; commands: also the verification command; full: also a model review."""
    verify_command: str | None = None
    """Command run in the workspace by final verification, e.g. ``python -m pytest -q``."""
    command_timeout: float = 120.0
    """Seconds any command may run."""
    max_file_bytes: int = 1024 * 1024
    """Largest file content an agent may write."""
    max_tokens: int | None = None
    """Token budget for the whole run (input + output); no new model call starts once it is spent."""
    max_cost: float | None = None
    """Cost budget in US dollars, priced with ``prices``."""
    prices: dict[str, Any] | None = None
    """Price table: model name (or "*") -> {"input": $ per million tokens, "output": $ per million tokens}."""
    approve: list[str] = field(default_factory=list)
    """Steps a person must approve before they take effect: "plan", "remediation"."""
    record: str | None = None
    """Cassette (JSONL) to which every model exchange is appended."""
    replay: str | None = None
    """Cassette whose recorded answers replace the models, offline, keyed by role, task and turn."""
    scenario: str | None = None
    """Scenario file for the offline scripted model, used when no real model is configured."""
    models: Any = field(default=None, repr=False)
    """A ``RoleModels`` overriding the models given to ``build_graph`` (Python callers only)."""

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "max_attempts", "max_rounds", "max_tool_turns", "loop_guard_repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.max_concurrency > MAX_CONCURRENCY:
            raise ConfigError(f"max_concurrency must be at most {MAX_CONCURRENCY}, got {self.max_concurrency!r}")
        if self.verify_depth not in VERIFY_DEPTHS:
            raise ConfigError(f"verify_depth must be one of {', '.join(VERIFY_DEPTHS)}, got {self.verify_depth!r}")
        if self.command_timeout <= 0:
            raise ConfigError(f"command_timeout must be > 0, got {self.command_timeout!r}")
        if self.max_file_bytes < 1:
            raise ConfigError(f"max_file_bytes must be >= 1, got {self.max_file_bytes!r}")
        unknown = sorted(set(self.approve) - {"plan", "remediation"})
        if unknown:
            raise ConfigError(f"approve accepts plan and remediation, got {', '.join(map(repr, unknown))}")
        if self.max_tokens is not None and (not isinstance(self.max_tokens, int) or self.max_tokens < 1):
            raise ConfigError(f"max_tokens must be a whole number >= 1, got {self.max_tokens!r}")
        if self.max_cost is not None and not (isinstance(self.max_cost, int | float) and self.max_cost > 0):
            raise ConfigError(f"max_cost must be a number > 0, got {self.max_cost!r}")
        if self.max_cost is not None and not self.prices:
            raise ConfigError("max_cost needs a price table (--prices FILE.json) to count the cost")
        self.price_table()
        if self.record and self.replay:
            raise ConfigError("record and replay cannot be combined: a replay would record itself")
        if self.replay and not Path(self.replay).is_file():
            raise ConfigError(f"replay names no cassette file: {self.replay!r}")

    def price_table(self) -> dict[str, Price]:
        """The validated price table."""
        try:
            return {name: Price.model_validate(price) for name, price in (self.prices or {}).items()}
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise ConfigError(f"prices has a bad entry at {problem['loc']}: {problem['msg']}") from exc


@dataclass(frozen=True)
class RunPaths:
    """Where a run's files live."""

    run_dir: Path
    run_id: str

    @property
    def workspace(self) -> Path:
        return self.run_dir / "workspace"

    @property
    def events(self) -> Path:
        return self.run_dir / "events.jsonl"

    @property
    def outputs(self) -> Path:
        return self.run_dir / "outputs"

    @property
    def report_json(self) -> Path:
        return self.run_dir / "report.json"

    @property
    def report_md(self) -> Path:
        return self.run_dir / "report.md"

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints.sqlite"


def run_paths(context: RunContext, config: dict | None) -> RunPaths:
    """Resolve the run folder from the context, falling back to the thread id in the config."""
    thread_id = str(((config or {}).get("configurable") or {}).get("thread_id") or "default")
    run_dir = Path(context.run_dir) if context.run_dir else Path("runs") / thread_id
    return RunPaths(run_dir=run_dir.resolve(), run_id=context.run_id or run_dir.name)
