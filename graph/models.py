"""Which chat model serves which role: given to build_graph, overridable per run, scripted by default."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

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
    """The run's models: the context's override, else build_graph's, else the scripted scenario."""
    if isinstance(context.models, RoleModels):
        return context.models
    if default is not None:
        return default
    return scripted_models(context.scenario)
