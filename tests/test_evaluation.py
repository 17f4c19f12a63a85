"""Downstream protocol: metrics against scipy, the probe, splits, bootstrap intervals, tidy rows, baselines."""

import numpy as np
import pytest
from scipy.stats import ks_2samp, mannwhitneyu

from qa_helpers.method import evaluation, metrics, user_tensors
from qa_helpers.synthetic import baselines, world
from qa_helpers.synthetic.tasks import TASK_NAMES


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 600
    X = rng.standard_normal((n, 6))
    logits = np.stack([X[:, k % 6] * (1 + k / 5) for k in range(10)], 1)
    labels = (rng.random((n, 10)) < 1 / (1 + np.exp(-(logits - 1.0)))).astype(int)
    return X, labels


def test_auc_and_ks_against_scipy():
    rng = np.random.default_rng(1)
    y = rng.random(300) < 0.3
    s = rng.standard_normal(300) + y
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert metrics.auc(y, s) == pytest.approx(u / (y.sum() * (~y).sum()))
    assert metrics.ks(y, s) == pytest.approx(ks_2samp(s[y], s[~y]).statistic)


def test_perfect_and_constant_scores():
    y = np.array([0, 1, 0, 1, 1, 0])
    assert metrics.auc(y, y * 2.0) == 1.0 and metrics.ks(y, y * 2.0) == 1.0
    assert metrics.auc(y, np.ones(6)) == 0.5 and metrics.ks(y, np.ones(6)) == 0.0


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(2)
    y = rng.random(400) < 0.2
    s = rng.standard_normal(400) + 1.5 * y
    a = metrics.bootstrap(y, s, metrics.auc, 100, seed=3)
    assert np.array_equal(a, metrics.bootstrap(y, s, metrics.auc, 100, seed=3))
    lo, hi = metrics.interval(a, metrics.auc(y, s))
    assert lo < metrics.auc(y, s) < hi and hi - lo < 0.2


def test_bias_corrected_interval_centres_a_biased_statistic_on_its_estimate():
    """KS resamples run above the estimate: a plain percentile interval puts the estimate near its low end, the
    bias-corrected one nearer its middle; with no bias (half the samples below) both are the same."""
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.1
    s = rng.standard_normal(600) + 0.5 * y
    est = metrics.ks(y, s)
    boot = metrics.bootstrap(y, s, metrics.ks, 400, seed=1)
    assert np.mean(boot < est) < 0.4  # the bias this corrects
    plain = np.quantile(boot, [0.025, 0.975])
    lo, hi = metrics.interval(boot, est)
    assert (est - lo) / (hi - lo) > (est - plain[0]) / (plain[1] - plain[0]) and lo < est < hi
    symmetric = np.r_[-np.arange(1, 101), np.arange(1, 101)].astype(float)
    assert metrics.interval(symmetric, 0.0) == pytest.approx(tuple(np.quantile(symmetric, [0.025, 0.975])))


def test_splits_are_stratified_fixed_and_cover_the_users(data):
    _, labels = data
    splits = evaluation.task_splits(labels, seed=4)
    again = evaluation.task_splits(labels, seed=4)
    for k, (train, test) in enumerate(splits):
        assert np.array_equal(train, again[k][0]) and np.array_equal(test, again[k][1])
        assert sorted(np.concatenate([train, test])) == list(range(len(labels)))
        assert abs(labels[train, k].mean() - labels[test, k].mean()) < 0.01


def test_probe_is_deterministic_for_both_probes(data):
    X, labels = data
    for probe in evaluation.PROBES:
        a = evaluation.probe_scores(X[:300], labels[:300, 0], X[300:], probe, seed=1)
        assert np.array_equal(a, evaluation.probe_scores(X[:300], labels[:300, 0], X[300:], probe, seed=1))
    with pytest.raises(ValueError, match="unknown probe"):
        evaluation.probe_scores(X, labels[:, 0], X, "svm")


def test_evaluate_gives_a_tidy_row_per_task_and_an_average(data):
    X, labels = data
    splits = evaluation.task_splits(labels, seed=0)
    rows = evaluation.evaluate("m", X, labels, splits, n_boot=20, task_names=TASK_NAMES)
    assert [r["task"] for r in rows] == list(TASK_NAMES) + ["Avg"]
    assert rows[-1]["auc"] == pytest.approx(np.mean([r["auc"] for r in rows[:-1]]))
    assert all(r["auc_lo"] <= r["auc_hi"] for r in rows) and all(r["auc"] > 0.6 for r in rows[:-1])
    noise = evaluation.evaluate(
        "noise",
        np.random.default_rng(9).standard_normal((len(X), 3)),
        labels,
        splits,
        n_boot=20,
        task_names=TASK_NAMES,
    )
    assert abs(noise[-1]["auc"] - 0.5) < 0.05
    oracle = evaluation.evaluate_oracle(labels.astype(float), labels, splits, n_boot=10, task_names=TASK_NAMES)
    assert oracle[-1]["auc"] == 1.0
    tab = evaluation.table(rows + noise + oracle, "auc")
    assert list(tab.index) == ["m", "noise", "Oracle"] and list(tab.columns) == list(TASK_NAMES) + ["Avg"]
    with pytest.raises(ValueError, match="features for 5 users"):
        evaluation.evaluate("bad", X[:5], labels, splits, task_names=TASK_NAMES)


def test_a_task_without_positives_in_a_subset_is_reported_not_dropped(data):
    X, labels = data
    labels = labels.copy()
    labels[:, 3] = 0
    labels[10, 3] = 1  # one positive: cannot be stratified or scored on both sides
    rows = evaluation.evaluate("m", X, labels, evaluation.task_splits(labels, seed=0), n_boot=10, task_names=TASK_NAMES)
    assert np.isnan(rows[3]["auc"]) and not np.isnan(rows[-1]["auc"])
    assert len(rows) == 11


def test_capped_records_keep_the_most_recent_events(small_cfg, small_world):
    caps = (3, 2, 2, 1, 1)
    capped = user_tensors.capped_records(
        small_world.downstream, world.spec(small_cfg, small_cfg.event_caps).with_caps(caps)
    )
    for rec, cut in zip(small_world.downstream, capped):
        for m, k in zip(("bill", "mini", "spm", "app", "search"), caps):
            full = rec["events"].get(m, [])
            kept = cut["events"].get(m, [])
            assert len(kept) == min(k, len(full))
            if kept:  # nothing older than the oldest kept event survives, nothing newer is dropped
                oldest = min((e["day"], e["hour"]) for e in kept)
                assert sum((e["day"], e["hour"]) > oldest for e in full) <= k
        assert cut.get("tabular") == rec.get("tabular") and cut["user_id"] == rec["user_id"]


def test_handcrafted_features_and_serialisation(small_world, small_cfg):
    X = baselines.handcrafted_features(small_world.downstream, small_cfg.n_tabular)
    assert X.shape[0] == len(small_world.downstream) and np.isfinite(X).all()
    text = baselines.serialize(max(small_world.downstream, key=lambda r: len(r["events"].get("bill", []))))
    assert text and ("Payments:" in text or "Pages:" in text)
    assert baselines.serialize({"user_id": "u", "tabular": [1.0] * 3}) == "Profile: 1.0, 1.0, 1.0."


def test_llm_last_token_with_a_shared_prefix_cache_equals_full_forwards(tiny_setup):
    import torch

    from qa_helpers.series import pipeline

    model = pipeline.new_model(tiny_setup["cfg"], tiny_setup["pairs"], tiny_setup["users"]).eval()
    bb, recs = model.backbone, tiny_setup["world"].downstream[:2]
    queries = ["Will this person log in soon?", "Fraud?"]
    got = baselines.llm_last_token(recs, bb, queries, max_profile_tokens=40)
    assert got.shape == (2, 2, bb.hidden_size)
    tok = bb.tokenizer
    for u, rec in enumerate(recs):
        p = tok("User profile. " + baselines.serialize(rec), add_special_tokens=False)["input_ids"][:40]
        for q, query in enumerate(queries):
            ids = torch.tensor([p + tok(f" Question: {query} Answer:", add_special_tokens=False)["input_ids"]])
            with torch.no_grad():
                full = bb.decoder()(input_ids=ids).last_hidden_state[0, -1]
            torch.testing.assert_close(torch.from_numpy(got[u, q]), full, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("grouped", [False, True])
def test_sequence_contrastive_baseline_learns(tiny_setup, grouped):
    from qa_helpers.method import backbones
    from qa_helpers.method.batches import PairSampler
    from qa_helpers.series import pipeline

    tok = backbones.train_tokenizer(pipeline.tokenizer_corpus(tiny_setup["pairs"], pipeline.world_questions()), 500)
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "batch_size": 16, "batch_topics": 4})
    sampler = PairSampler.for_settings(tiny_setup["pairs"], pipeline.pretrain_settings(cfg)) if grouped else None
    model, history = baselines.train_sequence_contrastive(
        tiny_setup["users"], tiny_setup["pairs"], tok, emb_dim=8, steps=100, batch_size=32, seed=0, sampler=sampler
    )
    assert np.mean(history[-10:]) < np.mean(history[:10]) - 0.3
    feats = baselines.SequenceContrastive.user_features(tiny_setup["users"])
    assert model.user(feats).shape == (len(tiny_setup["users"]), 8)


def test_auc_and_ks_equal_sklearns_roc_curve_with_ties():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(5)
    for _ in range(20):
        y = rng.random(200) < rng.uniform(0.05, 0.6)
        s = np.round(rng.standard_normal(200) + rng.uniform(-1, 2) * y, 1)  # rounding makes ties
        fpr, tpr, _ = roc_curve(y, s)
        assert metrics.auc(y, s) == pytest.approx(roc_auc_score(y, s))
        assert metrics.ks(y, s) == pytest.approx(max(0.0, (tpr - fpr).max()))


def test_probe_auc_scores_the_test_half_of_one_task():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(200, 2))
    X = np.c_[labels[:, 1] + 0.3 * rng.normal(size=200), rng.normal(size=(200, 3))]  # informative for task 1 only
    splits = evaluation.task_splits(labels, seed=0, test_size=0.5)
    train, test = splits[1]
    expected = metrics.auc(labels[test, 1], evaluation.probe_scores(X[train], labels[train, 1], X[test], "linear", 0))
    assert evaluation.probe_auc(X, labels, splits, 1) == expected > 0.9
    assert abs(evaluation.probe_auc(X, labels, splits, 0) - 0.5) < 0.15


def test_matched_vs_mismatched_equals_a_loop_over_columns():
    rng = np.random.default_rng(0)
    auc = rng.uniform(0.4, 0.9, size=(5, 5))
    matched, others = evaluation.matched_vs_mismatched(auc)
    for b in range(5):  # column b: the labels of task b, probed on every query's embedding
        assert matched[b] == auc[b, b]
        assert np.isclose(others[b], np.mean([auc[a, b] for a in range(5) if a != b]))
    with pytest.raises(ValueError, match="square"):
        evaluation.matched_vs_mismatched(auc[:, :4])


def test_query_match_pairs_each_task_with_the_other_queries_on_its_own_test_users():
    rng = np.random.default_rng(0)
    labels = (rng.random((600, 3)) < 0.3).astype(int)
    # query a's embedding carries task a's label: the matched query wins every column
    emb = np.stack([np.c_[labels[:, a] + rng.normal(0, 0.7, 600), rng.normal(size=(600, 2))] for a in range(3)], 1)
    splits = evaluation.task_splits(labels, seed=0)
    auc, diffs = evaluation.query_match(emb, labels, splits, n_boot=100)
    assert auc.shape == (3, 3) and all(auc[b, b] > auc[a, b] for b in range(3) for a in range(3) if a != b)
    for b, (d, lo, hi) in enumerate(diffs):
        assert d == pytest.approx(auc[b, b] - np.delete(auc[:, b], b).mean()) and 0 < lo < d < hi
        assert auc[b, b] == pytest.approx(evaluation.probe_auc(emb[:, b], labels, splits, b))
    with pytest.raises(ValueError, match=r"every user under every task's query, \(N, Q, e\)"):
        evaluation.query_match(emb[:, :2], labels, splits)


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_of_auc_and_ks_equals_the_metric_on_each_resample(ties):
    """The vectorised AUC and KS (from how often each user was drawn) against the plain metric on the resampled
    users, resample by resample, ties included."""
    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.2).astype(int)
    s = rng.standard_normal(300) + y
    s = np.round(s, 1) if ties else s
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    for metric in (metrics.auc, metrics.ks):
        fast = metrics.bootstrap(y, s, metric, 40, seed=2)
        draws = np.random.default_rng(2)
        naive = []
        for _ in range(40):
            idx = np.concatenate([draws.choice(pos, len(pos)), draws.choice(neg, len(neg))])
            naive.append(metric(y[idx], s[idx]))
        np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-12)
