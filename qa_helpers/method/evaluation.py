"""The downstream protocol (paper §7.1): frozen features, a probe per task, AUC and KS with bootstrap intervals.

Every method is evaluated on the same users with the same per-task split (stratified by the task's label) and
the same probe. `evaluate` takes features per task (a query-conditioned method gives each task its own
embedding; a static one the same matrix) and returns tidy rows; `table` pivots them like the paper's tables.

    splits = task_splits(labels, seed=0)
    rows = evaluate("Q-Anchor (Base)", lambda k: emb[:, k], labels, splits, task_names=names)   # emb (N, T, e)
    table(rows, "auc")        # methods x (the tasks + Avg)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import metrics

PROBES = ("linear", "mlp")


def task_splits(
    labels: np.ndarray, seed: int = 0, test_size: float = 0.5, users: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per task, (train, test) user indices stratified by that task's label; `users` restricts to a subset."""
    users = np.arange(len(labels)) if users is None else np.asarray(users)
    splits = []
    for k in range(labels.shape[1]):
        y = labels[users, k]
        stratify = y if min(y.sum(), len(y) - y.sum()) >= 2 else None  # too few positives to stratify: plain split
        splits.append(tuple(train_test_split(users, test_size=test_size, random_state=seed, stratify=stratify)))
    return splits


def probe_scores(X_train, y_train, X_test, probe: str = "linear", seed: int = 0) -> np.ndarray:
    """Fit a probe on standardised features and return its scores on X_test.

    linear: L2-regularised logistic regression (the paper's linear probing); mlp: one hidden layer of 64, L2
    weight 1e-2, a fixed 60 epochs. (Early stopping would pick the epoch by accuracy on a held-out tenth, which on
    the rare tasks, 2% positives, holds a handful of positives and an accuracy that never moves.)
    """
    if probe == "linear":
        clf = LogisticRegression(C=1.0, max_iter=3000)
    elif probe == "mlp":
        clf = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=60, random_state=seed)
    else:
        raise ValueError(f"unknown probe {probe!r}; choose one of {PROBES}")
    with warnings.catch_warnings():  # the MLP's fixed epoch budget is deliberate: no convergence warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
    return model.predict_proba(X_test)[:, 1]


def probe_auc(X: np.ndarray, labels: np.ndarray, splits, task: int, seed: int = 0, probe: str = "linear") -> float:
    """AUC on task `task`'s test half of a probe fitted on its training half; X (n_users, d), labels (n_users, T),
    splits as task_splits gives them."""
    train, test = splits[task]
    return metrics.auc(labels[test, task], probe_scores(X[train], labels[train, task], X[test], probe, seed))


def gbdt_scores(X_train, y_train, X_test, seed: int = 0) -> np.ndarray:
    """Gradient-boosted trees on raw features: the production-style "Business SOTA"."""
    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.08, max_leaf_nodes=31, l2_regularization=1.0, random_state=seed
    )
    return model.fit(X_train, y_train).predict_proba(X_test)[:, 1]


def _rows_from_scores(
    method: str,
    probe: str,
    labels: np.ndarray,
    splits,
    test_scores: list[np.ndarray],
    n_boot: int,
    seed: int,
    task_names: Sequence[str],
) -> list[dict]:
    """Per-task rows (task k named task_names[k]) and the mean row ('Avg'). Task k's bootstrap resamples its test
    users with seed `seed + k`, the same users for every method scored on the same splits, so two methods' samples
    are paired: the 'Avg' row keeps the mean-over-tasks samples (`auc_boot`, `ks_boot`) and `pairing`, a key of the
    splits and resamples (paired_mean_rows pairs two rows only when their keys agree)."""
    rows, samples = [], {"auc": [], "ks": []}
    for k, ((_, test), score) in enumerate(zip(splits, test_scores)):
        y = labels[test, k]
        row = {"method": method, "probe": probe, "task": task_names[k], "n_test": len(test), "n_pos": int(y.sum())}
        if score is None or len(np.unique(y)) < 2:  # a split without both classes cannot be scored
            rows.append({**row, **{f"{n}{s}": float("nan") for n in ("auc", "ks") for s in ("", "_lo", "_hi")}})
            continue
        for name, fn in (("auc", metrics.auc), ("ks", metrics.ks)):
            boot = metrics.bootstrap(y, score, fn, n_boot, seed + k)
            samples[name].append(boot)
            row[name] = fn(y, score)
            row[f"{name}_lo"], row[f"{name}_hi"] = metrics.interval(boot, row[name])
        rows.append(row)
    mean = {
        "method": method,
        "probe": probe,
        "task": "Avg",
        "n_test": int(np.mean([r["n_test"] for r in rows])),
        "n_pos": int(np.sum([r["n_pos"] for r in rows])),
        "min_task_pos": int(min(r["n_pos"] for r in rows)),
        "pairing": _pairing_key(labels, splits, n_boot, seed, [not np.isnan(r["auc"]) for r in rows]),
    }
    for name in ("auc", "ks"):  # over the tasks that could be scored
        mean[name] = float(np.nanmean([r[name] for r in rows]))
        boot = np.mean(samples[name], axis=0)
        mean[f"{name}_lo"], mean[f"{name}_hi"] = metrics.interval(boot, mean[name])
        mean[f"{name}_boot"] = [round(float(b), 6) for b in boot]
    return rows + [mean]


def _pairing_key(labels: np.ndarray, splits, n_boot: int, seed: int, scored: list[bool]) -> str:
    """12 hex digits naming what a bootstrap resampled: the test users and labels of every split, the number of
    resamples, the seed and which tasks were scored. Equal keys: paired samples."""
    import hashlib

    h = hashlib.sha256(f"{n_boot} {seed} {scored}".encode())
    for k, (_, test) in enumerate(splits):
        h.update(np.asarray(test, dtype=np.int64).tobytes())
        h.update(np.asarray(labels[test, k], dtype=np.int8).tobytes())
    return h.hexdigest()[:12]


def evaluate(
    method: str,
    features: Callable[[int], np.ndarray] | np.ndarray,
    labels: np.ndarray,
    splits,
    probe: str = "linear",
    n_boot: int = 200,
    seed: int = 0,
    *,
    task_names: Sequence[str],
) -> list[dict]:
    """Probe `features` (an (n_users, d) matrix, or a function of the task index giving one) on every task
    (`task_names`: one per label column)."""
    scores = []
    for k, (train, test) in enumerate(splits):
        X = features(k) if callable(features) else features
        if len(X) != len(labels):
            raise ValueError(f"{method}: features for {len(X)} users, labels for {len(labels)}")
        scorable = len(np.unique(labels[train, k])) == 2
        scores.append(probe_scores(X[train], labels[train, k], X[test], probe, seed) if scorable else None)
    return _rows_from_scores(method, probe, labels, splits, scores, n_boot, seed, task_names)


def evaluate_gbdt(
    method: str,
    X: np.ndarray,
    labels: np.ndarray,
    splits,
    n_boot: int = 200,
    seed: int = 0,
    *,
    task_names: Sequence[str],
) -> list[dict]:
    """Gradient-boosted trees on the raw features `X` (n_users, d), per task, scored as `evaluate` scores."""
    scores = [
        gbdt_scores(X[train], labels[train, k], X[test], seed) if len(np.unique(labels[train, k])) == 2 else None
        for k, (train, test) in enumerate(splits)
    ]
    return _rows_from_scores(method, "gbdt", labels, splits, scores, n_boot, seed, task_names)


def evaluate_oracle(
    probs: np.ndarray, labels: np.ndarray, splits, n_boot: int = 200, seed: int = 0, *, task_names: Sequence[str]
) -> list[dict]:
    """The stored label probability scored on each test split: the ceiling."""
    scores = [probs[test, k] for k, (_, test) in enumerate(splits)]
    return _rows_from_scores("Oracle", "none", labels, splits, scores, n_boot, seed, task_names)


def table(rows: list[dict], metric: str = "auc", probe: str | None = None, with_ci: bool = False) -> pd.DataFrame:
    """Methods x (tasks + Avg), the tasks in the order the rows hold them; `with_ci` adds the Avg interval as text."""
    df = pd.DataFrame(rows)
    if probe is not None:
        df = df[df["probe"].isin([probe, "none", "gbdt"])]
    out = df.pivot_table(index="method", columns="task", values=metric, sort=False, dropna=False)
    out = out[[t for t in dict.fromkeys(df["task"]) if t != "Avg"] + ["Avg"]]
    if with_ci:
        avg = df[df["task"] == "Avg"].set_index("method")
        out[f"Avg {metric.upper()} 95% CI"] = [
            f"{avg.loc[m, metric + '_lo']:.3f}-{avg.loc[m, metric + '_hi']:.3f}" for m in out.index
        ]
    return out


def query_match(
    emb: np.ndarray, labels: np.ndarray, splits, n_boot: int = 200, seed: int = 0, probe: str = "linear"
) -> tuple[np.ndarray, list[list[float]]]:
    """Does each task's own query serve its labels best? emb (N, Q, e): every user under each of the Q tasks'
    queries. Returns the (Q, Q) AUC matrix (rows: the query asked, columns: the labels probed) and, per task b,
    the paired difference [d, lo, hi] of its matched AUC over the mean of the other queries' AUCs on its labels,
    from the same bootstrap resamples of b's test users (series.claims.count_claim reads them)."""
    if emb.ndim != 3 or emb.shape[1] != labels.shape[1] or len(emb) != len(labels):
        raise ValueError(f"need every user under every task's query, (N, Q, e): emb {emb.shape}, labels {labels.shape}")
    n_q = emb.shape[1]
    auc = np.zeros((n_q, n_q))
    differences = []
    for b, (train, test) in enumerate(splits):
        y = labels[test, b]
        scores = [probe_scores(emb[train, a], labels[train, b], emb[test, a], probe, seed) for a in range(n_q)]
        auc[:, b] = [metrics.auc(y, s) for s in scores]
        boot = np.stack([metrics.bootstrap(y, s, metrics.auc, n_boot, seed + b) for s in scores])  # paired
        others = [a for a in range(n_q) if a != b]
        differences.append(metrics.paired_difference(auc[b, b], auc[others, b].mean(), boot[b], boot[others].mean(0)))
    return auc, differences


def matched_vs_mismatched(auc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a (Q, Q) matrix of AUCs, rows the query asked and columns the labels probed: per column b, the matched
    AUC auc[b, b] and the mean of the column's Q - 1 other entries (the other queries on the same labels)."""
    auc = np.asarray(auc, dtype=float)
    if auc.ndim != 2 or auc.shape[0] != auc.shape[1] or len(auc) < 2:
        raise ValueError(f"need a square (Q, Q) matrix with Q >= 2, got shape {auc.shape}")
    matched = np.diag(auc).copy()
    return matched, (auc.sum(0) - matched) / (len(auc) - 1)


def mean_row(rows: list[dict], method: str) -> dict:
    """The mean-over-tasks row ('Avg') of `method` in evaluation rows: its linear probe, or its own scorer for GBDT
    and the oracle."""
    found = [
        r for r in rows if r["method"] == method and r["task"] == "Avg" and r["probe"] in ("linear", "gbdt", "none")
    ]
    if len(found) != 1:
        raise KeyError(f"{len(found)} mean rows for {method!r}")
    return found[0]


def paired_mean_rows(rows: list[dict], above: str, below: str) -> tuple[dict, dict]:
    """The mean rows of two methods, which must have been scored on the same test users and bootstrap resamples
    (their `pairing` keys agree), so that their samples are paired."""
    a, b = mean_row(rows, above), mean_row(rows, below)
    if a["pairing"] != b["pairing"]:
        raise ValueError(f"{above!r} and {below!r} were not scored on the same test users and resamples")
    return a, b


def paired_mean_difference(
    rows: list[dict], above: str, below: str, metric: str = "auc", level: float = 0.95
) -> list[float]:
    """[d, lo, hi]: the difference of two methods' mean over the tasks and its interval from paired resamples."""
    a, b = paired_mean_rows(rows, above, below)
    return metrics.paired_difference(a[metric], b[metric], a[f"{metric}_boot"], b[f"{metric}_boot"], level)
