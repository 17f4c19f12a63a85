"""The paper's premise, checked without a model: can one task-agnostic vector of the embedding's size serve every task?

Given the true latent state a dataset's labels are drawn from (known only for a synthetic world), three readings
of each task on the same probe splits:

- the oracle: the stored label probability, the ceiling;
- a linear probe on the full latent state: a task-specific read of every factor;
- a linear probe on its best task-agnostic summary of `size` numbers: the top `size` principal components of
  the centred state in its own units, the `size` directions that keep most of its variance, fitted without labels
  (the state itself when it has no more than `size` columns).

When the oracle is well above the summary, a static embedding of that size must lose even if it summarises the
state perfectly, so a query that decides what the embedding keeps has something to do; when they agree, it has not.

    rows = premise.check(state, probs, labels, splits, size=64)
    premise.gaps(rows, size=64)      # the oracle and the full state against the summary, paired intervals
    premise.verdict(gaps["oracle"])  # "room for a query", "little room" or "no room", by the rule below
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from ..method import evaluation
from . import tasks

ORACLE = "Oracle"
FULL = "Latent state, every factor"
# The rule that reads the oracle's gap over the summary (issue 21): a world tests the paper's premise when a perfect
# static vector of the embedding's size loses at least ROOM mean AUC, and it cannot when the loss is under NO_ROOM.
ROOM = 0.03
NO_ROOM = 0.01


def summary_name(size: int) -> str:
    return f"Latent state, top {size} components"


def task_agnostic_summary(state: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """(n, min(size, d)): the top `size` principal components of the centred state (n, d), in the state's own
    units (not standardised: standardising would blow a rare factor's few holders up to the weight of a broad
    trait, and the summary kept less of what the tasks read, checked on world version 2); the centred state
    itself when d <= size (nothing to leave out)."""
    state = np.asarray(state, dtype=np.float64)
    if state.ndim != 2 or len(state) < 2:
        raise ValueError(f"the latent state must be an (n >= 2, d) matrix, got shape {state.shape}")
    if size < 1:
        raise ValueError(f"the summary needs a size of at least 1, got {size}")
    if not np.isfinite(state).all():
        raise ValueError("the latent state holds NaN or infinite values")
    centred = state - state.mean(0)
    if state.shape[1] <= size:
        return centred
    return PCA(n_components=size, random_state=seed).fit_transform(centred)


def check(
    state: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    splits,
    size: int,
    n_boot: int = 200,
    seed: int = 0,
    task_names=tasks.TASK_NAMES,
) -> list[dict]:
    """Evaluation rows (see evaluation.evaluate) of the oracle, the full state and its top-`size` summary, on the
    same splits and bootstrap resamples, so any two of them are paired. state: (n, d); probs, labels: (n, T)."""
    if len(state) != len(labels) or probs.shape != labels.shape:
        raise ValueError(f"state of {len(state)} users, probs {probs.shape}, labels {labels.shape}")
    summary = task_agnostic_summary(state, size, seed)
    rows = evaluation.evaluate_oracle(probs, labels, splits, n_boot, seed, task_names=task_names)
    state = np.asarray(state, np.float64)
    rows += evaluation.evaluate(FULL, state, labels, splits, "linear", n_boot, seed, task_names=task_names)
    rows += evaluation.evaluate(
        summary_name(size), summary, labels, splits, "linear", n_boot, seed, task_names=task_names
    )
    return rows


def gaps(rows: list[dict], size: int) -> dict[str, list[float]]:
    """Mean AUC over the tasks, paired differences [d, 95% low, high] against the top-`size` summary: 'oracle'
    (what a static vector of that size must lose) and 'full state' (the part due to the size, not the probe)."""
    below = summary_name(size)
    return {
        "oracle": evaluation.paired_mean_difference(rows, ORACLE, below),
        "full state": evaluation.paired_mean_difference(rows, FULL, below),
    }


def verdict(gap: list[float]) -> str:
    """Read the oracle's paired gap over the summary, [d, 95% low, high]: "room for a query" when d >= ROOM and the
    interval excludes 0, "no room" when d < NO_ROOM, "little room" in between."""
    d, low, _ = gap
    if d >= ROOM and low > 0:
        return "room for a query"
    if d < NO_ROOM:
        return "no room"
    return "little room"
