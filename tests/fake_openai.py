"""A local OpenAI-compatible chat-completions server for tests (standard library only).

``FakeOpenAI`` serves ``POST /v1/chat/completions`` on 127.0.0.1 (a free port) from a daemon thread, in
both the plain and the streaming (server-sent events) forms of the OpenAI protocol, so the real
``langchain_openai.ChatOpenAI`` client and the real ``openai`` SDK (its retries, timeouts and error
classes included) can be driven end to end without touching the network.

What it answers:

* ``faults`` come first: a queue of ``Fault`` objects, each applied to the next request(s) it matches
  (``when``), ``times`` times (``None``: forever). Factories: ``rate_limited`` (429 + ``Retry-After``),
  ``server_error`` (500), ``invalid_api_key`` (401), ``hang`` (no answer for N seconds) and
  ``bad_arguments`` (a tool call whose ``arguments`` string is not valid JSON).
* otherwise the ``answerer``: a callable ``(Call) -> Reply | Fault``. ``ScenarioAnswerer`` plays a
  buildcrew ``Scenario`` (graph/scripted.py), finding the role, task and turn in the request itself.

Like OpenAI, it refuses (400) a conversation in which an assistant message's tool calls are not each
answered by a tool message (``strict=True``, the default), so a graph bug there shows up as it would live.

Everything received is kept: ``requests`` (the JSON bodies) and ``calls`` (each request with what the
server made of it and what it answered, usage included), both safe to read while requests are served.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graph.prompts import AUDITOR, DEVELOPER, FINAL_REVIEW, MANAGER_PLAN, MANAGER_REMEDIATE
from graph.scripted import Scenario, ScriptedTurn

CHAT_PATH = "/v1/chat/completions"

# -- what a request is ----------------------------------------------------------------------------------


@dataclass
class Call:
    """One request as received: its body, who sent it (as far as the prompts tell) and how it was answered."""

    index: int
    body: dict[str, Any]
    received_at: float
    """``time.monotonic()`` when the request arrived."""
    role: str | None = None
    """manager, developer or auditor; None when the system prompt is not one of buildcrew's."""
    key: str | None = None
    """The scenario key: "plan", "remediate:<root id>", "final" or a task id."""
    turn: int = 1
    """1 + the number of assistant messages in the request."""
    outcome: str = "pending"
    """"answered", "error <status>", "hang", "bad_arguments" or "aborted" (the server stopped first)."""
    usage: dict[str, int] | None = None
    """The usage sent to the client, if any was."""
    tool_call_ids: list[str] = field(default_factory=list)
    problem: str | None = None
    """Why the request was refused as an invalid conversation (strict mode), if it was."""

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def is_for(self, role: str | None = None, key: str | None = None, turn: int | None = None) -> bool:
        return (
            (role is None or self.role == role)
            and (key is None or self.key == key)
            and (turn is None or self.turn == turn)
        )


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


_SYSTEM_ROLES = {
    MANAGER_PLAN.strip(): ("manager", "plan"),
    MANAGER_REMEDIATE.strip(): ("manager", "remediate"),
    DEVELOPER.strip(): ("developer", "task"),
    AUDITOR.strip(): ("auditor", "task"),
    FINAL_REVIEW.strip(): ("auditor", "final"),
}
_TASK_PATTERNS = (re.compile(r"^Your task: (\S+) - ", re.M), re.compile(r"^Review task (\S+) - ", re.M))
_REMEDIATE_PATTERN = re.compile(r"^Task (\S+) - ", re.M)


def conversation_problem(body: dict[str, Any]) -> str | None:
    """What OpenAI would reject in the request's messages (its 400 message), or None.

    Every assistant message with tool_calls must be followed by one tool message per call id, and a tool
    message must answer a call of the assistant message before it.
    """
    messages = body.get("messages")
    if not body.get("model"):
        return "you must provide a model parameter"
    if not isinstance(messages, list) or not messages:
        return "[] is too short - 'messages'"
    open_ids: list[str] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_ids:
                return (
                    f"Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    f"with 'tool_calls' (messages[{i}], tool_call_id {call_id!r})."
                )
            open_ids.remove(call_id)
            continue
        if open_ids:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: "
                f"{', '.join(open_ids)}"
            )
        if role == "assistant":
            open_ids = [str(call.get("id")) for call in message.get("tool_calls") or []]
    if open_ids:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(open_ids)}"
        )
    return None


def identify(body: dict[str, Any]) -> tuple[str | None, str | None, int]:
    """(role, scenario key, turn) of a request, read from buildcrew's prompts."""
    messages = body.get("messages") or []
    system = next((_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")), "")
    user = next((_text(m.get("content")) for m in messages if m.get("role") == "user"), "")
    turn = 1 + sum(m.get("role") == "assistant" for m in messages)
    role, kind = _SYSTEM_ROLES.get(system.strip(), (None, None))
    if kind in ("plan", "final"):
        return role, kind, turn
    patterns = (_REMEDIATE_PATTERN,) if kind == "remediate" else _TASK_PATTERNS
    task = next((m.group(1) for p in patterns if (m := p.search(user))), None)
    if role is None or task is None:
        return role, None, turn
    return role, f"remediate:{task}" if kind == "remediate" else task, turn


# -- answers and faults ---------------------------------------------------------------------------------


@dataclass
class Reply:
    """A normal answer: text and tool calls, each given as (name, raw arguments string)."""

    content: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def calling(cls, name: str, args: dict[str, Any], content: str = "") -> Reply:
        return cls(content=content, tool_calls=[(name, json.dumps(args))])


@dataclass
class Fault:
    """Something other than a normal answer, for the next request(s) it matches."""

    kind: str
    """"status" (an HTTP error), "hang" (wait, then answer normally) or "bad_arguments"."""
    status: int = 500
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    tool_name: str = "write_file"
    arguments: str = '{"path": "a.txt" "content": "x"}'
    when: Callable[[Call], bool] | None = None
    """Which requests it applies to; None: any."""
    times: int | None = 1
    """How many requests it applies to; None: every matching request, forever."""

    def matches(self, call: Call) -> bool:
        return self.when is None or bool(self.when(call))


def _error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"message": message, "type": type_, "param": None, "code": code}


def rate_limited(retry_after: float = 1, **kw: Any) -> Fault:
    """429 with a Retry-After header (seconds), as a rate-limited provider answers."""
    return Fault(
        "status",
        status=429,
        headers={"Retry-After": f"{retry_after:g}"},
        error=_error("Rate limit reached for fake-model. Please try again later.", "requests", "rate_limit_exceeded"),
        **kw,
    )


def server_error(**kw: Any) -> Fault:
    return Fault(
        "status",
        status=500,
        error=_error("The server had an error while processing your request.", "server_error"),
        **kw,
    )


def invalid_api_key(**kw: Any) -> Fault:
    return Fault(
        "status",
        status=401,
        error=_error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
        **kw,
    )


def hang(seconds: float, **kw: Any) -> Fault:
    """Say nothing for ``seconds`` (the client should time out first), then answer normally."""
    return Fault("hang", seconds=seconds, **kw)


def bad_arguments(
    tool_name: str = "write_file", arguments: str = '{"path": "a.txt" "content": "x"}', **kw: Any
) -> Fault:
    """Answer with a call to ``tool_name`` whose arguments string is not valid JSON (even partially)."""
    return Fault("bad_arguments", tool_name=tool_name, arguments=arguments, **kw)


def request_for(role: str | None = None, key: str | None = None, turn: int | None = None) -> Callable[[Call], bool]:
    """A ``when`` predicate: requests of that role, scenario key and turn (None: any)."""
    return lambda call: call.is_for(role, key, turn)


Answerer = Callable[[Call], "Reply | Fault"]


class ScenarioAnswerer:
    """Plays a buildcrew Scenario over the wire, as ScriptedChatModel does in process.

    The role comes from the system prompt, the task from the user prompt, the turn from the number of
    assistant messages in the request. Remediation and final-review calls are single-shot, so their turn
    (the remediation number, the final pass) is the count of such calls answered so far for that key.
    A scripted ``error`` is answered as a 400 error (no retry); ``latency_s`` delays every answer.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._lock = threading.Lock()
        self._single_shot: Counter[str] = Counter()

    def __call__(self, call: Call) -> Reply | Fault:
        if call.role is None or call.key is None:
            return Fault(
                "status",
                status=400,
                error=_error(
                    "fake server: cannot tell the role and task of this request from its prompts",
                    "invalid_request_error",
                ),
            )
        turn = call.turn
        if call.key == "final" or call.key.startswith("remediate:"):
            with self._lock:
                self._single_shot[call.key] += 1
                turn = self._single_shot[call.key]
        try:
            scripted: ScriptedTurn = self.scenario.answer(call.role, call.key, turn)
        except Exception as exc:  # noqa: BLE001 - a missing script is the test's bug: say it to the client
            return Fault("status", status=400, error=_error(f"fake server: {exc}", "invalid_request_error"))
        if self.scenario.latency_s:
            time.sleep(self.scenario.latency_s)
        if scripted.error is not None:
            return Fault("status", status=400, error=_error(scripted.error, "invalid_request_error"))
        calls = [(c.name, json.dumps(c.args)) for c in scripted.tool_calls]
        calls += [(str(raw.get("name")), str(raw.get("arguments"))) for raw in scripted.raw_tool_calls]
        return Reply(content=scripted.content, tool_calls=calls)


# -- the server -----------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for handlers still hanging
    allow_reuse_address = True


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


class FakeOpenAI:
    """The server. Use as a context manager, or call ``start()`` and ``stop()``."""

    def __init__(
        self, answerer: Answerer | None = None, *, faults: list[Fault] | None = None, strict: bool = True
    ) -> None:
        self.answerer: Answerer | None = answerer
        self.strict = strict
        """Refuse, as OpenAI does (400), a conversation whose tool calls and tool messages do not pair up."""
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])
        self._calls: list[Call] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        server = _HTTPServer(("127.0.0.1", 0), _handler(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: hanging handlers wake up and drop their connection unanswered."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- configuration and inspection -------------------------------------------------------------------
    def add_fault(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every JSON body received, in order of arrival."""
        return [call.body for call in self.calls]

    def calls_for(self, role: str | None = None, key: str | None = None, turn: int | None = None) -> list[Call]:
        return [call for call in self.calls if call.is_for(role, key, turn)]

    def usage_total(self, name: str = "prompt_tokens") -> int:
        """The sum of a usage field over every answer that reported usage to the client."""
        return sum(call.usage[name] for call in self.calls if call.usage)

    # -- serving ----------------------------------------------------------------------------------------
    def _receive(self, body: dict[str, Any]) -> tuple[Call, Fault | None]:
        role, key, turn = identify(body)
        with self._lock:
            call = Call(index=len(self._calls), body=body, received_at=time.monotonic(), role=role, key=key, turn=turn)
            self._calls.append(call)
            fault = next((f for f in self._faults if f.matches(call)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        return call, fault

    def _answer(self, call: Call) -> Reply | Fault:
        if self.answerer is None:
            return Reply(content="(fake server: no answerer configured)")
        return self.answerer(call)

    def _new_call_id(self) -> str:
        return f"call_{next(self._ids):06d}"

    def _completion_id(self) -> str:
        return f"chatcmpl-fake{next(self._ids):06d}"


def _handler(owner: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeOpenAI/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                self._post()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the client gave up (timeout) or the server is stopping

        def _post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") != CHAT_PATH:
                self._json(404, {"error": _error(f"Unknown path {self.path}", "invalid_request_error")})
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                self._json(400, {"error": _error(f"request body is not JSON: {exc}", "invalid_request_error")})
                return
            call, fault = owner._receive(body)
            if owner.strict and (problem := conversation_problem(body)):
                call.outcome = "error 400"
                call.problem = problem
                self._json(400, {"error": {**_error(problem, "invalid_request_error"), "param": "messages"}})
                return
            if fault is not None and fault.kind == "hang":
                call.outcome = "hang"
                if owner._stopping.wait(fault.seconds):
                    call.outcome = "aborted"
                    self.close_connection = True
                    return
                fault = None
            answer: Reply | Fault = owner._answer(call) if fault is None else fault
            if isinstance(answer, Fault):
                if answer.kind == "status":
                    call.outcome = f"error {answer.status}"
                    self._json(
                        answer.status, {"error": answer.error or _error("error", "server_error")}, answer.headers
                    )
                    return
                if answer.kind == "bad_arguments":
                    call.outcome = "bad_arguments"
                    answer = Reply(tool_calls=[(answer.tool_name, answer.arguments)])
                else:
                    raise ValueError(f"fault kind {answer.kind!r} cannot be an answer")
            elif call.outcome == "pending":
                call.outcome = "answered"
            self._reply(call, answer)

        def _reply(self, call: Call, reply: Reply) -> None:
            tool_calls = [
                {"id": owner._new_call_id(), "type": "function", "function": {"name": name, "arguments": arguments}}
                for name, arguments in reply.tool_calls
            ]
            call.tool_call_ids = [c["id"] for c in tool_calls]
            prompt = json.dumps(call.messages)
            completion = reply.content + "".join(n + a for n, a in reply.tool_calls)
            usage = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(completion)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            finish = "tool_calls" if tool_calls else "stop"
            common = {
                "id": owner._completion_id(),
                "created": int(time.time()),
                "model": call.body.get("model", "fake-model"),
                "system_fingerprint": "fp_fake",
            }
            if not call.stream:
                message: dict[str, Any] = {"role": "assistant", "content": reply.content or None, "refusal": None}
                if tool_calls:
                    message["tool_calls"] = tool_calls
                call.usage = usage
                self._json(
                    200,
                    {
                        **common,
                        "object": "chat.completion",
                        "usage": usage,
                        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    },
                )
                return
            include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
            self._stream(common, _chunks(reply.content, tool_calls, finish), usage if include_usage else None)
            if include_usage:
                call.usage = usage

        def _stream(
            self, common: dict[str, Any], deltas: Iterator[tuple[dict, str | None]], usage: dict[str, int] | None
        ) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            base = {**common, "object": "chat.completion.chunk"}
            extra = {"usage": None} if usage is not None else {}
            for delta, finish in deltas:
                self._event(
                    {
                        **base,
                        **extra,
                        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    }
                )
            if usage is not None:
                self._event({**base, "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    return Handler


def _pieces(text: str, parts: int = 3) -> list[str]:
    """``text`` in up to ``parts`` pieces (at least one, possibly empty)."""
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _chunks(content: str, tool_calls: list[dict[str, Any]], finish: str) -> Iterator[tuple[dict, str | None]]:
    """The deltas of a streamed answer: the role, the text, each tool call split over several chunks."""
    yield {"role": "assistant", "content": "" if not tool_calls else None, "refusal": None}, None
    if content:
        for piece in _pieces(content):
            yield {"content": piece}, None
    for index, call in enumerate(tool_calls):
        yield (
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ]
            },
            None,
        )
        for piece in _pieces(call["function"]["arguments"]):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None
    yield {}, finish
