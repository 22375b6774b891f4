"""The team graph for ``langgraph dev`` and LangGraph Studio (see langgraph.json).

The server brings its own checkpointer, so the graph is compiled without one. It plays the offline scripted
demo unless a real model is configured by environment:

- ``BUILDCREW_MODEL`` or ``OPENAI_API_KEY`` set: every role uses ``ChatOpenAI(model=$BUILDCREW_MODEL)``
  (default ``gpt-4o-mini``), against ``$BUILDCREW_BASE_URL`` when set (any OpenAI-compatible server).
- neither set: the scripted model, so Studio works offline.

Each Studio thread gets its own run folder, ``runs/<thread id>`` under the server's working directory
(the thread id is the UUID the server gives the thread); pass ``run_dir`` in the run's context to choose another.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = ("graph", "state", "tools")


def _own_packages_first() -> None:
    """langgraph dev loads this file by path, not as ``graph.studio``: make ``graph``, ``state`` and ``tools``
    resolve to the packages next to it, even if another distribution installs a package by one of those names."""
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and Path(spec.origin).resolve().parent.parent == _ROOT:
            continue
        if name in sys.modules:
            raise ImportError(
                f"a different {name!r} package ({spec.origin if spec else '?'}) is already imported; "
                f"buildcrew needs {_ROOT / name}"
            )
        sys.path.insert(0, str(_ROOT))
        return


_own_packages_first()

from langgraph.graph.state import CompiledStateGraph  # noqa: E402

from graph.builder import build_graph  # noqa: E402
from graph.models import RoleModels  # noqa: E402
from graph.openai_models import DEFAULT_MODEL, ROLES, build_models  # noqa: E402
from state.errors import ConfigError  # noqa: E402


def models_from_env() -> RoleModels | None:
    """ChatOpenAI models when BUILDCREW_MODEL or OPENAI_API_KEY is set; None for the offline scripted model."""
    name, base_url = os.environ.get("BUILDCREW_MODEL"), os.environ.get("BUILDCREW_BASE_URL")
    if not name and not os.environ.get("OPENAI_API_KEY"):
        if base_url:
            raise ConfigError(
                f"BUILDCREW_BASE_URL={base_url!r} is set but BUILDCREW_MODEL is not: name the model "
                "the server serves, e.g. BUILDCREW_MODEL=qwen2.5-coder"
            )
        return None
    return build_models({**{role: name or DEFAULT_MODEL for role in ROLES}, "base_url": base_url or None})


def make_graph() -> CompiledStateGraph:
    """The Studio graph: no checkpointer (the server has its own), on the models the environment names."""
    models = models_from_env()
    if models is None:
        return build_graph()
    return build_graph(manager=models.manager, developer=models.developer, auditor=models.auditor)


graph = make_graph()
