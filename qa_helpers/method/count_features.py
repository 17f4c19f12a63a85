"""The counts baseline of any dataset: per-user features a team would compute from its records and their spec,
without a catalogue (the `probe` command scores them with gradient-boosted trees beside the embeddings).

    X = count_features(records, spec, text_vocabulary(records, 200))    # (n_users, d)
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .spec import DatasetSpec


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
