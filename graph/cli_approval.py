"""Human approval on the command line: show what waits for approval, read the answer, turn it into a decision.

A pending request is the ``interrupt()`` payload of ``approve_plan`` or ``approve_remediation``:
``{"kind": "plan" | "remediation", "tasks": [...]}``. Answers, typed at the prompt or given to
``buildcrew resume RUN --decision``: ``approve``, ``reject REASON`` (or ``reject:REASON``), and for a plan
``edit FILE`` (or ``edit:FILE``), FILE holding a JSON list of tasks or ``{"tasks": [...]}``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from graph.progress import out
from state.errors import ConfigError

EXIT_WAITING = 5
"""Exit code of a run left paused, waiting for an approval that standard input did not give."""
ANSWERS = {"plan": "approve | reject REASON | edit PLAN.json", "remediation": "approve | reject REASON"}


def request_lines(request: dict[str, Any]) -> list[str]:
    """The plan or the remediation tasks as a table, for a person to decide on."""
    kind = request.get("kind", "plan")
    tasks = request.get("tasks") or []
    title = "the manager's plan" if kind == "plan" else "the manager's remediation task(s)"
    lines = ["", f"APPROVAL NEEDED: {title} ({len(tasks)} task(s))"]
    last = "DEPENDS ON" if kind == "plan" else "FIXES"
    lines.append(f"  {'ID':<12} {'TITLE':<40} {'DELIVERABLES':<40} {last}")
    for task in tasks:
        deliverables = ", ".join(task.get("deliverables") or []) or "-"
        tail = ", ".join(task.get("depends_on") or []) if kind == "plan" else task.get("retry_for")
        lines.append(
            f"  {task.get('id', '?'):<12} {_cut(task.get('title'), 40):<40} {_cut(deliverables, 40):<40} {tail or '-'}"
        )
    if kind == "remediation":
        for task in tasks:
            lines.append(f"  {task.get('id')} instructions:")
            lines += ["    " + line for line in str(task.get("instructions") or "").splitlines()]
    lines.append(f"answer: {ANSWERS.get(kind, ANSWERS['plan'])}")
    return lines


def _cut(text: Any, width: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def parse_answer(text: str, kind: str, *, flag: str | None = None) -> Any:
    """The decision ``Command(resume=...)`` takes, from an answer; ConfigError (naming ``flag``) when it is none."""
    where = f"{flag}: " if flag else ""
    match = re.match(r"\s*([A-Za-z]+)\s*(?::|\s|$)(.*)", text, re.DOTALL)
    action, rest = (match.group(1).lower(), match.group(2).strip()) if match else ("", "")
    text = text.strip()
    if action == "approve" and not rest:
        return {"action": "approve"}
    if action == "reject":
        return {"action": "reject", "reason": rest}
    if action == "edit" and kind == "plan":
        if not rest:
            raise ConfigError(f"{where}edit needs a plan file: edit PLAN.json")
        return {"action": "edit", "tasks": load_plan_file(rest, where)}
    if action == "edit":
        raise ConfigError(f"{where}remediation tasks can be approved or rejected, not edited; got {text!r}")
    raise ConfigError(f"{where}expected {ANSWERS.get(kind, ANSWERS['plan'])}, got {text!r}")


def load_plan_file(name: str, where: str = "") -> list[dict[str, Any]]:
    """Tasks from a JSON file holding a list of tasks or ``{"tasks": [...]}``."""
    try:
        doc = json.loads(Path(name).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}cannot read plan file {name!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}plan file {name!r} is not valid JSON: {exc}") from None
    tasks = doc.get("tasks") if isinstance(doc, dict) else doc
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise ConfigError(f'{where}plan file {name!r} must hold a list of tasks or {{"tasks": [...]}}')
    return tasks


def ask(request: dict[str, Any]) -> Any | None:
    """Show the request and read answers from standard input until one is valid; None at end of input."""
    kind = str(request.get("kind", "plan"))
    for line in request_lines(request):
        out(line)
    while True:
        sys.stdout.write("> ")
        sys.stdout.flush()
        try:
            text = sys.stdin.readline() if sys.stdin is not None else ""
        except (OSError, ValueError):  # no standard input at all
            text = ""
        if not text:
            out("")
            return None
        if not _is_tty(sys.stdin):  # piped answers are echoed, so the log reads like the terminal would
            out(text.rstrip("\n"))
        if not text.strip():
            continue
        try:
            return parse_answer(text, kind)
        except ConfigError as exc:
            out(f"buildcrew: {exc}")


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def waiting_message(run_id: str, kind: str) -> str:
    edit = "|edit:PLAN.json" if kind == "plan" else ""
    return (
        f"buildcrew: run {run_id} is waiting for approval of its {kind}: "
        f'buildcrew resume {run_id} --decision approve|"reject:REASON"{edit}'
    )
