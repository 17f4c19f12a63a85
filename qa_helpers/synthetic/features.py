"""Handcrafted per-user features from records: catalogue-entry counts per modality and the tabular row.

These are what a task-agnostic count can see: how often each kind of event happened, not when or with what.
Notebook 01 uses them to measure where each task's evidence lives; the downstream baselines reuse them.
`count_features` needs no catalogue: the counts baseline for any dataset and its spec (the `probe` command).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..method.spec import DatasetSpec
from . import catalog as C


def entry_counts(records: list[dict], modality: str, interest_facets: bool = False) -> tuple[np.ndarray, list[str]]:
    """Counts of each version-1 catalogue entry of `modality` per user, then with `interest_facets` one column per
    facet counting world version 2's interest events by their category field (the facet, as a merchant category
    code: not which interest), and a last column for every other text (unknown ones; interest events without
    `interest_facets`).

    Returns X of shape (n_users, n_entries [+ 24] + 1) and the column names.
    """
    if modality not in C.EVENT_MODALITIES:
        raise ValueError(f"unknown event modality {modality!r}; expected one of {list(C.EVENT_MODALITIES)}")
    names = [f"{modality}:{e.key}" for e in C.ENTRIES[modality]]
    col = {e.key: i for i, e in enumerate(C.ENTRIES[modality])}
    if interest_facets:
        col |= {f"facet:{f}": len(names) + i for i, f in enumerate(C.FACETS)}
        names += [f"{modality}:interests in {f}" for f in C.FACETS]
    other = len(names)
    X = np.zeros((len(records), other + 1))
    for u, rec in enumerate(records):
        for ev in rec.get("events", {}).get(modality, []):
            entry = C.lookup(modality, ev["text"])
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


def modality_features(records: list[dict], modality: str, n_tabular: int, interest_facets: bool = False) -> np.ndarray:
    """One modality's features: log1p entry counts (see entry_counts) and the total, or the tabular row and a
    present flag."""
    if modality == "tabular":
        X, present = tabular_matrix(records, n_tabular)
        return np.column_stack([X, present])
    X, _ = entry_counts(records, modality, interest_facets)
    return np.log1p(np.column_stack([X, X.sum(1)]))


def count_features(records: list[dict], spec: DatasetSpec, vocabulary: list[str]) -> np.ndarray:
    """(n_users, d) counts a team would compute from any records: per modality log1p of its events, its active
    days and its events in the window's last quarter, its part-of-day shares (night, morning, afternoon, evening),
    log1p of the sum of each numeric field; log1p counts of each text of `vocabulary`; the tabular row and a
    present flag."""
    col = {t: i for i, t in enumerate(vocabulary)}
    recent = spec.window_days - max(spec.window_days // 4, 1)
    rows = []
    for rec in records:
        texts = np.zeros(len(vocabulary))
        parts = []
        for m in spec.modalities:
            evs = rec.get("events", {}).get(m.name, [])
            hours = np.array([ev["hour"] for ev in evs], dtype=int)
            dayparts = np.bincount(np.digitize(hours, [5, 12, 18, 23]) % 4, minlength=4) / max(len(evs), 1)
            sums = [np.log1p(sum(ev[f] for ev in evs)) for f in m.numeric]
            n_days = len({ev["day"] for ev in evs})
            n_recent = sum(ev["day"] >= recent for ev in evs)
            parts += [np.log1p(len(evs)), n_days, np.log1p(n_recent), *dayparts, *sums]
            for ev in evs:
                if ev["text"] in col:
                    texts[col[ev["text"]]] += 1
        tab = rec.get("tabular")
        tab_row = [*(tab if tab is not None else [0.0] * spec.tabular), float(tab is not None)] if spec.tabular else []
        rows.append([*parts, *np.log1p(texts), *tab_row])
    return np.asarray(rows, dtype=np.float64)


def text_vocabulary(records: list[dict], size: int = 200) -> list[str]:
    """The `size` most frequent event texts of `records` (ties by text): the columns of count_features."""
    counts = Counter(ev["text"] for r in records for evs in r.get("events", {}).values() for ev in evs)
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]]
