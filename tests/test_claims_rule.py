"""The one rule that turns recorded numbers into a claim's verdict (qa_helpers.series.claims)."""

import numpy as np
import pytest

from qa_helpers.method import evaluation, metrics
from qa_helpers.series import claims


def _samples(center, spread, n=200, seed=0):
    return center + spread * np.random.default_rng(seed).standard_normal(n)


def test_a_paired_difference_decides_by_its_own_interval():
    assert claims.difference_verdict(0.01, 0.03) == "reproduced"
    assert claims.difference_verdict(-0.03, -0.01) == "reversed"
    assert claims.difference_verdict(-0.01, 0.02) == "inside the noise"
    assert claims.difference_verdict(0.01, 0.03, min_task_positives=1) == "no verdict"
    with pytest.raises(ValueError, match="above its high end"):
        claims.difference_verdict(0.3, 0.2)


def test_pairing_finds_a_difference_that_two_separate_intervals_hide():
    """Two methods that share most of their resampling noise (the same test users): each interval is wide, the
    difference's narrow. The unpaired rule (difference beyond both half-widths) would call this noise."""
    shared = _samples(0.0, 0.02, seed=1)
    a, b = 0.705 + shared + _samples(0, 0.001, seed=2), 0.700 + shared + _samples(0, 0.001, seed=3)
    c = claims.difference_claim("A above B", (0.705, a), (0.700, b))
    half_widths = [(hi - lo) / 2 for _, lo, hi in (c["above"], c["below"])]
    assert c["difference"][0] == pytest.approx(0.005) and c["difference"][0] < max(half_widths)
    assert c["verdict"] == "reproduced"
    independent = claims.difference_claim("A above B", (0.705, 0.705 + shared), (0.700, _samples(0.7, 0.02, seed=9)))
    assert independent["verdict"] == "inside the noise"


def test_compare_pairs_rows_scored_on_the_same_resamples_only():
    rng = np.random.default_rng(0)
    labels = (rng.random((400, 3)) < 0.3).astype(int)
    good, weak = labels + rng.normal(0, 0.8, labels.shape), labels + rng.normal(0, 1.5, labels.shape)
    splits = evaluation.task_splits(labels, seed=0)
    rows = evaluation.evaluate("good", good, labels, splits, n_boot=100, task_names=["a", "b", "c"])
    rows += evaluation.evaluate("weak", weak, labels, splits, n_boot=100, task_names=["a", "b", "c"])
    c = claims.compare("good above weak", rows, "good", "weak")
    claims.check(c)
    assert c["verdict"] == "reproduced" and c["methods"] == ["good", "weak"]
    assert tuple(c["above"]) == pytest.approx(claims.mean_with_interval(rows, "good"))
    other = evaluation.evaluate(
        "other", weak, labels, evaluation.task_splits(labels, seed=1), n_boot=100, task_names=["a", "b", "c"]
    )
    with pytest.raises(ValueError, match="same test users"):
        claims.compare("good above other", rows + other, "good", "other")


def test_no_verdict_when_a_task_has_fewer_than_two_test_positives():
    labels = np.zeros((40, 2), int)
    labels[:2, 0] = 1  # task 0: two positives in all, one per half at best
    labels[:20, 1] = 1
    X = np.random.default_rng(0).normal(size=(40, 3)) + labels[:, :1]
    splits = evaluation.task_splits(labels, seed=0)
    rows = evaluation.evaluate("x", X, labels, splits, n_boot=20, task_names=["a", "b"])
    rows += evaluation.evaluate("y", X[:, ::-1], labels, splits, n_boot=20, task_names=["a", "b"])
    assert claims.compare("x above y", rows, "x", "y")["verdict"] == "no verdict"


def test_counts_decide_only_tasks_whose_interval_excludes_zero():
    up, down, tie = [0.02, 0.01, 0.03], [-0.02, -0.03, -0.01], [0.001, -0.01, 0.012]
    assert claims.count_claim("wins", [up] * 9 + [tie])["verdict"] == "reproduced"  # 9 of 9 decided
    assert claims.count_claim("wins", [up] * 8 + [down] * 2)["verdict"] == "inside the noise"  # P(X >= 8 | 10) > 5%
    assert claims.count_claim("wins", [down] * 5 + [tie] * 5)["verdict"] == "reversed"  # 0 of 5
    assert claims.count_claim("wins", [up] * 4 + [tie] * 6)["verdict"] == "inside the noise"  # 4 of 4: P = 6%
    c = claims.count_claim("tiny shifts", [tie] * 10)
    assert (c["k"], c["losses"], c["verdict"]) == (0, 0, "inside the noise")
    assert [claims.count_verdict(k, 10 - k) for k in range(11)] == (
        ["reversed"] * 2 + ["inside the noise"] * 7 + ["reproduced"] * 2
    )
    with pytest.raises(ValueError):
        claims.count_verdict(-1, 3)


def test_check_recomputes_and_catches_a_typed_verdict_or_count():
    c = claims.difference_claim("A above B", (0.7, _samples(0.7, 0.01)), (0.6, _samples(0.6, 0.01)), paper="+0.1")
    claims.check(c)
    assert c["verdict"] == "reproduced" and c["difference"][0] == pytest.approx(0.1)
    with pytest.raises(AssertionError, match="the numbers say 'reproduced'"):
        claims.check({**c, "verdict": "inside the noise"})
    n = claims.count_claim("wins", [[0.02, 0.01, 0.03]] * 8 + [[0.0, -0.01, 0.01]] * 2)
    claims.check(n)
    with pytest.raises(AssertionError, match="recorded 9 wins"):
        claims.check({**n, "k": 9})
    assert claims.table([c, n]).loc["wins", "ours"].startswith("8 of 10 tasks above")


def test_reading_states_every_claim_and_leaves_echoes_out_of_the_tally():
    recorded = [
        claims.difference_claim("a above b", (0.70, _samples(0.70, 0.01)), (0.60, _samples(0.60, 0.01, seed=1))),
        claims.count_claim("wins", [[-0.02, -0.03, -0.01]] * 10),
        claims.difference_claim(
            "small above large",
            (0.70, _samples(0.70, 0.01)),
            (0.60, _samples(0.60, 0.01, seed=1)),
            not_counted="the larger backbone is under-trained at this budget",
        ),
    ]
    text = claims.reading(recorded)
    assert "*a above b*: **reproduced**" in text and "*wins*: **reversed**" in text
    assert "2 claims: 1 reproduced, 1 reversed, 0 inside the noise, 0 no verdict" in text
    assert "*small above large*: **reproduced**" in text and "Not counted: the larger backbone" in text
    assert text.endswith(claims.RULE)
    assert claims.table(recorded).loc["small above large", "verdict"] == "reproduced (not counted)"


def test_reading_refuses_a_claim_whose_verdict_disagrees_with_its_numbers():
    tampered = claims.difference_claim("a above b", (0.61, _samples(0.61, 0.03)), (0.60, _samples(0.60, 0.03, seed=1)))
    assert tampered["verdict"] == "inside the noise"
    tampered["verdict"] = "reproduced"
    with pytest.raises(AssertionError, match="the numbers say 'inside the noise'"):
        claims.reading([tampered])


def test_interval_of_the_difference_is_bias_corrected():
    boot = np.r_[np.full(150, 0.02), np.full(50, -0.01)]
    d = claims.paired_difference(0.01, 0.0, boot, np.zeros(200))
    assert d[0] == 0.01 and (d[1], d[2]) == metrics.interval(boot, 0.01)


def _run(d, lo, hi, verdict=None, positives=5):
    """A recorded difference claim of one training run with paired difference [d, lo, hi]."""
    return {
        "claim": "A above B",
        "kind": "difference",
        "paper": "",
        "above": [0.7, 0.69, 0.71],
        "below": [0.7 - d, 0.69 - d, 0.71 - d],
        "difference": [d, lo, hi],
        "min_task_positives": positives,
        "verdict": verdict or claims.difference_verdict(lo, hi, positives),
        "not_counted": "",
    }


def test_over_seeds_combines_seeds_and_users_and_needs_every_seed_on_one_side():
    runs = [_run(0.02, 0.01, 0.03), _run(0.015, 0.005, 0.025), _run(0.025, 0.015, 0.035)]
    c = claims.over_seeds(runs[0], runs[1:])
    d = np.array([0.02, 0.015, 0.025])
    half = 1.96 * np.sqrt(d.var(ddof=1) / 3 + (0.02 / 3.92) ** 2)  # seeds' spread over 3, the users' not averaged
    assert c["seeds"]["combined"] == pytest.approx([d.mean(), d.mean() - half, d.mean() + half])
    assert c["verdict"] == "reproduced" and c["seeds"]["single_run_verdict"] == "reproduced" and not c["not_counted"]
    claims.check(c)
    # the combined interval excludes 0, but one seed points the other way: not a finding
    split = claims.over_seeds(_run(0.05, 0.049, 0.051), [_run(0.05, 0.04, 0.06)] * 2 + [_run(-0.001, -0.01, 0.008)])
    assert split["seeds"]["combined"][1] > 0 and split["verdict"] == "inside the noise"
    # one run's interval excludes 0, the seeds scatter around it: inside the noise
    scatter = claims.over_seeds(_run(0.01, 0.004, 0.016), [_run(-0.02, -0.03, -0.01), _run(0.03, 0.02, 0.04)])
    assert scatter["seeds"]["single_run_verdict"] == "reproduced" and scatter["verdict"] == "inside the noise"
    reversed_ = claims.over_seeds(_run(-0.02, -0.03, -0.01), [_run(-0.02, -0.03, -0.01)] * 2)
    assert reversed_["verdict"] == "reversed"
    few = claims.over_seeds(_run(-0.02, -0.03, -0.01, positives=1), [_run(-0.02, -0.03, -0.01)] * 2)
    assert few["verdict"] == "no verdict"


def test_a_claim_on_fewer_than_three_seeds_is_shown_not_counted():
    one = claims.over_seeds(_run(0.02, 0.01, 0.03), [])
    assert one["verdict"] == "reproduced" and one["not_counted"] == claims.ONE_SEED and "seeds" not in one
    two = claims.over_seeds(_run(0.02, 0.01, 0.03), [_run(0.02, 0.01, 0.03)])
    assert two["not_counted"] == claims.ONE_SEED and claims.counted([one, two]) == []
    echo = {**_run(0.02, 0.01, 0.03), "not_counted": "an echo"}
    assert claims.over_seeds(echo, [])["not_counted"] == "an echo"  # its chapter's own reason stays


def test_count_claims_over_seeds_keep_a_verdict_every_seed_gives():
    n = claims.count_claim("wins", [[0.02, 0.01, 0.03]] * 10)
    weak = claims.count_claim("wins", [[0.02, 0.01, 0.03]] * 3 + [[-0.02, -0.03, -0.01]] * 3 + [[0, -0.1, 0.1]] * 4)
    assert weak["verdict"] == "inside the noise"
    assert claims.over_seeds(n, [n, n])["verdict"] == "reproduced"
    mixed = claims.over_seeds(n, [n, weak])
    assert mixed["verdict"] == "inside the noise" and mixed["seeds"]["verdicts"] == [
        "reproduced",
        "reproduced",
        weak["verdict"],
    ]
    assert "over 3 training seeds" in claims.ours(mixed)


def test_seed_records_are_checked_and_joined_by_name_and_recipe():
    c = claims.over_seeds(_run(0.02, 0.01, 0.03), [_run(0.02, 0.01, 0.03)] * 2)
    with pytest.raises(AssertionError, match="the seeds say"):
        claims.check({**c, "verdict": "inside the noise"})
    tampered = {**c, "seeds": {**c["seeds"], "combined": [0.5, 0.4, 0.6]}}
    with pytest.raises(AssertionError, match="combined interval"):
        claims.check(tampered)
    with pytest.raises(ValueError, match="same claim"):
        claims.over_seeds(_run(0.02, 0.01, 0.03), [{**_run(0.02, 0.01, 0.03), "claim": "other"}])
    spread = {
        "pretrain_key": "abc",
        "series_seed": 0,
        "seeds": {"0": {"claims": [_run(9, 8, 10)]}, "1": {"claims": [_run(0.1, 0, 0.2)]}, "2": {"claims": []}},
    }
    runs = claims.other_runs(spread, "abc")
    assert list(runs) == ["A above B"] and runs["A above B"][0]["difference"] == [
        0.1,
        0,
        0.2,
    ]  # the series' seed 0 left out
    assert claims.other_runs(spread, "another recipe") == {} and claims.other_runs(None, "abc") == {}
    decided = claims.decided_over_seeds([_run(0.02, 0.01, 0.03)], runs)
    assert decided[0]["not_counted"] == claims.ONE_SEED  # two runs in all: fewer than three
