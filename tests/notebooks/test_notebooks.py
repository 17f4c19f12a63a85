"""Every notebook: paired .ipynb/.py in sync, no committed outputs, a parameters cell, and a smoke run whose
recorded metrics are in range."""

import json
import math

import jupytext
import pytest

from qa_helpers.series import claims, config, runner
from qa_helpers.series.outputs import load_metrics, metrics_path

NOTEBOOKS = runner.notebook_paths()
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name.startswith("01_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ipynb_and_py_are_in_sync(path):
    py = path.with_suffix(".py")
    assert py.exists(), f"{path.name} has no paired {py.name}"
    a, b = jupytext.read(path), jupytext.read(py)

    def cells(nb):
        return [(c.cell_type, c.source.strip()) for c in nb.cells]

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
def test_notebook_runs_in_the_smoke_profile(path):
    metrics_file = metrics_path(path.stem, config.load("smoke"))
    metrics_file.unlink(missing_ok=True)  # the run must write it afresh
    out = runner.run_notebook(path, "smoke")  # kept in artifacts/smoke/notebooks/ for `make book PROFILE=smoke`
    executed = json.loads(out.read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    metrics = load_metrics(path.stem, config.load("smoke"))
    assert metrics, f"{path.name} recorded no metrics"
    assert IN_RANGE[path.stem](metrics), f"{path.name} recorded metrics out of range"
    for recorded in metrics.get("claims", []) if isinstance(metrics.get("claims"), list) else []:
        claims.check(recorded)  # every verdict follows from its numbers


def _unit(x) -> bool:
    return isinstance(x, float | int) and 0.0 <= x <= 1.0


def _all_rows_scored(rows, allow_nan: bool = False) -> bool:
    """AUC and KS in [0, 1]; with `allow_nan`, NaN too (a small subset's test split may hold no positive)."""

    def ok(x):
        return _unit(x) or (allow_nan and math.isnan(x))

    return bool(rows) and all(ok(r["auc"]) and ok(r["ks"]) for r in rows)


def _shares_sum_to_one(d) -> bool:
    return math.isclose(d["user_share"] + d["query_share"] + d["interaction_share"], 1.0, abs_tol=1e-3)


# What each notebook's smoke run must record: value ranges that hold for any model, trained or not
IN_RANGE = {
    "01_synthetic_world": lambda m: (
        m["n_pretrain_users"] == config.load("smoke").n_pretrain_users
        and all(v["mean"] > 0 for v in m["events_per_modality"].values())
    ),
    "02_hierarchical_encoder": lambda m: m["padding_invariant"] is True and m["prefix_length"] > 0,
    "03_userU_pretraining": lambda m: (
        m["steps"] == 12
        and _unit(m["final_diagnostics"]["exact_recall@1"])
        and _shares_sum_to_one(m["final_diagnostics"])
        and m["final_diagnostics"]["effective_rank"] >= 1
        and _unit(m["fact_reader"]["recall@1"])
    ),
    "04_downstream_evaluation": lambda m: (
        _all_rows_scored(m["rows"])
        and _all_rows_scored(m["subset_rows"], allow_nan=True)
        and len(m["query_match_differences"]) == len(m["query_match"])
        and all(math.isnan(d) or -1 <= d <= 1 for d, _, _ in m["query_match_differences"])
        and m["mean_auc"]["Oracle"] > 0.6
    ),
    "05_soft_prompt_tuning": lambda m: _all_rows_scored(m["rows"]) and all(_unit(v) for v in m["mean_auc"].values()),
    "06_kv_cache_inference": lambda m: (
        m["claims"]["cached and packed paths equal the plain forward (max |diff| < 1e-4)"]
        and m["claims"]["incremental update equals encoding from scratch (max |diff| < 1e-5)"]
    ),
    "07_embedding_geometry": lambda m: all(
        _unit(v["knn_auc"]) and -1 <= v["silhouette"] <= 1 for v in m["mean_separation"].values()
    ),
    "08_ablations_and_scaling": lambda m: _all_rows_scored(m["rows"]) and all(_unit(v) for v in m["mean_auc"].values()),
    "09_your_own_logs": lambda m: (
        m["n_users"] == config.load("smoke").own_logs_users
        and m["steps"] == 12
        and m["validate_broken_exit_code"] == 1
        and m["world_spec_problems"] > 0
        and -1 <= m["facet_ari_vs_genres"] <= 1
        and m["userU"]["pairs_uqa"] > 0
        and _unit(m["pretraining_final"]["exact_recall@1"])
        and _all_rows_scored(m["rows"])
    ),
}
