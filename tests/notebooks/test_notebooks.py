"""Every notebook: paired .ipynb/.py in sync, no committed outputs, a parameters cell, and a smoke run."""

import json

import jupytext
import pytest

from qa_helpers import config, runner
from qa_helpers.recorder import load_metrics, metrics_path

NOTEBOOKS = runner.notebook_paths()
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name.startswith("01_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ipynb_and_py_are_in_sync(path):
    py = path.with_suffix(".py")
    assert py.exists(), f"{path.name} has no paired {py.name}"
    a, b = jupytext.read(path), jupytext.read(py)
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(a) == cells(b), f"{path.name} and {py.name} drifted: run `jupytext --sync {py}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_outputs_committed_and_kernel_named(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"] and cell["execution_count"] is None, f"{path.name} has outputs"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_parameters_cell_with_a_profile(path):
    nb = jupytext.read(path)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'PROFILE = "default"' in params[0].source


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_the_smoke_profile(path, tmp_path):
    metrics_file = metrics_path(path.stem, config.load("smoke"))
    metrics_file.unlink(missing_ok=True)  # the run must write it afresh
    out = runner.run_notebook(path, "smoke", out_dir=tmp_path)
    executed = json.loads(out.read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    metrics = load_metrics(path.stem, config.load("smoke"))
    assert metrics, f"{path.name} recorded no metrics"
