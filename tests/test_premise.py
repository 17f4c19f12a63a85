"""The model-free premise check: a static summary of the true state against the oracle and the full state."""

import numpy as np
import pytest

from qa_helpers.method import evaluation
from qa_helpers.synthetic import premise, scenarios

NAMES = ("wide", "narrow")


def _world(n: int, d: int, seed: int = 0):
    """Half the columns are noisy copies of one broad factor, the rest independent specific factors of falling
    variance; task 'wide' follows the broad factor (the first column), 'narrow' the last, smallest specific one,
    which the top few components of the state leave out."""
    rng = np.random.default_rng(seed)
    broad = rng.standard_normal((n, 1))
    specific = rng.standard_normal((n, d - d // 2)) * np.linspace(1.0, 0.3, d - d // 2)
    state = np.concatenate([broad + 0.3 * rng.standard_normal((n, d // 2)), specific], 1)
    score = np.stack([state[:, 0], state[:, -1] / 0.3], axis=1)
    probs = 1 / (1 + np.exp(-(2.5 * score - 1.0)))
    labels = (rng.random(probs.shape) < probs).astype(np.int8)
    return state, probs, labels, evaluation.task_splits(labels, seed)


def test_summary_matches_a_naive_pca_and_keeps_a_small_state_whole():
    rng = np.random.default_rng(1)
    state = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12))
    top = premise.task_agnostic_summary(state, 4)
    centred = state - state.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    naive = centred @ vt[:4].T
    assert top.shape == (300, 4)
    assert np.allclose(np.abs(top), np.abs(naive), atol=1e-8)  # the same components, up to sign
    assert np.allclose(premise.task_agnostic_summary(state, 12), centred)  # d <= size: the state itself
    assert np.array_equal(premise.task_agnostic_summary(state, 4), top)  # deterministic


def test_a_task_on_a_left_out_factor_opens_a_gap_and_one_on_a_kept_factor_does_not():
    state, probs, labels, splits = _world(3000, 40)
    rows = premise.check(state, probs, labels, splits, size=5, n_boot=50, task_names=NAMES)
    auc = {(r["method"], r["task"]): r["auc"] for r in rows}
    summary = premise.summary_name(5)
    assert auc[(premise.ORACLE, "narrow")] - auc[(summary, "narrow")] > 0.08  # its factor is mostly left out
    assert abs(auc[(premise.ORACLE, "wide")] - auc[(summary, "wide")]) < 0.03
    assert abs(auc[(premise.ORACLE, "narrow")] - auc[(premise.FULL, "narrow")]) < 0.03  # the full state reads it
    gap = premise.gaps(rows, 5)
    assert gap[premise.SIZE_GAP][1] > 0.03  # interval [d, lo, hi] well above 0: the summary's size loses it
    assert abs(gap[premise.READOUT_GAP][0]) < 0.03  # a linear read-out of the full state loses little


def test_a_nonlinear_label_opens_the_read_out_gap_not_the_size_gap():
    """Labels that follow |factor| of a broad factor the summary keeps: the oracle reads them, no linear probe does,
    whatever the vector's size, so the gap is the read-out's and the premise gains no room from it."""
    rng = np.random.default_rng(2)
    state = rng.standard_normal((3000, 6)) * np.array([3.0, 1, 1, 1, 1, 1])
    probs = 1 / (1 + np.exp(-(2.0 * np.abs(state[:, :2]) - 2.0)))
    labels = (rng.random(probs.shape) < probs).astype(np.int8)
    rows = premise.check(state, probs, labels, evaluation.task_splits(labels, 2), size=4, n_boot=50, task_names=NAMES)
    gap = premise.gaps(rows, 4)
    assert gap[premise.READOUT_GAP][1] > 0.1 and premise.verdict(gap[premise.SIZE_GAP]) == "no room"


def test_a_state_no_wider_than_the_summary_has_no_gap_to_the_full_state():
    state, probs, labels, splits = _world(1500, 6)
    rows = premise.check(state, probs, labels, splits, size=8, n_boot=50, task_names=NAMES)
    d, lo, hi = premise.gaps(rows, 8)[premise.SIZE_GAP]
    assert d == lo == hi == 0.0


def test_bad_inputs_are_named():
    state, probs, labels, splits = _world(200, 6)
    with pytest.raises(ValueError, match="size of at least 1"):
        premise.task_agnostic_summary(state, 0)
    with pytest.raises(ValueError, match=r"\(n >= 2, d\) matrix"):
        premise.task_agnostic_summary(state[:, 0], 3)
    bad = state.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        premise.task_agnostic_summary(bad, 3)
    with pytest.raises(ValueError, match="state of 199 users"):
        premise.check(state[:-1], probs, labels, splits, 3, task_names=NAMES)


def test_the_verdict_follows_the_stated_rule():
    assert premise.verdict([premise.ROOM, 0.001, 0.05]) == "room for a query"
    assert premise.verdict([0.05, -0.001, 0.1]) == "little room"  # large but its interval reaches 0
    assert premise.verdict([premise.ROOM - 1e-9, 0.02, 0.04]) == "little room"
    assert premise.verdict([premise.NO_ROOM, 0.005, 0.015]) == "little room"
    assert premise.verdict([premise.NO_ROOM - 1e-9, 0.005, 0.015]) == "no room"
    assert premise.verdict([-0.02, -0.03, -0.01]) == "no room"


@pytest.mark.slow
def test_the_two_synthetic_worlds_read_as_designed_and_notebook_01_shows_them():
    """Ten known tasks leave a static vector of 64 numbers no room on either world (64 numbers hold ten tasks'
    scores); the long-tail suite leaves room on version 2 and none on version 1 (its design, datasheet Changes). The
    latent population is deterministic in its seed; the figure's data are the rows' AUCs."""
    from qa_helpers.series import datasheet, plots, readings

    rows, gaps = {}, {}
    for version in (1, 2):
        state, probs, labels = datasheet.latent_population(4000, 0, version)
        once, again = datasheet.latent_population(50, 3, version), datasheet.latent_population(50, 3, version)
        assert all(np.array_equal(a, b) for a, b in zip(once, again))  # deterministic in its seed
        assert state.shape == (4000, 14 if version == 1 else 14 + 192) and probs.shape == labels.shape == (4000, 10)
        rows[f"v{version}"] = premise.check(state, probs, labels, evaluation.task_splits(labels, 0), 64, 50, 0)
        gaps[f"v{version}"] = premise.gaps(rows[f"v{version}"], 64)
        assert premise.verdict(gaps[f"v{version}"][premise.SIZE_GAP]) == "no room"
        state, probs, labels = datasheet.latent_population(4000, 0, version, suite=True)
        names = scenarios.names(version)
        suite_rows = premise.check(state, probs, labels, evaluation.task_splits(labels, 0), 64, 50, 0, names)
        rows[f"v{version} suite"] = suite_rows
        gaps[f"v{version} suite"] = premise.gaps(suite_rows, 64)
    assert premise.verdict(gaps["v1 suite"][premise.SIZE_GAP]) == "no room"
    assert premise.verdict(gaps["v2 suite"][premise.SIZE_GAP]) == "room for a query"
    methods = [premise.ORACLE, premise.FULL, premise.summary_name(64)]
    fig, data = plots.premise_gaps(rows, methods)
    avg = next(r["auc"] for r in rows["v2"] if r["method"] == premise.ORACLE and r["task"] == "Avg")
    assert data["v2"][premise.ORACLE]["Avg"] == round(avg, 4) and len(fig.axes) == 4
    text = readings.premise(gaps, 64)
    assert "**v1:**" in text and "**no room**" in text and "**room for a query**" in text
