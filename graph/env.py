"""What a node needs to act: its settings, run folder, workspace, audit trail and models."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from graph.budget import BudgetMeter, meter_for
from graph.context import RunContext, RunPaths, run_paths
from graph.models import RoleModels, resolve_models
from state.models import Callback
from tools.agent_tools import ToolBox
from tools.audit import AuditTrail
from tools.workspace import Workspace

logger = logging.getLogger("buildcrew")


@dataclass
class NodeEnv:
    context: RunContext
    paths: RunPaths
    workspace: Workspace
    trail: AuditTrail
    default_models: RoleModels | None

    @functools.cached_property
    def models(self) -> RoleModels:
        """Resolved on first use, so nodes that call no model never load a scenario."""
        return resolve_models(self.default_models, self.context)

    @property
    def meter(self) -> BudgetMeter:
        c = self.context
        return meter_for(self.paths.run_id, c.max_tokens, c.max_cost, c.price_table())

    def toolbox(self, task_id: str, role: str, attempt: int = 1) -> ToolBox:
        return ToolBox(
            workspace=self.workspace,
            trail=self.trail,
            task_id=task_id,
            role=role,  # type: ignore[arg-type]
            attempt=attempt,
            output_dir=self.paths.outputs,
            hide_dir=self.paths.run_dir,
            command_timeout=self.context.command_timeout,
        )


def node_env(
    runtime: Runtime[RunContext] | None, config: RunnableConfig | None, default_models: RoleModels | None
) -> NodeEnv:
    context = _context(runtime)
    paths = run_paths(context, config)
    workspace = Workspace(paths.workspace, max_bytes=context.max_file_bytes)
    return NodeEnv(
        context=context,
        paths=paths,
        workspace=workspace,
        trail=AuditTrail(paths.events, paths.run_id),
        default_models=default_models,
    )


def _context(runtime: Runtime[RunContext] | None) -> RunContext:
    context = getattr(runtime, "context", None)
    if context is None:
        return RunContext()
    if isinstance(context, dict):
        return RunContext(**context)
    return context


def emit(event: str, **fields: object) -> None:
    """Progress for stream consumers (the CLI's live table, Studio); silently dropped when nobody listens."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"event": event, **fields})


def announce_blockers(callbacks: list[Callback]) -> None:
    """Blockers are logged at WARNING the moment they arrive, and streamed."""
    for callback in callbacks:
        if callback.severity == "blocker":
            logger.warning("BLOCKER on %s from %s: %s", callback.task_id or "run", callback.source, callback.message)
            emit("blocker", task_id=callback.task_id, source=callback.source, message=callback.message)
