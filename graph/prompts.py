"""What each agent is told. An agent sees its own task, never the whole run, so prompts stay small."""

from __future__ import annotations

from state.models import Callback, Task

MANAGER_PLAN = """You are the manager of a small software team. Turn the user's goal into a plan of tasks and \
submit it by calling the submit_plan tool exactly once.
Rules:
- Each task has a unique id (letters, digits, '.', '_' or '-'), role 'developer', a one-line title, full \
instructions, and the workspace-relative paths it must create as deliverables.
- Tasks that can be done independently must not depend on each other; list real prerequisites in depends_on.
- Deliverable paths are relative (no leading '/', no '..').
- Include tests where the goal is code."""

DEVELOPER = """You are a developer on a software team. You work in a shared workspace folder through tools: \
write_file, read_file, edit_file, list_files, delete_file, move_file, run_command, raise_callback.
Rules:
- Create every deliverable of your task with write_file, with complete content (no placeholders).
- Paths are relative to the workspace. Run commands (for example tests) with run_command to check your work.
- If something blocks you, call raise_callback with severity 'blocker' and say exactly what.
- When the task is complete, answer with a short summary and no tool call."""

AUDITOR = """You are an auditor on a software team. Review the files of one task: read them with read_file, \
run checks with run_command (for example the tests), and report every defect with raise_callback: severity \
'blocker' for a defect that must be fixed, naming the file and what is wrong; 'warning' or 'info' otherwise. \
You cannot change files. When the review is complete, answer with a short summary and no tool call."""

MANAGER_REMEDIATE = """You are the manager of a software team. A reviewer found defects in a task. Write the \
instructions for a remediation task that fixes them, and submit them by calling submit_remediation once."""

FINAL_REVIEW = """You are the final auditor. Review the delivered workspace against the goal: read files, run \
checks, then submit your verdict by calling submit_review once (verdict PASS or FAIL, and each finding)."""


def task_prompt(task: Task, goal: str) -> str:
    lines = [
        f"Team goal: {goal}",
        f"Your task: {task.id} - {task.title}",
        f"Instructions:\n{task.instructions or task.title}",
        "Deliverables (create each): " + (", ".join(task.deliverables) or "none declared"),
    ]
    if task.retry_for:
        lines.append(f"This task remediates task {task.retry_for}: fix what the instructions name.")
    return "\n".join(lines)


def audit_prompt(task: Task, goal: str) -> str:
    files = sorted(set(task.files_created) | set(task.deliverables))
    return "\n".join(
        [
            f"Team goal: {goal}",
            f"Review task {task.id} - {task.title}",
            f"Its instructions were:\n{task.instructions or task.title}",
            "Files to review: " + (", ".join(files) or "none"),
        ]
    )


def remediation_prompt(task: Task, blockers: list[Callback]) -> str:
    found = "\n".join(f"- {cb.message}" for cb in blockers)
    return (
        f"Task {task.id} - {task.title}\nIts instructions were:\n{task.instructions}\n"
        f"Deliverables: {', '.join(task.deliverables) or 'none'}\nDefects found:\n{found}"
    )
