"""Which chat model serves which role: given to build_graph, overridable per run, scripted by default."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from graph.cassette import Cassette, RecordingModel, ReplayChatModel
from graph.context import RunContext
from graph.scripted import ScriptedChatModel, load_scenario
from state.errors import ConfigError


@dataclass(frozen=True)
class RoleModels:
    """One chat model per role; any LangChain chat model that supports tool calling will do."""

    manager: BaseChatModel
    developer: BaseChatModel
    auditor: BaseChatModel

    @classmethod
    def of(
        cls,
        model: BaseChatModel | None = None,
        *,
        manager: BaseChatModel | None = None,
        developer: BaseChatModel | None = None,
        auditor: BaseChatModel | None = None,
    ) -> RoleModels | None:
        """One model for every role, with per-role overrides; None when no model is given at all."""
        if model is None and not (manager and developer and auditor):
            if manager or developer or auditor:
                given = {"manager": manager, "developer": developer, "auditor": auditor}
                missing = [role for role, chosen in given.items() if chosen is None]
                raise ConfigError(f"no model for role(s) {', '.join(missing)}: pass model= or a model for each role")
            return None
        return cls(manager=manager or model, developer=developer or model, auditor=auditor or model)

    def for_role(self, role: str) -> BaseChatModel:
        return getattr(self, role)


@functools.lru_cache(maxsize=16)
def scripted_models(scenario: str | None) -> RoleModels:
    """The offline scripted model for a scenario file (the bundled demo when None)."""
    model = ScriptedChatModel(scenario=load_scenario(scenario))
    return RoleModels(manager=model, developer=model, auditor=model)


def resolve_models(default: RoleModels | None, context: RunContext) -> RoleModels:
    """The run's models: a replay cassette, else the context's override, else build_graph's, else the scripted
    scenario; wrapped to record every exchange when the run records."""
    if context.replay:
        models = replay_models(context.replay)
    elif isinstance(context.models, RoleModels):
        models = context.models
    else:
        models = default if default is not None else scripted_models(context.scenario)
    if context.record:
        cassette = Cassette(context.record)
        models = RoleModels(
            **{
                role: RecordingModel(models.for_role(role), cassette)  # type: ignore[arg-type]
                for role in ("manager", "developer", "auditor")
            }
        )
    return models


@functools.lru_cache(maxsize=8)
def _replay_model(path: str, mtime_ns: int) -> ReplayChatModel:
    return ReplayChatModel.from_file(path)


def replay_models(path: str) -> RoleModels:
    """Every role answered from one cassette (loaded once per file version)."""
    model = _replay_model(path, os.stat(path).st_mtime_ns)
    return RoleModels(manager=model, developer=model, auditor=model)


def unwrap(model: object) -> object:
    """The model a recording wrapper records, or the model itself."""
    return getattr(model, "inner", model)
