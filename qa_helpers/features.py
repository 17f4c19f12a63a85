"""Handcrafted per-user features from records: catalogue-entry counts per modality and the tabular row.

These are what a task-agnostic count can see: how often each kind of event happened, not when or with what.
Notebook 01 uses them to measure where each task's evidence lives; the downstream baselines reuse them.
"""

from __future__ import annotations

import numpy as np

from . import catalog as C


def entry_counts(records: list[dict], modality: str) -> tuple[np.ndarray, list[str]]:
    """Counts of each catalogue entry of `modality` per user, plus a last column for texts the catalogue lacks.

    Returns X of shape (n_users, n_entries + 1) and the column names.
    """
    if modality not in C.EVENT_MODALITIES:
        raise ValueError(f"unknown event modality {modality!r}; expected one of {list(C.EVENT_MODALITIES)}")
    entries = C.ENTRIES[modality]
    col = {e.key: i for i, e in enumerate(entries)}
    X = np.zeros((len(records), len(entries) + 1))
    for u, rec in enumerate(records):
        for ev in rec.get("events", {}).get(modality, []):
            entry = C.lookup(modality, ev["text"])
            X[u, col[entry.key] if entry is not None else len(entries)] += 1
    return X, [f"{modality}:{e.key}" for e in entries] + [f"{modality}:unknown"]


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


def modality_features(records: list[dict], modality: str, n_tabular: int) -> np.ndarray:
    """One modality's features: log1p entry counts and the total, or the tabular row and a present flag."""
    if modality == "tabular":
        X, present = tabular_matrix(records, n_tabular)
        return np.column_stack([X, present])
    X, _ = entry_counts(records, modality)
    return np.log1p(np.column_stack([X, X.sum(1)]))
