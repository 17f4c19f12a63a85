"""Incremental daily update of users' prefix tokens (paper App. E).

A ProfileState keeps, per event modality, the K_m most recent events of the window with their time-free
encodings (h and the adapter's token; an event's age is added only when the prefix is assembled, see user_encoder.py).
When a day's events arrive, `update`:
  1. moves the window to the new day: events older than `window_days` leave every buffer (nothing re-encoded);
  2. encodes only the new events (text vector, numeric projection, event adapter), in the modalities that have any;
  3. keeps each touched modality's K_m most recent events;
and `prefix` assembles the tokens: ages from the new day, modality summaries as the mean of the buffered h,
the user token from the summaries. The result equals encoding the updated profile from scratch (tested).
The LLM must still re-read the whole prefix (its first token, the user token, changes), so the KV cache is
rebuilt; what is saved is event-level encoding.

    spec = model.config.spec                                               # modalities, K_m, window
    states = [encode(model.encoder, r, table, spec, today=89) for r in records]
    new_state, stats = update(model.encoder, states[0], {"bill": todays_bills}, table, spec)
    tokens, mask = prefix(model.encoder, [new_state], spec)               # (1, Lp, d_llm), (1, Lp)
    report, (tokens, mask) = replay(model.encoder, records, table, spec, last_day=89, days=10)
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch

from .spec import DatasetSpec
from .user_encoder import HierarchicalEncoder, masked_mean
from .user_tensors import TextTable, UserTensors, event_age, event_numeric, most_recent


@dataclass
class ModalityBuffer:
    """One modality's kept events, most recent first: day (k,), hour (k,), h (k, d_enc), tokens (k, d_llm)."""

    day: list[int]
    hour: list[int]
    h: torch.Tensor
    tokens: torch.Tensor

    def __len__(self) -> int:
        return len(self.day)

    def head(self, n: int) -> ModalityBuffer:
        """The n most recent events (the buffer is ordered most recent first, so the oldest leave from the end)."""
        return ModalityBuffer(self.day[:n], self.hour[:n], self.h[:n], self.tokens[:n])


@dataclass
class ProfileState:
    """A user's encoder state on day `today`: a buffer per event modality and the raw tabular row (or None)."""

    user_id: str
    today: int
    buffers: dict[str, ModalityBuffer]
    tabular: torch.Tensor | None


@dataclass
class UpdateStats:
    """What one update did: events encoded here vs what a from-scratch encoding of the new profile encodes."""

    new_events: int = 0
    events_encoded: int = 0
    full_encode_events: int = 0
    expired: int = 0
    modalities_encoded: list[str] = field(default_factory=list)

    def add(self, other: UpdateStats) -> None:
        """Accumulate another update's counts (to total a day, or many days, of updates)."""
        self.new_events += other.new_events
        self.events_encoded += other.events_encoded
        self.full_encode_events += other.full_encode_events
        self.expired += other.expired
        self.modalities_encoded += other.modalities_encoded


def _encode_events(
    encoder: HierarchicalEncoder, spec: DatasetSpec, m: str, events: list[dict], table: TextTable
) -> ModalityBuffer:
    """Time-free encodings of `events` (already in buffer order)."""
    missing = [e["text"] for e in events if e["text"] not in table.index]
    if missing:
        raise KeyError(f"text {missing[0]!r} is not in the text table; call table.extend(records, cache) first")
    text = table.vectors[torch.tensor([table.index[e["text"]] for e in events], dtype=torch.long)]
    fields, width = spec.modality(m).numeric, spec.n_numeric
    numeric = torch.tensor([event_numeric(e, fields, width) for e in events], dtype=torch.float32)
    numeric = numeric.reshape(len(events), width)
    h = encoder.event_vectors(m, text, numeric)
    return ModalityBuffer([e["day"] for e in events], [e["hour"] for e in events], h, encoder.event_tokens(m, h))


@torch.no_grad()
def encode(
    encoder: HierarchicalEncoder,
    record: dict,
    table: TextTable,
    spec: DatasetSpec,
    today: int | None = None,
) -> ProfileState:
    """A user's state from scratch: every modality's K_m most recent events encoded."""
    today = spec.window_days - 1 if today is None else today
    buffers = {}
    for m in spec.modalities:
        events = record.get("events", {}).get(m.name, [])
        for e in events:
            event_age(e["day"], today, spec.window_days)
        buffers[m.name] = _encode_events(encoder, spec, m.name, most_recent(events, m.cap), table)
    tab = record.get("tabular")
    return ProfileState(
        record["user_id"], today, buffers, None if tab is None else torch.tensor(tab, dtype=torch.float32)
    )


@torch.no_grad()
def update(
    encoder: HierarchicalEncoder,
    state: ProfileState,
    new_events: dict[str, list[dict]],
    table: TextTable,
    spec: DatasetSpec,
) -> tuple[ProfileState, UpdateStats]:
    """The state one day later, after the day's `new_events` (modality -> events, all on the new day)."""
    today = state.today + 1
    unknown = set(new_events) - set(spec.event_modalities)
    if unknown:
        raise ValueError(f"unknown modality {sorted(unknown)[0]!r}; event modalities are {spec.event_modalities}")
    stats, buffers = UpdateStats(), {}
    for m, k in ((m.name, m.cap) for m in spec.modalities):
        old = state.buffers[m]
        kept = old.head(sum(d > today - spec.window_days for d in old.day))  # drop what left the window
        stats.expired += len(old) - len(kept)
        fresh = new_events.get(m, [])
        if any(e["day"] != today for e in fresh):
            raise ValueError(f"{m}: a daily update takes events of day {today} only; re-encode to backfill")
        stats.new_events += len(fresh)
        if fresh:
            new = _encode_events(encoder, spec, m, most_recent(fresh, k), table)  # new events are the most recent
            stats.events_encoded += len(new)
            stats.modalities_encoded.append(m)
            room = max(k - len(new), 0)
            kept = ModalityBuffer(
                new.day + kept.day[:room],
                new.hour + kept.hour[:room],
                torch.cat([new.h, kept.h[:room]]),
                torch.cat([new.tokens, kept.tokens[:room]]),
            )
        buffers[m] = kept
        stats.full_encode_events += len(kept)
    return ProfileState(state.user_id, today, buffers, state.tabular), stats


@torch.no_grad()
def prefix(
    encoder: HierarchicalEncoder, states: list[ProfileState], spec: DatasetSpec
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prefix tokens (B, Lp, d_llm) and mask (B, Lp) of B users' states, as encoder(batch) would give."""
    if not states:
        raise ValueError("no states to assemble")
    b, d_llm, window_days = len(states), encoder.d_llm, spec.window_days
    tokens, age, mask, summaries = {}, {}, {}, []
    for m, k in ((m.name, m.cap) for m in spec.modalities):
        tokens[m] = torch.zeros(b, k, d_llm)
        h = torch.zeros(b, k, encoder.d_enc)
        age[m], mask[m] = torch.zeros(b, k), torch.zeros(b, k, dtype=torch.bool)
        for i, s in enumerate(states):
            buf = s.buffers[m]
            if len(buf) > k:
                raise ValueError(f"user {s.user_id!r}: {len(buf)} {m} events buffered, the cap is {k}")
            n = len(buf)
            tokens[m][i, :n], h[i, :n], mask[m][i, :n] = buf.tokens, buf.h, True
            age[m][i, :n] = torch.tensor([event_age(d, s.today, window_days) for d in buf.day])
        summaries.append(masked_mean(h, mask[m]))
    present = torch.tensor([s.tabular is not None for s in states])
    tab = torch.stack([s.tabular if s.tabular is not None else torch.zeros(spec.tabular) for s in states])
    tabular = encoder.tabular_parts(tab, present)
    if tabular is not None:
        summaries.append(tabular[1])
    tab_tokens = tabular[0] if tabular is not None else None
    return encoder.assemble(tokens, age, mask, torch.stack(summaries, 1), tab_tokens, present)


def window(record: dict, first_day: int, last_day: int) -> dict:
    """A copy of the record holding only the events of days first_day..last_day."""
    out = copy.deepcopy(record)
    out["events"] = {m: [e for e in evs if first_day <= e["day"] <= last_day] for m, evs in record["events"].items()}
    return out


def replay(
    encoder: HierarchicalEncoder,
    records: list[dict],
    table: TextTable,
    spec: DatasetSpec,
    last_day: int,
    days: int,
) -> tuple[dict, tuple[torch.Tensor, torch.Tensor]]:
    """Replay `days` daily updates ending on `last_day`: every user's state as of the day before, then one update
    per day with only that day's events. Each day the prefix is compared with encoding that day's window from
    scratch, and both are timed. Returns a report (events encoded each way, seconds, whether every day's masks
    were equal, the worst token difference) and the last day's prefix (tokens (B, Lp, d_llm), mask (B, Lp))."""
    if not records:
        raise ValueError("no records to replay")
    start = last_day - days  # the state before the replay
    window_days = spec.window_days
    stats = UpdateStats()
    states = [encode(encoder, window(r, start - window_days + 1, start), table, spec, today=start) for r in records]
    update_seconds, full_seconds, worst, masks_equal = 0.0, 0.0, 0.0, True
    for day in range(start + 1, last_day + 1):
        t0 = time.perf_counter()
        for i, r in enumerate(records):
            new = {m: [e for e in evs if e["day"] == day] for m, evs in r["events"].items()}
            states[i], s = update(encoder, states[i], new, table, spec)
            stats.add(s)
        tokens, mask = prefix(encoder, states, spec)
        update_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()  # the alternative: rebuild and encode every profile from scratch that day
        today = [window(r, day - window_days + 1, day) for r in records]
        scratch = UserTensors.build(today, table, spec, today=day)
        with torch.no_grad():
            ref_tokens, ref_mask = encoder(scratch.batch(list(range(len(records)))))
        full_seconds += time.perf_counter() - t0
        masks_equal &= bool(torch.equal(mask, ref_mask))
        worst = max(worst, float((tokens[mask] - ref_tokens[ref_mask]).abs().max()))
    report = {
        "users": len(records),
        "days": days,
        "new events": stats.new_events,
        "events encoded (incremental)": stats.events_encoded,
        "events encoded (from scratch, same days)": stats.full_encode_events,
        "expired": stats.expired,
        "encoder seconds (incremental)": update_seconds,
        "encoder seconds (from scratch)": full_seconds,
        "same token masks every day": masks_equal,
        "max |diff| of prefix tokens (worst day)": worst,
    }
    return report, (tokens, mask)
