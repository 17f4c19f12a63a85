"""Ranking metrics of a score against binary labels: AUC and KS (the paper's two metrics)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _check(y, score) -> tuple[np.ndarray, np.ndarray]:
    y, score = np.asarray(y), np.asarray(score, dtype=float)
    if y.shape != score.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D and of equal length, got {y.shape} and {score.shape}")
    if len(np.unique(y)) != 2:
        raise ValueError("AUC and KS need both classes among the labels")
    return y, score


def auc(y, score) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic with tied scores given average ranks."""
    y, score = _check(y, score)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ks(y, score) -> float:
    """Kolmogorov-Smirnov statistic as used in credit scoring: max over thresholds of TPR - FPR (>= 0)."""
    y, score = _check(y, score)
    order = np.argsort(score, kind="mergesort")
    s, pos = score[order], (y[order] == 1)
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # thresholds fall between distinct scores
    below_pos = np.cumsum(pos)[last_of_tie] / pos.sum()  # F_pos(t): share of positives scored <= t
    below_neg = np.cumsum(~pos)[last_of_tie] / (~pos).sum()  # F_neg(t)
    return float(max(0.0, np.max(below_neg - below_pos)))  # TPR - FPR = F_neg(t) - F_pos(t)


def bootstrap(y, score, metric, n_boot: int = 200, seed: int = 0) -> np.ndarray:
    """`metric` on `n_boot` stratified resamples of the users (positives and negatives resampled separately,
    so every resample has both classes). Returns shape (n_boot,). AUC and KS are computed for all resamples at
    once from how often each user was drawn (`_weighted_auc_ks`); any other metric runs resample by resample."""
    y, score = _check(y, score)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    rng = np.random.default_rng(seed)
    draws = [np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]) for _ in range(n_boot)]
    if metric in (auc, ks):
        counts = np.stack([np.bincount(idx, minlength=len(y)) for idx in draws]) if draws else np.zeros((0, len(y)))
        return _weighted_auc_ks(y, score, counts)[0 if metric is auc else 1]
    return np.array([metric(y[idx], score[idx]) for idx in draws])


def _weighted_auc_ks(y: np.ndarray, score: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUC and KS of every resample at once: counts (B, n) is how often each of the n users was drawn in each of
    B resamples. Equal to `auc` and `ks` on the resampled users (tied scores as there: average ranks for AUC,
    thresholds between distinct scores for KS). Returns two (B,) arrays."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]  # first index of each group of tied scores
    w = counts[:, order].astype(float)
    is_pos = y[order] == 1
    pos = np.add.reduceat(w * is_pos, starts, axis=1)  # (B, groups): drawn positives per tied score
    neg = np.add.reduceat(w * ~is_pos, starts, axis=1)
    n_pos, n_neg = pos.sum(1), neg.sum(1)
    neg_below = np.cumsum(neg, 1) - neg  # negatives scored strictly below each group
    auc_values = (pos * (neg_below + 0.5 * neg)).sum(1) / (n_pos * n_neg)
    gap = np.cumsum(neg, 1) / n_neg[:, None] - np.cumsum(pos, 1) / n_pos[:, None]  # F_neg(t) - F_pos(t)
    return auc_values, np.maximum(0.0, gap.max(1))


def interval(samples: np.ndarray, estimate: float, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected percentile interval (Efron's BC) of bootstrap `samples` around the point `estimate`.

    A plain percentile interval assumes the samples centre on the estimate. KS is a maximum, and its resamples
    run above it (a resample's noise adds to the largest gap): the plain interval then sits above the estimate,
    which lands at its low end. BC shifts the percentiles by z0 = Phi^-1(share of samples below the estimate)
    and equals the plain interval when z0 = 0 (half the samples below)."""
    from scipy.stats import norm

    samples = np.asarray(samples, dtype=float)
    below = (np.sum(samples < estimate) + 0.5 * np.sum(samples == estimate)) / len(samples)
    z0 = norm.ppf(np.clip(below, 0.5 / len(samples), 1 - 0.5 / len(samples)))
    z = norm.ppf([(1 - level) / 2, 1 - (1 - level) / 2])
    lo, hi = np.quantile(samples, norm.cdf(2 * z0 + z))
    return float(lo), float(hi)


def paired_difference(above: float, below: float, above_boot, below_boot, level: float = 0.95) -> list[float]:
    """[d, lo, hi]: d = above - below and the interval of d from paired bootstrap samples (the same resamples of
    the same users scored both)."""
    above_boot, below_boot = np.asarray(above_boot, float), np.asarray(below_boot, float)
    if above_boot.shape != below_boot.shape or above_boot.ndim != 1:
        shapes = f"{above_boot.shape}, {below_boot.shape}"
        raise ValueError(f"paired samples must be two 1-D arrays of one length, got {shapes}")
    d = float(above - below)
    return [d, *interval(above_boot - below_boot, d, level)]
