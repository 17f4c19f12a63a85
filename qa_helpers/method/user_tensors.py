"""Records -> tensors for the hierarchical encoder.

Each event becomes a text id (a row of a `TextTable` of unique texts and their frozen encoder vectors), its
time-free numeric inputs (log1p / 10 of each numeric field its modality declares, zero-padded to the spec's widest
modality, then the hour on the clock circle as sin, cos) and its age in the window
((today - day) / (window_days - 1): 0 today, 1 on the window's first day). Age is kept apart so that an event's
encoding does not change as days pass (the encoder adds it after the event adapter; see incremental.py).
Per modality of the dataset's spec (spec.py) the K_m most recent events are kept, most recent first; padded
slots have text id 0 and mask False.

    table = TextTable.build(records, cache)             # each unique text encoded once
    users = UserTensors.build(records, table, spec)      # spec: modalities, K_m, tabular width, window
    batch = users.batch([0, 5, 7])                       # UserBatch with event vectors, shapes below
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .spec import DatasetSpec


class TextTable:
    """Unique event texts and their encoder vectors; row 0 is the zero vector used for padding."""

    def __init__(self, texts: list[str], vectors: np.ndarray):
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        self.texts = list(texts)
        self.index = {t: i + 1 for i, t in enumerate(self.texts)}
        dim = vectors.shape[1]
        self.vectors = torch.cat([torch.zeros(1, dim), torch.as_tensor(vectors, dtype=torch.float32)])

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @classmethod
    def build(cls, records: list[dict], cache) -> TextTable:
        """A table of every text in `records`, encoded through `cache` (an EmbeddingCache)."""
        texts = sorted({ev["text"] for r in records for evs in r.get("events", {}).values() for ev in evs})
        return cls(texts, cache.encode(texts))

    def extend(self, records: list[dict], cache) -> None:
        """Add texts of `records` not in the table yet (for example a user's own logs)."""
        new = sorted(
            {ev["text"] for r in records for evs in r.get("events", {}).values() for ev in evs} - set(self.index)
        )
        if new:
            start = len(self.texts) + 1
            self.texts += new
            self.index.update({t: start + i for i, t in enumerate(new)})
            self.vectors = torch.cat([self.vectors, torch.as_tensor(cache.encode(new), dtype=torch.float32)])


def event_numeric(ev: dict, fields: tuple[str, ...], width: int) -> list[float]:
    """An event's `width` numeric inputs: log1p(field) / 10 per numeric field, zeros up to width - 2, sin and cos
    of the hour."""
    angle = 2 * math.pi * ev["hour"] / 24
    values = [math.log1p(ev[f]) / 10 for f in fields]
    return values + [0.0] * (width - 2 - len(values)) + [math.sin(angle), math.cos(angle)]


def event_age(day: int, today: int, window_days: int) -> float:
    """(today - day) / (window_days - 1); a ValueError for a day outside the window [today - window + 1, today]."""
    if not today - window_days < day <= today:
        raise ValueError(f"event on day {day} is outside the {window_days}-day window ending on day {today}")
    return (today - day) / max(window_days - 1, 1)


def most_recent(events: list[dict], k: int) -> list[dict]:
    """The k most recent events, most recent first (ties keep their order in the record)."""
    return sorted(events, key=lambda e: (e["day"], e["hour"]), reverse=True)[:k]


def capped_records(records: list[dict], spec: DatasetSpec) -> list[dict]:
    """The records with each event modality cut to its K_m most recent events: what the encoder reads of them."""
    out = []
    for rec in records:
        events = {m.name: most_recent(rec.get("events", {}).get(m.name, []), m.cap) for m in spec.modalities}
        out.append({**rec, "events": {m: evs for m, evs in events.items() if evs}})
    return out


@dataclass
class UserBatch:
    """What the encoder reads for B users, per event modality of the spec (in its order).

    events[m]: (B, K_m, d_enc) text vectors; numeric[m]: (B, K_m, n_numeric); age[m]: (B, K_m) in [0, 1];
    mask[m]: (B, K_m) bool, True = real event.
    tabular: (B, F) raw values (F = 0 without a tabular row); tabular_mask: (B,) bool, True = the user has one.
    """

    events: dict[str, torch.Tensor]
    numeric: dict[str, torch.Tensor]
    age: dict[str, torch.Tensor]
    mask: dict[str, torch.Tensor]
    tabular: torch.Tensor
    tabular_mask: torch.Tensor

    def __len__(self) -> int:
        return self.tabular.shape[0]

    def to(self, device) -> UserBatch:
        if str(device) == "cpu":
            return self
        return UserBatch(
            **{
                k: ({m: t.to(device) for m, t in v.items()} if isinstance(v, dict) else v.to(device))
                for k, v in vars(self).items()
            }
        )


class UserTensors:
    """All users of a population as index tensors; `batch(idx)` materialises a UserBatch."""

    def __init__(self, user_ids, text_ids, numeric, age, mask, tabular, tabular_mask, table: TextTable):
        self.user_ids, self.text_ids, self.numeric, self.age, self.mask = user_ids, text_ids, numeric, age, mask
        self.tabular, self.tabular_mask, self.table = tabular, tabular_mask, table

    @classmethod
    def build(cls, records: list[dict], table: TextTable, spec: DatasetSpec, today: int | None = None) -> UserTensors:
        """`today`: the window's last day (default spec.window_days - 1, the world's convention: days 0..89)."""
        window = spec.window_days
        today = window - 1 if today is None else today
        n, width = len(records), spec.n_numeric
        # filled as numpy arrays (one write per event) and handed to torch at the end
        text_ids = {m.name: np.zeros((n, m.cap), np.int64) for m in spec.modalities}
        numeric = {m.name: np.zeros((n, m.cap, width), np.float32) for m in spec.modalities}
        age = {m.name: np.zeros((n, m.cap), np.float32) for m in spec.modalities}
        tabular = np.zeros((n, spec.tabular), np.float32)
        tabular_mask = np.zeros(n, bool)
        for u, rec in enumerate(records):
            events = rec.get("events", {})
            unknown = set(events) - set(spec.event_modalities)
            if unknown:
                raise ValueError(
                    f"user {rec.get('user_id')!r}: unknown modality {sorted(unknown)[0]!r}; "
                    f"the spec declares {list(spec.event_modalities)}"
                )
            for m in spec.modalities:
                for ev in events.get(m.name, []):
                    event_age(ev["day"], today, window)  # every event must lie in the window
                recent = most_recent(events.get(m.name, []), m.cap)
                if not recent:
                    continue
                for ev in recent:
                    if ev["text"] not in table.index:
                        raise KeyError(
                            f"user {rec.get('user_id')!r}: text {ev['text']!r} is not in the text table; "
                            "call table.extend(records, cache) first"
                        )
                k = len(recent)
                text_ids[m.name][u, :k] = [table.index[ev["text"]] for ev in recent]
                numeric[m.name][u, :k] = [event_numeric(ev, m.numeric, width) for ev in recent]
                age[m.name][u, :k] = [event_age(ev["day"], today, window) for ev in recent]
            if rec.get("tabular") is not None:
                if len(rec["tabular"]) != spec.tabular:
                    raise ValueError(
                        f"user {rec.get('user_id')!r}: tabular length {len(rec['tabular'])}, expected {spec.tabular}"
                    )
                tabular[u] = rec["tabular"]
                tabular_mask[u] = True
        text_ids, numeric, age = ({m: torch.from_numpy(a) for m, a in d.items()} for d in (text_ids, numeric, age))
        tabular, tabular_mask = torch.from_numpy(tabular), torch.from_numpy(tabular_mask)
        mask = {m: ids > 0 for m, ids in text_ids.items()}
        return cls([r["user_id"] for r in records], text_ids, numeric, age, mask, tabular, tabular_mask, table)

    def __len__(self) -> int:
        return len(self.user_ids)

    def subset(self, rows: list[int]) -> UserTensors:
        """The users at `rows`, in that order, sharing this population's text table."""
        idx = torch.as_tensor(rows, dtype=torch.long)
        return UserTensors(
            [self.user_ids[i] for i in rows],
            {m: t[idx] for m, t in self.text_ids.items()},
            {m: t[idx] for m, t in self.numeric.items()},
            {m: t[idx] for m, t in self.age.items()},
            {m: t[idx] for m, t in self.mask.items()},
            self.tabular[idx],
            self.tabular_mask[idx],
            self.table,
        )

    def batch(self, idx) -> UserBatch:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return UserBatch(
            events={m: self.table.vectors[ids[idx]] for m, ids in self.text_ids.items()},
            numeric={m: v[idx] for m, v in self.numeric.items()},
            age={m: v[idx] for m, v in self.age.items()},
            mask={m: v[idx] for m, v in self.mask.items()},
            tabular=self.tabular[idx],
            tabular_mask=self.tabular_mask[idx],
        )
