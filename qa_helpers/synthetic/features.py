"""Handcrafted per-user features of the synthetic world: catalogue-entry counts per modality and the tabular row.

These are what a task-agnostic count can see: how often each kind of event happened, not when or with what.
Notebook 01 uses them to measure where each task's evidence lives (`evidence_aucs`); the downstream baselines reuse
them. The counts baseline of any dataset, without a catalogue, is method/count_features.py.
"""

from __future__ import annotations

import numpy as np

from ..method import evaluation, metrics
from . import catalog


def entry_counts(records: list[dict], modality: str, interest_facets: bool = False) -> tuple[np.ndarray, list[str]]:
    """Counts of each version-1 catalogue entry of `modality` per user, then with `interest_facets` one column per
    facet counting world version 2's interest events by their category field (the facet, as a merchant category
    code: not which interest), and a last column for every other text (unknown ones; interest events without
    `interest_facets`).

    Returns X of shape (n_users, n_entries [+ 24] + 1) and the column names.
    """
    if modality not in catalog.EVENT_MODALITIES:
        raise ValueError(f"unknown event modality {modality!r}; expected one of {list(catalog.EVENT_MODALITIES)}")
    names = [f"{modality}:{e.key}" for e in catalog.ENTRIES[modality]]
    col = {e.key: i for i, e in enumerate(catalog.ENTRIES[modality])}
    if interest_facets:
        col |= {f"facet:{f}": len(names) + i for i, f in enumerate(catalog.FACETS)}
        names += [f"{modality}:interests in {f}" for f in catalog.FACETS]
    other = len(names)
    X = np.zeros((len(records), other + 1))
    for u, rec in enumerate(records):
        for ev in rec.get("events", {}).get(modality, []):
            entry = catalog.lookup(modality, ev["text"])
            if entry is None:
                j = other
            elif entry.key in col:
                j = col[entry.key]
            else:  # an interest event (world version 2)
                j = col.get(f"facet:{entry.facet}", other)
            X[u, j] += 1
    return X, names + [f"{modality}:unknown"]


def tabular_matrix(records: list[dict], n_tabular: int) -> tuple[np.ndarray, np.ndarray]:
    """Tabular rows as (n_users, n_tabular), zeros where missing, and the (n_users,) present mask."""
    X = np.zeros((len(records), n_tabular))
    present = np.zeros(len(records), dtype=bool)
    for u, rec in enumerate(records):
        if rec.get("tabular") is not None:
            if len(rec["tabular"]) != n_tabular:
                raise ValueError(f"user {rec['user_id']}: tabular length {len(rec['tabular'])} != {n_tabular}")
            X[u] = rec["tabular"]
            present[u] = True
    return X, present


def _modality_features(records: list[dict], modality: str, n_tabular: int, interest_facets: bool = False) -> np.ndarray:
    """One modality's features: log1p entry counts (see entry_counts) and the total, or the tabular row and a
    present flag."""
    if modality == "tabular":
        X, present = tabular_matrix(records, n_tabular)
        return np.column_stack([X, present])
    X, _ = entry_counts(records, modality, interest_facets)
    return np.log1p(np.column_stack([X, X.sum(1)]))


def evidence_aucs(
    records: list[dict], labels: np.ndarray, n_tabular: int, seed: int = 0, interest_facets: bool = False
) -> np.ndarray:
    """Linear-probe test AUC of each task (rows) from one modality's count features at a time (columns, in
    catalog.MODALITIES order; `interest_facets` on world version 2, see entry_counts), on the per-task
    stratified splits. Returns (n_tasks, 6)."""
    splits = evaluation.task_splits(labels, seed)
    feats = [_modality_features(records, m, n_tabular, interest_facets) for m in catalog.MODALITIES]
    return np.array(
        [
            [
                metrics.auc(
                    labels[test, k], evaluation.probe_scores(X[train], labels[train, k], X[test], "linear", seed)
                )
                for X in feats
            ]
            for k, (train, test) in enumerate(splits)
        ]
    )
