"""The synthetic six-modality user world: users, their 90-day logs, a future window, task labels and the oracle.

    >>> from qa_helpers.synthetic import world
    >>> w = world.generate(world.WorldSettings(n_pretrain_users=100, n_downstream_users=200))
    >>> w.downstream[0]["events"]["bill"][0]["text"]
    'pay Lucky Family allowance Shop | money transfers | via bank card'

The series caches its profiles' worlds: series.artifacts.world(config.load("smoke")) generates one once.

Mechanisms (each written up in data_samples/README.md):
- traits -> per-modality event counts (heavy-tailed through activity level) and a softmax over catalogue entries;
- hours from the entry's profile, shifted late for night owls; bill amounts log-normal per entry;
- signature events for fraud (small transfers to new payees at 0-5 h) and laundering (round amount in, out the
  same day): conjunctions that per-category counts cannot see;
- missing modalities, and a shared device for some users (App and Search generated from another person);
- the future window uses drifted traits; task labels are Bernoulli draws from the oracle probability.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..method.schema import read_jsonl, read_records, write_jsonl, write_records
from ..method.spec import DatasetSpec, Modality
from . import catalog, interests, tasks, traits

INTEREST_HALF = 8.0  # world version 2: a user's share of interest events is K / (K + 8), K the sum of intensities
INTEREST_AMOUNT = (4.0, 0.8)  # world version 2: log-normal (mu, sigma) of an interest payment in yuan
SHARED_DEVICE_RATE = 0.08  # share of users whose App and Search come from another household member
TABULAR_FEATURES: tuple[str, ...] = (
    "age_years",
    "log_monthly_income",
    "account_age_years",
    "login_days_30",
    "sessions_per_day",
    "log_avg_balance",
    "credit_score",
    "devices_90d",
    "bank_cards",
    "balance_turnover",
    "log_credit_limit",
    "coupon_redemptions_90d",
    "membership_cards",
    "night_session_share",
)


EVENT_CAPS = (32, 16, 24, 16, 8)  # K_m of the spec a saved world carries (spec.json): the CPU default's


@dataclass(frozen=True)
class WorldSettings:
    """What a world is generated from. Every function here also takes any object with these fields (a series
    profile holds them all)."""

    world_version: int = 2  # 2: 14 traits plus 192 long-tail interests; 1: traits alone, the control
    seed: int = 0
    n_pretrain_users: int = 4000  # UserU users; disjoint from the downstream users
    n_downstream_users: int = 4000  # users with task labels
    window_days: int = 90  # history window, as in the paper
    future_days: int = 30  # prediction window of D_future answers and task labels
    n_tabular: int = 24  # F, the tabular width: 14 informative + 10 noise columns
    activity_scale: float = 1.0  # multiplies every modality's event rate

    @classmethod
    def of(cls, settings) -> WorldSettings:
        """The world settings held by `settings` (itself, or any object with the same fields)."""
        return (
            settings if isinstance(settings, cls) else cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})
        )


def spec(settings: WorldSettings, event_caps: tuple[int, ...]) -> DatasetSpec:
    """The world as a dataset spec: five event modalities (bill events carry an amount), K_m `event_caps` (how
    many recent events the model reads: a model setting), a tabular row of width F and the history window."""
    settings = WorldSettings.of(settings)
    modalities = tuple(
        Modality(m, int(k), ("amount",) if m == "bill" else ()) for m, k in zip(catalog.EVENT_MODALITIES, event_caps)
    )
    return DatasetSpec(modalities, settings.n_tabular, settings.window_days, "synthetic-world")


@dataclass
class _ModalityTables:
    """Catalogue entries of one modality as arrays, for fast sampling."""

    entries: tuple
    loadings: np.ndarray  # (E, N_TRAITS)
    base: np.ndarray  # (E,)
    late: np.ndarray  # (E,)
    hour_p: np.ndarray  # (E, 24), rows sum to 1


def _tables_of(entries: tuple) -> _ModalityTables:
    loadings = np.zeros((len(entries), traits.N_TRAITS))
    for i, e in enumerate(entries):
        for trait, w in e.loadings.items():
            loadings[i, traits.INDEX[trait]] = w
    hours = np.array([catalog.HOUR_PROFILES[e.hours] for e in entries], dtype=float)
    return _ModalityTables(
        entries,
        loadings,
        np.array([e.base for e in entries]),
        np.array([e.late for e in entries]),
        hours / hours.sum(1, keepdims=True),
    )


@cache
def _tables(modality: str) -> _ModalityTables:
    """Version 1's catalogue entries of one modality."""
    return _tables_of(catalog.ENTRIES[modality])


@cache
def _interest_tables(modality: str) -> _ModalityTables:
    """World version 2's interest entries of one modality (no loadings: picked by the user's interests)."""
    return _tables_of(catalog.interest_entries(modality))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _hours(entry_idx: np.ndarray, tab: _ModalityTables, evening: float, rng: np.random.Generator) -> np.ndarray:
    """Hour of day per event: the entry's profile, or with a trait-dependent chance a late hour."""
    n = len(entry_idx)
    cum = np.cumsum(tab.hour_p[entry_idx], axis=1)
    hours = (rng.random((n, 1)) > cum).sum(1)
    late = rng.random(n) < catalog.late_share(evening, tab.late[entry_idx])
    hours[late] = rng.choice(catalog.LATE_HOURS, size=int(late.sum()))
    return np.minimum(hours, 23)


def _modality_events(modality: str, z: np.ndarray, n: int, days: int, rng: np.random.Generator) -> list[dict]:
    tab = _tables(modality)
    logits = tab.base + tab.loadings @ z
    if modality == "app":  # an app list has no repeats: Gumbel top-n without replacement
        n = min(n, len(tab.entries))
        idx = np.argsort(-(logits + rng.gumbel(size=len(logits))))[:n]
    else:
        p = np.exp(logits - logits.max())
        idx = rng.choice(len(tab.entries), size=n, p=p / p.sum())
    day = rng.integers(0, days, size=n)
    hour = _hours(idx, tab, z[traits.INDEX["evening_orientation"]], rng)
    events = []
    for i, d, h in zip(idx, day, hour):
        entry = tab.entries[i]
        event = {"day": int(d), "hour": int(h), "text": entry.texts[rng.integers(len(entry.texts))]}
        if modality == "bill":
            event["amount"] = round(float(np.exp(rng.normal(*entry.amount))), 2)
        events.append(event)
    return events


def _interest_events(
    modality: str, intensity: np.ndarray, n: int, days: int, evening: float, rng: np.random.Generator
) -> list[dict]:
    """World version 2: `n` events about the user's interests (intensity (N_INTERESTS,), some held), an interest
    picked in proportion to its intensity, then one of its texts in the modality; an app list has no repeats."""
    entries = catalog.interest_entries(modality)
    held = np.flatnonzero(intensity)
    picked = rng.choice(held, size=n, p=intensity[held] / intensity[held].sum())
    texts = [entries[i].texts[rng.integers(len(entries[i].texts))] for i in picked]
    if modality == "app":
        keep = sorted({t: k for k, t in reversed(list(enumerate(texts)))}.values())  # first occurrence of each
        picked, texts = picked[keep], [texts[k] for k in keep]
    tab = _interest_tables(modality)
    day = rng.integers(0, days, size=len(picked))
    hour = _hours(picked, tab, evening, rng)
    events = []
    for d, h, text in zip(day, hour, texts):
        event = {"day": int(d), "hour": int(h), "text": text}
        if modality == "bill":
            event["amount"] = round(float(np.exp(rng.normal(*INTEREST_AMOUNT))), 2)
        events.append(event)
    return events


def _signature_events(z: np.ndarray, days: int, rng: np.random.Generator) -> list[dict]:
    """Bill events that only a conjunction of fields reveals: fraud and laundering patterns."""
    scale = days / 90
    events = []
    n_fraud = rng.poisson(6.0 * scale * np.exp(1.6 * (z[traits.INDEX["fraud_propensity"]] - 1.8)))
    for _ in range(n_fraud):  # small transfer to a new payee in the small hours
        events.append(
            {
                "day": int(rng.integers(days)),
                "hour": int(rng.integers(0, 6)),
                "text": catalog.FRAUD_TEXT,
                "amount": round(float(rng.uniform(5, 80)), 2),
            }
        )
    n_launder = rng.poisson(4.0 * scale * np.exp(1.6 * (z[traits.INDEX["laundering_pattern"]] - 1.8)))
    for _ in range(n_launder):  # a round amount comes in and leaves the same day
        d, h = int(rng.integers(days)), int(rng.integers(8, 20))
        amount = float(rng.choice([2000, 5000, 10000, 20000]))
        events.append({"day": d, "hour": h, "text": catalog.LAUNDER_IN_TEXT, "amount": amount})
        events.append(
            {
                "day": d,
                "hour": h + int(rng.integers(1, 4)),
                "text": catalog.LAUNDER_OUT_TEXT,
                "amount": round(amount * rng.uniform(0.97, 1.0), 2),
            }
        )
    return events


def _tabular(z: np.ndarray, n_tabular: int, rng: np.random.Generator) -> list[float]:
    g = {name: z[traits.INDEX[name]] for name in traits.TRAITS}
    e = rng.standard_normal(14)
    values = [
        float(np.clip(round(38 + 11 * g["age"]), 18, 80)),
        8.8 + 0.6 * g["income"] + 0.1 * e[0],
        float(np.clip(5 + 1.5 * g["age"] + 1.5 * e[1], 0.1, 20)),
        float(round(30 * _sigmoid(1.5 * g["activity_level"] + 0.5 + 0.5 * e[2]))),
        float(np.exp(0.5 * g["activity_level"] + 0.3 * e[3])),
        8.0 + 0.8 * g["income"] + 0.4 * g["wealth_interest"] + 0.5 * e[4],
        650 + 40 * g["income"] - 30 * g["fraud_propensity"] + 25 * e[5],
        float(1 + rng.poisson(np.exp(0.9 * g["fraud_propensity"] - 1.2))),
        float(1 + rng.poisson(np.exp(0.3 * g["income"] + 0.6 * g["laundering_pattern"] - 0.6))),
        float(np.exp(0.9 * g["laundering_pattern"] + 0.4 * e[9])),
        8.0 + 0.7 * g["income"] + 0.4 * e[10],
        float(rng.poisson(np.exp(0.8 * g["promo_sensitivity"] + 0.3 * g["price_sensitivity"]))),
        float(rng.poisson(np.exp(0.8 * g["brand_loyalty"] - 0.2))),
        float(_sigmoid(1.2 * g["evening_orientation"] - 1.5 + 0.3 * e[13])),
    ]
    values += list(rng.standard_normal(n_tabular - len(values)))
    return [round(float(v), 4) for v in values]


def generate_user(
    user_id: str,
    z: np.ndarray,
    rng: np.random.Generator,
    days: int = 90,
    activity_scale: float = 1.0,
    n_tabular: int = 24,
    household: np.ndarray | None = None,
    missing: frozenset = frozenset(),
    interests: np.ndarray | None = None,
    household_interests: np.ndarray | None = None,
) -> dict:
    """One user record from traits `z` (N_TRAITS,). `household`: traits driving App and Search (shared device).
    World version 2: `interests` (N_INTERESTS,) intensities (0: not held), `household_interests` likewise."""
    activity = np.exp(z[traits.INDEX["activity_level"]])
    burst = rng.gamma(2.0, 0.5)  # extra dispersion: some users are simply much louder than their traits say
    events = {}
    for m in catalog.EVENT_MODALITIES:
        if m in missing:
            continue
        shared = household is not None and m in ("app", "search")
        source = household if shared else z
        a = catalog.ACTIVITY_EXPONENT[m]
        rate = (
            catalog.BASE_EVENTS_PER_90_DAYS[m] * activity_scale * days / 90 * activity**a * np.exp(-a * a / 2) * burst
        )
        n = int(rng.poisson(rate))
        if interests is None:  # world version 1
            evs = _modality_events(m, source, n, days, rng)
        else:
            held = household_interests if shared else interests
            k = float(held.sum())
            n_interest = int(rng.binomial(n, k / (k + INTEREST_HALF))) if k > 0 else 0
            evs = _modality_events(m, source, n - n_interest, days, rng)
            if n_interest:  # a user holding no interest has no interest events
                evs += _interest_events(m, held, n_interest, days, source[traits.INDEX["evening_orientation"]], rng)
        if m == "bill":
            evs += _signature_events(z, days, rng)
        if evs:
            events[m] = sorted(evs, key=lambda e: (e["day"], e["hour"]))
    record = {"user_id": user_id, "events": events}
    if "tabular" not in missing:
        record["tabular"] = _tabular(z, n_tabular, rng)
    if not events and "tabular" not in record:  # nobody is invisible: keep at least the tabular row
        record["tabular"] = _tabular(z, n_tabular, rng)
    return record


def _missing_sets(n: int, rng: np.random.Generator) -> list[frozenset]:
    out = []
    for _ in range(n):
        missing = {m for m in catalog.MODALITIES if rng.random() < catalog.MISSING_RATE[m]}
        out.append(frozenset(missing if len(missing) < len(catalog.MODALITIES) else missing - {"bill"}))
    return out


def generate_population(
    prefix: str, n: int, cfg: WorldSettings, seed_seq: np.random.SeedSequence, future: bool = False, desc: str = "users"
) -> dict:
    """`n` users with traits, history records and (optionally) future-window records."""
    rng = np.random.default_rng(seed_seq)
    z = traits.sample(n, rng)
    z_future = traits.drift(z, rng)
    household = traits.sample(n, rng)
    shared = rng.random(n) < SHARED_DEVICE_RATE
    missing = _missing_sets(n, rng)
    if cfg.world_version == 2:  # drawn after everything version 1 draws, so the traits are the same in both
        x = interests.sample(z, rng)
        x_future = interests.drift(x, z_future, rng)
        x_household = interests.sample(household, rng)
    elif cfg.world_version != 1:
        raise ValueError(f"unknown world_version {cfg.world_version}; 1 (the control) or 2 (interests)")
    history, future_records = [], []
    for i in tqdm(range(n), desc=desc, mininterval=1.0):
        uid = f"{prefix}{i:06d}"
        hh = household[i] if shared[i] else None
        own = {} if cfg.world_version == 1 else {"interests": x[i], "household_interests": x_household[i]}
        history.append(
            generate_user(uid, z[i], rng, cfg.window_days, cfg.activity_scale, cfg.n_tabular, hh, missing[i], **own)
        )
        if future:
            own_future = {} if cfg.world_version == 1 else {**own, "interests": x_future[i]}
            future_records.append(
                generate_user(
                    uid,
                    z_future[i],
                    rng,
                    cfg.future_days,
                    cfg.activity_scale,
                    cfg.n_tabular,
                    hh,
                    missing[i],
                    **own_future,
                )
            )
    return {
        "records": history,
        "future_records": future_records,
        "traits": z,
        "future_traits": z_future,
        "interests": None if cfg.world_version == 1 else x,
        "future_interests": None if cfg.world_version == 1 else x_future,
        "shared_device": shared,
    }


@dataclass
class World:
    """Everything notebook 01 produces. Pretraining (prefix 'p') and downstream (prefix 'd') users are disjoint."""

    pretrain: list[dict]  # history records of the UserU users
    pretrain_future: list[dict]  # their future-window records (source of D_future answers)
    downstream: list[dict]  # history records of the labelled users
    traits: dict  # split -> (n, N_TRAITS) history traits (hidden ground truth)
    future_traits: dict  # split -> (n, N_TRAITS) drifted traits of the future window
    probs: np.ndarray  # (n_downstream, 10) oracle P(y = 1)
    labels: np.ndarray  # (n_downstream, 10) int8 labels
    shared_device: dict  # split -> (n,) bool, App and Search from another person
    interests: dict | None = None  # world version 2: split -> (n, N_INTERESTS) intensities (0: not held)
    future_interests: dict | None = None  # world version 2: the same in the future window

    def latent_state(self, split: str = "downstream") -> np.ndarray:
        """(n, N_TRAITS [+ N_INTERESTS]) the future window's true state the labels are drawn from: the traits, and
        in version 2 each interest's strength, log(1 + intensity)."""
        return interests.latent_state(
            self.future_traits[split], None if self.future_interests is None else self.future_interests[split]
        )


def generate(settings: WorldSettings) -> World:
    """Build a world. Deterministic in its settings (the seed among them)."""
    cfg = WorldSettings.of(settings)
    pre_ss, down_ss, label_ss = np.random.SeedSequence(cfg.seed).spawn(3)
    pre = generate_population("p", cfg.n_pretrain_users, cfg, pre_ss, future=True, desc="pretraining users")
    down = generate_population("d", cfg.n_downstream_users, cfg, down_ss, desc="downstream users")
    probs = tasks.label_probabilities(down["future_traits"], down["future_interests"])
    labels = tasks.draw_labels(probs, np.random.default_rng(label_ss))
    v2 = cfg.world_version == 2
    return World(
        pre["records"],
        pre["future_records"],
        down["records"],
        {"pretrain": pre["traits"], "downstream": down["traits"]},
        {"pretrain": pre["future_traits"], "downstream": down["future_traits"]},
        probs,
        labels,
        {"pretrain": pre["shared_device"], "downstream": down["shared_device"]},
        {"pretrain": pre["interests"], "downstream": down["interests"]} if v2 else None,
        {"pretrain": pre["future_interests"], "downstream": down["future_interests"]} if v2 else None,
    )


# ----------------------------------------------------------------------------- storage


def _ground_truth_rows(w: World) -> list[dict]:
    rows = []
    for split, records in (("pretrain", w.pretrain), ("downstream", w.downstream)):
        for i, rec in enumerate(records):
            row = {
                "user_id": rec["user_id"],
                "split": split,
                "shared_device": bool(w.shared_device[split][i]),
                "traits": dict(zip(traits.TRAITS, np.round(w.traits[split][i], 5).tolist())),
                "future_traits": dict(zip(traits.TRAITS, np.round(w.future_traits[split][i], 5).tolist())),
            }
            if w.interests is not None:  # version 2: the held interests only, name -> intensity
                for key, x in (("interests", w.interests), ("future_interests", w.future_interests)):
                    row[key] = {
                        interests.INTERESTS[k].name: round(float(x[split][i, k]), 5)
                        for k in np.flatnonzero(x[split][i])
                    }
            if split == "downstream":
                row["labels"] = dict(zip(tasks.TASK_NAMES, w.labels[i].tolist()))
                row["probs"] = dict(zip(tasks.TASK_NAMES, np.round(w.probs[i], 6).tolist()))
            rows.append(row)
    return rows


def save(w: World, folder: Path, settings: WorldSettings) -> None:
    """Write the world as JSONL (users_pretrain, future_pretrain, users_downstream, ground_truth) and its spec (with
    EVENT_CAPS: a model's caps are its own setting)."""
    cfg = WorldSettings.of(settings)
    folder.mkdir(parents=True, exist_ok=True)
    history = spec(cfg, EVENT_CAPS)  # records are checked against it; the caps matter only to a model
    future = history.with_window(cfg.future_days)
    write_records(folder / "users_pretrain.jsonl", w.pretrain, history)
    write_records(folder / "future_pretrain.jsonl", w.pretrain_future, future)
    write_records(folder / "users_downstream.jsonl", w.downstream, history)
    history.save(folder / "spec.json")
    write_jsonl(folder / "ground_truth.jsonl", _ground_truth_rows(w))


def load(folder: Path, settings: WorldSettings) -> World:
    """Read a world written by `save`, validating every user record against the world's spec."""
    cfg = WorldSettings.of(settings)
    history = spec(cfg, EVENT_CAPS)  # records are checked against it; the caps matter only to a model
    future = history.with_window(cfg.future_days)
    folder = Path(folder)
    gt = read_jsonl(folder / "ground_truth.jsonl")
    by_split = {s: [r for r in gt if r["split"] == s] for s in ("pretrain", "downstream")}

    def mat(split, key):
        return np.array([[r[key][t] for t in traits.TRAITS] for r in by_split[split]]).reshape(-1, traits.N_TRAITS)

    def intensities(split, key):
        x = np.zeros((len(by_split[split]), interests.N_INTERESTS))
        for u, r in enumerate(by_split[split]):
            for name, value in r[key].items():
                x[u, interests.INDEX[name]] = value
        return x

    v2 = cfg.world_version == 2
    down = by_split["downstream"]
    return World(
        read_records(folder / "users_pretrain.jsonl", history),
        read_records(folder / "future_pretrain.jsonl", future),
        read_records(folder / "users_downstream.jsonl", history),
        {s: mat(s, "traits") for s in by_split},
        {s: mat(s, "future_traits") for s in by_split},
        np.array([[r["probs"][t] for t in tasks.TASK_NAMES] for r in down]).reshape(-1, len(tasks.TASKS)),
        np.array([[r["labels"][t] for t in tasks.TASK_NAMES] for r in down], dtype=np.int8).reshape(
            -1, len(tasks.TASKS)
        ),
        {s: np.array([r["shared_device"] for r in by_split[s]], dtype=bool) for s in by_split},
        {s: intensities(s, "interests") for s in by_split} if v2 else None,
        {s: intensities(s, "future_interests") for s in by_split} if v2 else None,
    )
