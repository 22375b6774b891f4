"""Model flags: which models a run gets, and that run.json keeps their names but never the API key."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from graph.context import RunContext
from graph.openai_models import DEFAULT_MODEL, make_models, model_settings
from graph.runs import create_run, find_run
from state.errors import ConfigError


def flags(**given: str) -> argparse.Namespace:
    names = ("model", "base_url", "manager_model", "developer_model", "auditor_model", "scenario")
    return argparse.Namespace(**{name: given.get(name) for name in names})


def test_no_model_and_no_key_means_the_scripted_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert make_models(flags()) is None


def test_a_key_alone_selects_the_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert model_settings(flags()) == {m: DEFAULT_MODEL for m in ("manager", "developer", "auditor")} | {
        "base_url": None
    }
    assert model_settings(flags(scenario="s.json")) is None  # a scenario is always the scripted model


def test_per_role_models_on_a_keyless_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    models = make_models(flags(model="big", auditor_model="small", base_url="http://127.0.0.1:9/v1"))
    assert models is not None
    assert isinstance(models.manager, ChatOpenAI) and models.manager is models.developer
    assert (models.manager.model_name, models.auditor.model_name) == ("big", "small")
    assert str(models.auditor.openai_api_base) == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"model": "gpt-4o"}, "--model gpt-4o needs an API key: OPENAI_API_KEY is not set"),
        ({"base_url": "http://127.0.0.1:9"}, "--base-url needs --model"),
        ({"model": "m", "scenario": "s.json"}, "--scenario plays the offline scripted model"),
    ],
)
def test_bad_model_flags_name_the_problem(monkeypatch: pytest.MonkeyPatch, given: dict, message: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=message):
        make_models(flags(**given))


def test_run_json_keeps_model_names_but_never_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = model_settings(flags(model="gpt-4o", base_url="https://example.invalid/v1"))
    run = create_run(tmp_path, goal="g", context=RunContext(max_rounds=2), models=settings, scenario=None)
    text = (run.path / "run.json").read_text()
    assert "sk-very-secret" not in text
    stored = json.loads(text)
    assert stored["models"]["developer"] == "gpt-4o" and stored["models"]["base_url"] == "https://example.invalid/v1"
    assert stored["context"]["max_rounds"] == 2 and stored["offline"] is False
    assert find_run(run.run_id, tmp_path).path == run.path
    assert find_run(run.run_id[:15], tmp_path).path == run.path  # a unique prefix is enough
