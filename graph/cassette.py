"""Record and replay: every model exchange to a JSONL cassette, and answers from it offline.

Answers are keyed by (role, task, turn) from the call's metadata, never by arrival order, so the
scheduling order of parallel branches cannot change what a replay returns.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool

from graph.scripted import ROLE_KEY, TASK_KEY, TURN_KEY, KeyedChatModel
from state.errors import ConfigError, ReplayMismatch

Key = tuple[str, str, int]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Cassette:
    """An append-only JSONL file of exchanges; each line is flushed and fsynced as it is written."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        with _locks_guard:  # one lock per file, however many Cassette objects parallel branches make
            self._lock = _locks.setdefault(str(self.path.absolute()), threading.Lock())

    def append(
        self, key: Key, model: str, messages: Sequence[BaseMessage], tools: list[str], response: AIMessage
    ) -> None:
        role, task, turn = key
        last = messages[-1] if messages else None
        entry = {
            "role": role,
            "task": task,
            "turn": turn,
            "model": model,
            "request": {
                "messages": len(messages),
                "tools": tools,
                "last_message": {"type": last.type, "content": str(last.content)} if last else None,
            },
            "response": message_to_dict(response),
            "usage": response.usage_metadata,
        }
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def load(self) -> dict[Key, AIMessage]:
        """Answers by key; a key recorded twice (a resumed recording) keeps its last answer."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read cassette {str(self.path)!r}: {exc.strerror or exc}") from exc
        answers: dict[Key, AIMessage] = {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                [message] = messages_from_dict([entry["response"]])
                answers[(entry["role"], entry["task"], int(entry["turn"]))] = message  # type: ignore[assignment]
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"cassette {str(self.path)!r} line {number} is malformed: {exc}") from exc
        return answers


def _key(metadata: dict[str, Any] | None) -> Key:
    metadata = metadata or {}
    if metadata.get(ROLE_KEY) is None or metadata.get(TASK_KEY) is None or metadata.get(TURN_KEY) is None:
        raise ReplayMismatch("a model call carried no buildcrew role/task/turn metadata to key the cassette by")
    return str(metadata[ROLE_KEY]), str(metadata[TASK_KEY]), int(metadata[TURN_KEY])


class RecordingModel:
    """Wraps any chat model: calls go to it unchanged, and each exchange is written to the cassette."""

    def __init__(self, inner: BaseChatModel, cassette: Cassette) -> None:
        self.inner, self.cassette = inner, cassette
        self.model_name = getattr(inner, "model_name", None) or type(inner).__name__

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        names = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        return _RecordingCall(self.inner.bind_tools(tools, **kwargs), self, names)


class _RecordingCall:
    def __init__(self, bound: Runnable, owner: RecordingModel, tools: list[str]) -> None:
        self.bound, self.owner, self.tools = bound, owner, tools

    def invoke(self, messages: Sequence[BaseMessage], config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        response = self.bound.invoke(messages, config, **kwargs)
        key = _key((config or {}).get("metadata"))
        self.owner.cassette.append(key, self.owner.model_name, messages, self.tools, response)
        return response


class ReplayChatModel(KeyedChatModel):
    """A chat model that answers from a cassette, offline; a request it has no answer for stops the run."""

    cassette_path: str
    answers: dict[Key, AIMessage]

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> ReplayChatModel:
        return cls(cassette_path=str(path), answers=Cassette(path).load())

    @property
    def _llm_type(self) -> str:
        return "buildcrew-replay"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        key = _key(run_manager.metadata if run_manager else None)
        answer = self.answers.get(key)
        if answer is None:
            role, task, turn = key
            raise ReplayMismatch(
                f"replay cassette {self.cassette_path!r} has no answer for {role} task {task!r} "
                f"turn {turn}: the run diverged from the recording or the cassette ran out"
            )
        return ChatResult(generations=[ChatGeneration(message=answer.model_copy())])
