"""Every exception buildcrew raises, in one place.

Errors are split by who can fix them: the model (a ``ToolInputError`` goes back to it as a tool message),
the run (limits, lost files, model failures: recorded as data in the report), or the user's configuration
(``ConfigError``: raised, with the bad value named).
"""

from __future__ import annotations


class BuildcrewError(Exception):
    """Base class of every buildcrew error."""


class ConfigError(BuildcrewError):
    """The user's settings or arguments are wrong; the message names the bad value."""


class ToolInputError(BuildcrewError):
    """A tool was called with input the model can fix: the message goes back to the model."""


class PathRefused(ToolInputError):
    """A path would leave the workspace, or is not a path the workspace accepts."""


class ContentTooLarge(ToolInputError):
    """Content exceeds the workspace's size cap."""


class EditMatchError(ToolInputError):
    """An edit's old text matched zero times or more than once."""


class WorkspaceFileNotFound(ToolInputError):
    """The path names no file in the workspace."""


class WriteVerificationError(BuildcrewError):
    """A write finished but the file on disk does not have the expected size or sha256."""

    def __init__(
        self, path: str, expected_size: int, expected_sha256: str, actual_size: int | None, actual_sha256: str | None
    ) -> None:
        self.path = path
        self.expected_size = expected_size
        self.expected_sha256 = expected_sha256
        self.actual_size = actual_size
        self.actual_sha256 = actual_sha256
        super().__init__(
            f"write to {path!r} did not verify: expected {expected_size} bytes sha256 {expected_sha256}, "
            f"found {'no file' if actual_size is None else f'{actual_size} bytes sha256 {actual_sha256}'}"
        )


class ScenarioError(BuildcrewError):
    """A scripted-model scenario file is malformed, or has no answer for a request."""


class ReplayMismatch(BuildcrewError):
    """A replay cassette has no answer for a model request, so the run cannot continue as recorded."""
