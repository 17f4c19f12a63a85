"""The claims each notebook's `Results vs paper` states, checked against the recorded default-profile JSON.

`make test` checks the committed figures/metrics_*.json; CI then reruns the default profile end to end and
checks the fresh JSON again (.ci/run). Tolerances: the bootstrap 95% intervals of a mean AUC over the ten tasks
are about +-0.014 wide on the default profile's 2,000 test users per task, so a difference is called real when
it exceeds 0.03 (twice that half-width) and "no difference" when it stays below it.
"""

import pytest

from qa_helpers import config
from qa_helpers.recorder import load_metrics, metrics_path

CFG = config.load("default")
REAL = 0.03  # a difference of mean AUC beyond the noise (see the module docstring)


def metrics(notebook: str) -> dict:
    if not metrics_path(notebook, CFG).exists():
        pytest.fail(f"{notebook} has no recorded default-profile metrics: run `make reproduce`")
    return load_metrics(notebook, CFG)


# --- notebook 04: downstream evaluation ---------------------------------------------------------------------

def test_04_counting_baselines_beat_qanchor():
    """'Q-Anchor above user-sequence models: no, the reverse' (GBDT 0.737, sequence model 0.730, Base 0.659)."""
    a = metrics("04_downstream_evaluation")["mean_auc"]
    assert a["Handcrafted + GBDT"] - a["Q-Anchor (Base)"] > REAL
    assert a["Sequence contrastive (no LLM)"] - a["Q-Anchor (Base)"] > REAL


def test_04_pretraining_and_the_query_make_no_real_difference():
    """'not reproduced': Base, the static embedding and the untrained model are within the noise."""
    a = metrics("04_downstream_evaluation")["mean_auc"]
    assert abs(a["Q-Anchor (Base)"] - a["Q-Anchor, one generic query"]) < REAL
    assert abs(a["Q-Anchor (Base)"] - a["Q-Anchor w/o pretraining"]) < REAL


def test_04_qanchor_weakly_above_the_text_embedding_and_far_below_the_oracle():
    a = metrics("04_downstream_evaluation")["mean_auc"]
    assert 0 < a["Q-Anchor (Base)"] - a["MiniLM (profile text)"] < REAL      # 'weakly': above, within the noise
    assert all(a["Oracle"] - v > 0.1 for k, v in a.items() if k != "Oracle")


# --- notebook 05: soft prompt tuning ------------------------------------------------------------------------

def test_05_prompt_tuning_lifts_base_but_within_the_noise():
    """'in direction and size, yes (+0.010; paper +0.012) ... inside Base's 95% interval'."""
    m = metrics("05_soft_prompt_tuning")
    base, tuned = m["mean_auc"]["Q-Anchor (Base)"], m["mean_auc"]["Q-Anchor (Prompt Tuned)"]
    assert 0 < tuned - base < REAL
    assert m["mean_ks"]["Q-Anchor (Prompt Tuned)"] > m["mean_ks"]["Q-Anchor (Base)"]
    assert not m["claims"]["the lift exceeds the Base interval's upper end"]


def test_05_more_tokens_help_a_little_and_steps_show_no_trend():
    """'1 and 2 tokens give nothing ..., 4 and 6 tokens about +0.010 ... and 8 and 16 tokens +0.018'; 'every one
    of these gains is inside the intervals'; steps: 'no trend beyond the noise'."""
    m = metrics("05_soft_prompt_tuning")
    base = next(r["auc"] for r in m["sweep_rows"] if r["method"] == "Base" and r["task"] == "Avg")
    by_tokens = {int(k): v["auc"] for k, v in m["by_tokens"].items()}
    assert all(abs(by_tokens[n] - base) < 0.005 for n in (1, 2))
    assert min(by_tokens[n] for n in (4, 6, 8, 16)) > max(by_tokens[1], by_tokens[2])
    assert all(by_tokens[n] - base < REAL for n in by_tokens)
    steps = [v["auc"] for v in m["by_steps"].values()]
    assert max(steps) - min(steps) < REAL


def test_05_attention_does_not_follow_the_evidence():
    """'shifts are about one percentage point'; 'the task-specific part points at the evidence for 4 of 10 tasks,
    chance level'. Chance for ten tasks is 5 +- 1.6 (binomial sd), so 'not above chance' is at most 6."""
    import numpy as np

    m = metrics("05_soft_prompt_tuning")
    shift = 100 * (np.array(m["attention_after"]) - np.array(m["attention_before"]))
    assert np.abs(shift).max() < 3                                   # points, against the paper's +26%
    assert m["attention_specific_toward_evidence"] <= 6


# --- notebook 07: embedding geometry ------------------------------------------------------------------------

def test_07_no_class_clusters_and_tuning_barely_changes_them():
    """'the balanced silhouette is about 0.03 for every variant'; 'the kNN AUC moves from 0.570 to 0.577'."""
    sep = metrics("07_embedding_geometry")["mean_separation"]
    assert all(abs(v["silhouette"]) < 0.1 for v in sep.values())
    assert abs(sep["Prompt Tuned"]["knn_auc"] - sep["Base"]["knn_auc"]) < REAL
    assert abs(sep["Base"]["knn_auc"] - sep["static"]["knn_auc"]) < REAL


def test_07_the_query_dominates_the_embedding():
    """'the query explains 84% of the spread ..., the user 12%'; 'one user under two queries has cosine 0.65; two
    users under one query 0.94'."""
    s = metrics("07_embedding_geometry")["sensitivity"]["Base"]
    assert s["query_share"] > 0.5 > s["user_share"]
    assert s["cos_same_query_other_user"] > s["cos_same_user_other_query"]


# --- notebook 06: KV-cache inference ------------------------------------------------------------------------

def test_06_fast_paths_equal_the_plain_forward_and_the_update_equals_scratch():
    m = metrics("06_kv_cache_inference")
    assert max(g["max |diff|"] for g in m["gate"]) < 1e-4          # float32 rounding over a few layers
    inc = m["incremental"]
    assert inc["same token masks every day"] and inc["max |diff| of prefix tokens (worst day)"] < 1e-5
    assert inc["events encoded (incremental)"] == inc["new events"]   # exactly the day's new events, nothing else
    assert inc["events encoded (from scratch, same days)"] > 10 * inc["events encoded (incremental)"]


def test_06_packed_path_reaches_the_goal_for_smollm2():
    """'the goal of 85% at n_q = 10 is met by the packed path for three of the four pairs': the benchmark JSON is
    committed once (benchmarks/results/), so its numbers are exact here; both SmolLM2 rows must hold."""
    import json

    from qa_helpers.config import REPO_ROOT

    bench = json.loads((REPO_ROOT / "benchmarks" / "results" / "kv_cache_inference_cpu.json").read_text())
    at10 = {(r["backbone"], r["caps_profile"]): next(x for x in r["rows"] if x["n_q"] == 10) for r in bench["runs"]}
    assert len(at10) == len(bench["runs"]) == 4
    assert sum(r["packed_fraction_of_theory"] >= 0.85 for r in at10.values()) >= 3
    assert all(r["packed_fraction_of_theory"] >= 0.85 for (kind, _), r in at10.items() if kind == "smollm2")
    assert all(max(r[f"{p}_max_abs_diff"] for p in ("sequential", "batched", "packed")) < 1e-4 for r in at10.values())


# --- notebook 08: ablations and scaling (reduced budgets on the CPU default) ---------------------------------

def test_08_no_ablation_separates_from_base():
    """'Every row lies inside Base's 95% interval: 0 of the 6 ablations fall below it'."""
    m = metrics("08_ablations_and_scaling")
    assert m["claims"]["ablations outside Base's 95% interval (of 6)"] == 0
    base = m["mean_auc"]["Q-Anchor (Base)"]
    assert all(abs(v - base) < REAL for v in m["mean_auc"].values())


def test_08_contrastive_and_pretraining_claims_do_not_reproduce():
    """'without [the contrastive loss] the model scores highest'; prompt tuning without pretraining 'reaches 0.639,
    above ... Base itself'. Both are within the noise; what the notebook claims is that the paper's drops are absent."""
    a = metrics("08_ablations_and_scaling")["mean_auc"]
    assert a["w/o Contrastive"] >= a["Q-Anchor (Base)"]
    assert a["Prompt tuning w/o pretrain"] >= a["Q-Anchor (Base)"]


def test_08_scaling_shows_no_trend():
    """'320, 640 and 1,280 pairs give 0.637, 0.618, 0.623'; backbones '0.633, 0.618, 0.631, no trend'."""
    m = metrics("08_ablations_and_scaling")
    data = [m["data_scale"][k] for k in sorted(m["data_scale"], key=int)]
    assert not data[-1] > data[0]
    model = [v["auc"] for v in sorted(m["model_scale"].values(), key=lambda v: v["params"])]
    assert max(model) - min(model) < REAL and not all(b > a for a, b in zip(model, model[1:]))
