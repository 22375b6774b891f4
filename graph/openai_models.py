"""Real chat models for the CLI: any OpenAI-compatible server, one model name per role.

The settings (names and base URL) are what a run folder's run.json keeps; the API key is read from the
environment each time the models are built and is never written anywhere.
"""

from __future__ import annotations

import os
from typing import Any

from graph.models import RoleModels
from state.errors import ConfigError

DEFAULT_MODEL = "gpt-4o-mini"
"""The model used when OPENAI_API_KEY is set but no model is named."""
MODEL_MAX_RETRIES = 3
"""Retries the OpenAI client makes on rate limits and server errors before a call counts as failed."""
MODEL_TIMEOUT_S = 120.0
"""Seconds one model request may take before the client gives up on it (and retries, within max_retries)."""
ROLES = ("manager", "developer", "auditor")
MODEL_FLAGS = ("model", "manager_model", "developer_model", "auditor_model", "base_url")


def api_key() -> str | None:
    return os.environ.get("OPENAI_API_KEY") or None


def model_settings(args: Any) -> dict[str, str | None] | None:
    """Per-role model names and base URL from the flags, or None when no model is configured.

    ``args`` needs the attributes model, manager_model, developer_model, auditor_model, base_url and
    scenario (any may be None). A scenario with no model flag means the offline scripted model.
    """
    flags = {name: getattr(args, name, None) for name in MODEL_FLAGS}
    named = [flags[name] for name in MODEL_FLAGS[:4] if flags[name]]
    base_url = flags["base_url"]
    if getattr(args, "scenario", None):
        if named or base_url:
            raise ConfigError(
                "--scenario plays the offline scripted model; it cannot be combined with "
                "--model, --base-url or a per-role model"
            )
        return None
    if not named and not base_url and not api_key():
        return None
    roles: dict[str, str | None] = {}
    for role in ROLES:
        name = flags[f"{role}_model"] or flags["model"]
        if not name and base_url:
            raise ConfigError(f"--base-url needs --model (or --{role}-model): the name of a model the server serves")
        roles[role] = name or DEFAULT_MODEL
    settings = {**roles, "base_url": base_url, **client_settings(args)}
    flag = next((f"--{name.replace('_', '-')} {flags[name]}" for name in MODEL_FLAGS[:4] if flags[name]), "--model")
    check_key(settings, flag)
    return settings


def client_settings(args: Any) -> dict[str, float | int]:
    """The OpenAI client's retry and timeout flags, validated; only those given."""
    settings: dict[str, float | int] = {}
    raw_retries, raw_timeout = getattr(args, "max_retries", None), getattr(args, "request_timeout", None)
    if raw_retries is not None:
        try:
            settings["max_retries"] = int(str(raw_retries).strip())
        except ValueError:
            settings["max_retries"] = -1
        if settings["max_retries"] < 0:
            raise ConfigError(f"--max-retries must be a whole number >= 0, got {raw_retries!r}")
    if raw_timeout is not None:
        try:
            settings["timeout"] = float(raw_timeout)
        except ValueError:
            settings["timeout"] = 0.0
        if not settings["timeout"] > 0:
            raise ConfigError(f"--request-timeout must be a number of seconds > 0, got {raw_timeout!r}")
    return settings


def check_key(settings: dict[str, str | None], what: str = "the run's model") -> None:
    if not settings.get("base_url") and not api_key():
        raise ConfigError(
            f"{what} needs an API key: OPENAI_API_KEY is not set (export it, or pass --base-url for "
            "a server that needs no key)"
        )


def build_models(settings: dict[str, str | None] | None) -> RoleModels | None:
    """One ChatOpenAI per distinct model name; None (the scripted model) when there are no settings."""
    if settings is None:
        return None
    check_key(settings)
    from langchain_openai import ChatOpenAI  # imported here: offline runs never pay for it

    base_url = settings.get("base_url")
    key = api_key() or ("not-needed" if base_url else None)
    cache: dict[str, ChatOpenAI] = {}
    for role in ROLES:
        name = str(settings[role])
        if name not in cache:
            cache[name] = ChatOpenAI(
                model=name,
                base_url=base_url,
                api_key=key,
                max_retries=int(settings.get("max_retries", MODEL_MAX_RETRIES)),  # type: ignore[arg-type]
                timeout=float(settings.get("timeout", MODEL_TIMEOUT_S)),
            )  # type: ignore[arg-type]
    return RoleModels(**{role: cache[str(settings[role])] for role in ROLES})


def make_models(args: Any) -> RoleModels | None:
    """The models the flags ask for, or None for the offline scripted model."""
    return build_models(model_settings(args))
