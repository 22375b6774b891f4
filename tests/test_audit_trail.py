"""The audit trail is complete: every successful write has exactly one event matching the disk."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from tools.agent_tools import ToolBox
from tools.audit import AuditTrail
from tools.workspace import Workspace

NAMES = st.sampled_from(["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "../x", "/abs", "d", ""])
OPS = st.one_of(
    st.tuples(st.just("write_file"), st.fixed_dictionaries({"path": NAMES, "content": st.text(max_size=40)})),
    st.tuples(
        st.just("edit_file"),
        st.fixed_dictionaries(
            {"path": NAMES, "old_text": st.sampled_from(["a", "b"]), "new_text": st.text(max_size=5)}
        ),
    ),
    st.tuples(st.just("delete_file"), st.fixed_dictionaries({"path": NAMES})),
    st.tuples(st.just("move_file"), st.fixed_dictionaries({"source": NAMES, "destination": NAMES})),
    st.tuples(st.just("read_file"), st.fixed_dictionaries({"path": NAMES})),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(OPS, max_size=12))
def test_every_successful_write_has_exactly_one_matching_event(ops: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        box = ToolBox(
            workspace=Workspace(Path(tmp) / "ws"),
            trail=AuditTrail(Path(tmp) / "events.jsonl", "r"),
            task_id="T",
            role="developer",
        )
        calls = [{"name": name, "args": args, "id": f"c{i}", "type": "tool_call"} for i, (name, args) in enumerate(ops)]
        replies = box.execute(AIMessage(content="", tool_calls=calls), box.tools())
        assert len(replies) == len(ops)
        events = list(box.trail)
        changes = [e for e in events if e.op in ("write", "edit", "move") and e.ok]
        assert len(changes) == sum(
            r.status == "success" and c["name"] in ("write_file", "edit_file", "move_file")
            for r, c in zip(replies, calls, strict=True)
        )
        assert len([e for e in events if not e.ok]) == sum(r.status == "error" for r in replies)
        for path in box.workspace.list():
            data = (box.workspace.root / path).read_bytes()
            last = [e for e in changes if e.path == path][-1]
            assert last.sha256 == hashlib.sha256(data).hexdigest() and last.size == len(data)
        for path, record in box.files.items():
            on_disk = box.workspace.stat(path)
            assert (on_disk.sha256 == record.sha256) if record.live else on_disk is None


def test_filters_and_a_torn_last_line(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "events.jsonl", "r")
    trail.record("write", task_id="A", path="a")
    trail.record("write", task_id="B", path="b", ok=False, error=ValueError("boom " * 1000))
    trail.record("read", task_id="A", path="a")
    with (tmp_path / "events.jsonl").open("a") as handle:
        handle.write('{"op": "write", "run_id"')  # a crash mid-append
    assert [e.path for e in trail.events(op="write")] == ["a", "b"]
    assert [e.op for e in trail.events(task_id="A")] == ["write", "read"]
    [error] = trail.events(errors=True)
    assert error.error == "boom " * 1000
    assert error.error_type == "ValueError"
