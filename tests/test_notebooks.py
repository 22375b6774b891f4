"""Every notebook in notebooks/ runs top to bottom, offline, in a fresh kernel on this interpreter.

The kernel is declared in a temporary kernelspec that points at ``sys.executable`` (the venv's Python, which
has the project installed), so no ``ipykernel install`` step is needed and no other Jupyter installation on the
machine can change which Python runs the notebooks. Jupyter's and IPython's folders, the temp dir (the
notebooks put their run folders there) and the kernel's working directory are all under tmp_path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "buildcrew-test-python"
CELL_TIMEOUT_S = 300
# A real model would be used (and the internet reached) if any of these were set.
MODEL_ENV = (
    "OPENAI_API_KEY",
    "BUILDCREW_MODEL",
    "BUILDCREW_BASE_URL",
    "BUILDCREW_SMALL_MODEL",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
)


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:3] == [
        "01_quickstart.ipynb",
        "02_step_through.ipynb",
        "03_bring_your_model.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs; clear them"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kernelspec for this interpreter, and Jupyter/IPython/temp folders under tmp_path; returns the cwd."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "buildcrew test kernel",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter" / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    monkeypatch.setenv("LANGCHAIN_TRACING_V2", "false")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(kernel_env)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed:\n{exc}")
    assert not list(kernel_env.iterdir()), "notebooks must put their run folders under a temp dir, not the cwd"
