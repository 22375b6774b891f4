"""Every tool call gets exactly one reply; every failure reaches the model and the trail, whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from tools.agent_tools import READ_ONLY_TOOLS, ToolBox
from tools.audit import TOOL_EXECUTION_ERROR, AuditTrail
from tools.workspace import Workspace


@pytest.fixture
def box(tmp_path: Path) -> ToolBox:
    return ToolBox(
        workspace=Workspace(tmp_path / "ws"),
        trail=AuditTrail(tmp_path / "events.jsonl", "run"),
        task_id="T1",
        role="developer",
        output_dir=tmp_path / "outputs",
    )


def call(name: str, args: object, call_id: str) -> dict:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def test_each_call_id_gets_exactly_one_reply_whatever_fails(box: ToolBox) -> None:
    message = AIMessage(
        content="",
        tool_calls=[
            call("write_file", {"path": "ok.txt", "content": "fine"}, "c1"),
            call("write_file", {"path": "/etc/passwd", "content": "x"}, "c2"),
            call("no_such_tool", {}, "c3"),
            call("edit_file", {"path": "ok.txt"}, "c4"),  # missing required arguments
            call("read_file", {"path": "missing.txt"}, "c5"),
        ],
        invalid_tool_calls=[
            {
                "name": "write_file",
                "args": '{"path": "a.txt", "content": "unterminated',
                "id": "c6",
                "error": "bad json",
                "type": "invalid_tool_call",
            }
        ],
    )
    replies = box.execute(message, box.tools())
    assert [r.tool_call_id for r in replies] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert [r.status for r in replies] == ["success", "error", "error", "error", "error", "error"]
    assert "absolute" in replies[1].content.lower()
    assert "no tool named 'no_such_tool'" in replies[2].content and "write_file" in replies[2].content
    assert "old_text" in replies[3].content and "Please fix your mistakes" in replies[3].content
    assert "could not be parsed" in replies[5].content and "unterminated" in replies[5].content
    failures = box.trail.events(op=TOOL_EXECUTION_ERROR)
    assert len(failures) == 5 == len(box.errors)
    assert all(e.error and not e.ok for e in failures)
    assert [e.error_type for e in box.errors][:2] == ["PathRefused", "ToolInputError"]
    assert box.errors[1].tool_calls_made[-1].startswith("no_such_tool")


def test_error_messages_are_never_truncated(box: ToolBox) -> None:
    long_name = "d/" * 2100 + "f.txt"  # over 4096 bytes: refused with a message quoting the path
    [reply] = box.execute(
        AIMessage(content="", tool_calls=[call("write_file", {"path": long_name, "content": ""}, "c1")]), box.tools()
    )
    [error] = box.errors
    [event] = box.trail.events(errors=True)
    assert error.message == event.error and error.message in reply.content


def test_binary_and_non_object_arguments_are_answered_with_a_tool_error(box: ToolBox) -> None:
    message = AIMessage(
        content="",
        tool_calls=[
            call("write_file", {"path": "b.bin", "content": b"\x00\xff"}, "c1"),
            call("write_file", {"path": "x", "content": 12}, "c2"),
        ],
    )
    message.tool_calls.append({"name": "list_files", "args": ["not", "a", "dict"], "id": "c3", "type": "tool_call"})
    replies = box.execute(message, box.tools())
    assert [r.status for r in replies] == ["error", "error", "error"]
    assert not (box.workspace.root / "b.bin").exists() and not (box.workspace.root / "x").exists()


def test_the_auditor_cannot_write(box: ToolBox) -> None:
    tools = box.tools(READ_ONLY_TOOLS)
    assert sorted(t.name for t in tools) == ["list_files", "raise_callback", "read_file", "run_command"]
    [reply] = box.execute(
        AIMessage(content="", tool_calls=[call("write_file", {"path": "a", "content": "x"}, "c")]), tools
    )
    assert reply.status == "error" and not (box.workspace.root / "a").exists()


def test_raise_callback_records_a_blocker_for_the_manager(box: ToolBox) -> None:
    box.execute(
        AIMessage(
            content="", tool_calls=[call("raise_callback", {"severity": "blocker", "message": "spec unclear"}, "c")]
        ),
        box.tools(),
    )
    [callback] = box.callbacks
    assert callback.severity == "blocker" and callback.kind == "review" and callback.task_id == "T1"


def test_run_command_output_goes_back_and_full_output_is_kept(box: ToolBox) -> None:
    [reply] = box.execute(
        AIMessage(content="", tool_calls=[call("run_command", {"command": "python3 -c \"print('x' * 50000)\""}, "c")]),
        box.tools(),
    )
    assert "elided" in reply.content and len(reply.content) < 30000
    [event] = box.trail.events(op="run_command")
    full = Path(event.detail["full_output_path"]).read_text()
    assert full.count("x") == 50000


def test_a_huge_file_is_read_in_part_with_a_hint(box: ToolBox) -> None:
    box.workspace.write("big.txt", "".join(f"line {i}\n" for i in range(20_000)))
    [reply] = box.execute(AIMessage(content="", tool_calls=[call("read_file", {"path": "big.txt"}, "c")]), box.tools())
    assert len(reply.content) < 70_000 and "characters elided" in reply.content and "start_line" in reply.content
    assert reply.content.startswith("line 0\n") and reply.content.endswith("line 19999\n")
    [ranged] = box.execute(
        AIMessage(content="", tool_calls=[call("read_file", {"path": "big.txt", "start_line": 5, "end_line": 6}, "d")]),
        box.tools(),
    )
    assert ranged.content == "line 4\nline 5\n"
