"""UserU, the pretraining data (paper §3.1): D_future and D_uqa, written only from what a record shows.

- D_future: the template query "What are the user's most likely actions in the next period?" answered by the
  user's future-window events, aggregated into (facet, part of day) actions and chosen by frequency with a
  diversity rule (one action per facet, at most MAX_FUTURE_ACTIONS).
- D_uqa: 72 life topics (24 facets x 3 aspects: habits, timing, trend). Per user, the top-10 topics with the most
  evidence become grounded questions; a drafter writes an answer as a list of claims (simulating an LLM, it gets
  some claims wrong at `draft_error_rate`: inflated numbers, a wrong item, an invented interest); a reflection
  step re-checks every claim against the record, revises wrong values and drops unsupported claims.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from . import catalog as C
from . import world
from .config import Profile
from .schema import atomic_write_text, read_jsonl, write_jsonl

USERU_VERSION = 1  # bump when how pairs are built changes: invalidates cached UserU pairs
FUTURE_QUERY = "What are the user's most likely actions in the next period?"
MAX_FUTURE_ACTIONS = 5
ASPECTS = ("habits", "timing", "trend")
DAYPARTS = (("night", range(0, 5)), ("morning", range(5, 12)), ("afternoon", range(12, 18)),
            ("evening", range(18, 23)), ("night", range(23, 24)))


@dataclass(frozen=True)
class Topic:
    key: str        # "<facet>/<aspect>"
    facet: str
    aspect: str
    title: str
    question: str   # asked with a grounding clause in front


def _topics() -> tuple[Topic, ...]:
    out = []
    for facet, (domain, action) in C.FACETS.items():
        out += [
            Topic(f"{facet}/habits", facet, "habits", f"{domain} habits",
                  f"how much does this user engage in {domain}, and with what?"),
            Topic(f"{facet}/timing", facet, "timing", f"timing of {domain}",
                  f"at what time of day does this user usually {action}?"),
            Topic(f"{facet}/trend", facet, "trend", f"changes in {domain}",
                  f"has this user's interest in {domain} grown or faded over the last three months?"),
        ]
    return tuple(out)


TOPICS: tuple[Topic, ...] = _topics()
TOPIC_BY_KEY = {t.key: t for t in TOPICS}


# ----------------------------------------------------------------------------- facts a record shows

def daypart(hour: int) -> str:
    return next(name for name, hours in DAYPARTS if hour in hours)


def item_name(modality: str, text: str) -> str:
    """The human name of what an event is about (merchant, mini program, page, app or query)."""
    if modality == "bill":
        name = text.split(" | ")[0]
        return name[4:] if name.startswith("pay ") else name
    if modality == "mini":
        return text.split(" | ")[0].removeprefix("mini program ")
    if modality == "spm":
        return text.split(" > ")[-1]
    if modality == "app":
        return text.removeprefix("installed app ").split(" (")[0]
    return f'"{text}"'


def facet_events(record: dict, facet: str) -> list[tuple[str, dict]]:
    """(modality, event) pairs of a record whose text belongs to `facet`; unknown texts belong to no facet."""
    out = []
    for modality, events in record.get("events", {}).items():
        for ev in events:
            entry = C.lookup(modality, ev["text"])
            if entry is not None and entry.facet == facet:
                out.append((modality, ev))
    return out


def compute_fact(record: dict, kind: str, facet: str, window_days: int = 90):
    """The true value of one kind of fact about a facet, or None when the record shows no evidence for it."""
    evs = facet_events(record, facet)
    if not evs:
        return None
    if kind == "count":
        return len(evs)
    if kind == "modalities":
        return tuple(m for m in C.EVENT_MODALITIES if any(mm == m for mm, _ in evs))
    if kind == "top_item":
        counts = Counter(item_name(m, ev["text"]) for m, ev in evs)
        return min(counts, key=lambda k: (-counts[k], k))
    if kind == "spend":
        amounts = [ev["amount"] for m, ev in evs if m == "bill"]
        return round(sum(amounts), 2) if amounts else None
    if kind == "daypart":
        counts = Counter(daypart(ev["hour"]) for _, ev in evs)
        part = min(counts, key=lambda k: (-counts[k], k))
        return part, round(100 * counts[part] / len(evs))
    if kind == "trend":
        half = window_days // 2
        return sum(ev["day"] < half for _, ev in evs), sum(ev["day"] >= half for _, ev in evs)
    raise ValueError(f"unknown fact kind {kind!r}")


@dataclass(frozen=True)
class Claim:
    kind: str
    facet: str
    value: object

    def text(self) -> str:
        domain = C.FACETS[self.facet][0]
        v = self.value
        if self.kind == "count":
            return f"Over the last 90 days the user shows {v} events related to {domain}."
        if self.kind == "modalities":
            return f"This shows up in {', '.join(C.MODALITY_LABELS[m] for m in v)}."
        if self.kind == "top_item":
            return f"The most frequent one is {v}."
        if self.kind == "spend":
            return f"Spending on it adds up to about {v:.0f} yuan."
        if self.kind == "daypart":
            return f"It happens mostly in the {v[0]} ({v[1]}% of these events)."
        if self.kind == "trend":
            a, b = v
            word = "grown" if b > 1.25 * a + 1 else "faded" if a > 1.25 * b + 1 else "stayed about the same"
            return f"There were {a} such events in the first half of the window and {b} in the second, so it has {word}."
        raise ValueError(f"unknown fact kind {self.kind!r}")


def supported(claim: Claim, truth) -> bool:
    """Does a claimed value agree with the record? Counts and items exactly, amounts within 1%, shares within 2."""
    if claim.kind == "spend":
        return abs(claim.value - truth) <= 0.01 * max(1.0, truth)
    if claim.kind == "daypart":
        return claim.value[0] == truth[0] and abs(claim.value[1] - truth[1]) <= 2
    return claim.value == truth


# ----------------------------------------------------------------------------- D_uqa

_ASPECT_FACTS = {"habits": ("count", "modalities", "top_item", "spend"),
                 "timing": ("count", "daypart", "top_item"),
                 "trend": ("count", "trend", "spend")}


def topic_relevance(record: dict, window_days: int = 90) -> dict[str, float]:
    """Evidence score per topic key; 0 means the record says nothing about it."""
    scores = {}
    for facet in C.FACETS:
        evs = facet_events(record, facet)
        n = len(evs)
        base = float(np.log1p(n))
        parts = Counter(daypart(ev["hour"]) for _, ev in evs)
        concentration = max(parts.values()) / n if n else 0.0
        first = sum(ev["day"] < window_days // 2 for _, ev in evs)
        change = abs(n - 2 * first) / n if n else 0.0
        # salience: habits always 1; timing grows from 0 (spread over the 4 parts of day) to 2 (all in one);
        # trend grows from 0 (even halves) to 2 (all events in one half)
        scores[f"{facet}/habits"] = base
        scores[f"{facet}/timing"] = base * 2 * (concentration - 0.25) / 0.75 if n >= 3 else 0.0
        scores[f"{facet}/trend"] = base * 2 * change if n >= 4 else 0.0
    return scores


def top_topics(record: dict, k: int = 10, window_days: int = 90) -> list[Topic]:
    """The k most relevant topics with any evidence, best first (ties in TOPICS order)."""
    scores = topic_relevance(record, window_days)
    ranked = sorted((t for t in TOPICS if scores[t.key] > 0), key=lambda t: -scores[t.key])
    return ranked[:k]


def grounded_question(record: dict, topic: Topic) -> str:
    item = compute_fact(record, "top_item", topic.facet)
    return f"Given the user's activity around {item}, {topic.question}"


def draft_claims(record: dict, topic: Topic, rng: np.random.Generator, error_rate: float,
                 window_days: int = 90) -> list[Claim]:
    """A drafted answer as claims. Like an LLM draft, a share `error_rate` of claims is wrong, and with the same
    chance one claim about an interest the record does not show is invented."""
    claims = []
    for kind in _ASPECT_FACTS[topic.aspect]:
        value = compute_fact(record, kind, topic.facet, window_days)
        if value is None:
            continue
        if rng.random() < error_rate:
            value = _corrupt(kind, value, rng)
        claims.append(Claim(kind, topic.facet, value))
    if rng.random() < error_rate:
        absent = [f for f in C.FACETS if not facet_events(record, f)]
        if absent:
            claims.append(Claim("count", absent[rng.integers(len(absent))], int(rng.integers(2, 20))))
    return claims


def _corrupt(kind: str, value, rng: np.random.Generator):
    if kind == "count":
        return value * 2 + int(rng.integers(1, 5))
    if kind == "spend":
        return round(value * rng.uniform(1.5, 3.0), 2)
    if kind == "trend":
        return value[1] + 3, value[0]
    if kind == "daypart":
        others = [p for p in ("morning", "afternoon", "evening", "night") if p != value[0]]
        return others[rng.integers(len(others))], value[1]
    if kind == "top_item":
        return "Starbucks" if value != "Starbucks" else "Pinduoduo"
    if kind == "modalities":
        return tuple(C.EVENT_MODALITIES)
    raise ValueError(kind)


@dataclass
class ReflectionReport:
    checked: int = 0
    supported: int = 0
    revised: int = 0
    dropped: int = 0

    def add(self, other: "ReflectionReport") -> None:
        for f in ("checked", "supported", "revised", "dropped"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def reflect(record: dict, claims: list[Claim], window_days: int = 90) -> tuple[list[Claim], ReflectionReport]:
    """Check each claim against the record: keep it if supported, revise a wrong value, drop an unsupported one."""
    report = ReflectionReport()
    kept = []
    for claim in claims:
        report.checked += 1
        truth = compute_fact(record, claim.kind, claim.facet, window_days)
        if truth is None:
            report.dropped += 1
        elif supported(claim, truth):
            report.supported += 1
            kept.append(claim)
        else:
            report.revised += 1
            kept.append(replace(claim, value=truth))
    return kept, report


# ----------------------------------------------------------------------------- D_future

def future_actions(future_record: dict, max_actions: int = MAX_FUTURE_ACTIONS) -> list[tuple[str, str, int]]:
    """(facet, part of day, count) actions of a future window, by frequency, at most one per facet."""
    counts = Counter()
    for modality, events in future_record.get("events", {}).items():
        for ev in events:
            entry = C.lookup(modality, ev["text"])
            if entry is not None and entry.facet != "daily_tools":  # tools say nothing about the person
                counts[(entry.facet, daypart(ev["hour"]))] += 1
    chosen, facets = [], set()
    for (facet, part), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if facet in facets or (chosen and n < 2):
            continue
        chosen.append((facet, part, n))
        facets.add(facet)
        if len(chosen) == max_actions:
            break
    return chosen


def future_answer(actions: list[tuple[str, str, int]]) -> str:
    if not actions:
        return "The user is likely to stay mostly inactive in the next period."
    parts = [f"{C.FACETS[f][1]} in the {p} (about {n} times)" for f, p, n in actions]
    return "In the next period the user is most likely to " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- the dataset

def build(records: list[dict], future_records: list[dict], seed: int, k: int = 10, error_rate: float = 0.25,
          window_days: int = 90) -> tuple[list[dict], dict]:
    """UserU pairs for pretraining users, and statistics of the reflection step.

    Returns rows {user_id, source: future|uqa, topic, query, answer, checked, revised, dropped} and a stats dict.
    """
    if len(records) != len(future_records):
        raise ValueError("records and future_records must describe the same users")
    rng = np.random.default_rng(seed)
    rows, total = [], ReflectionReport()
    answers_dropped = 0
    topics_per_user = []
    for rec, fut in tqdm(list(zip(records, future_records)), desc="UserU", mininterval=1.0):
        if rec["user_id"] != fut["user_id"]:
            raise ValueError(f"user order differs: {rec['user_id']} vs {fut['user_id']}")
        rows.append({"user_id": rec["user_id"], "source": "future", "topic": "future", "query": FUTURE_QUERY,
                     "answer": future_answer(future_actions(fut)), "checked": 0, "revised": 0, "dropped": 0})
        topics = top_topics(rec, k, window_days)
        topics_per_user.append(len(topics))
        for topic in topics:
            claims, report = reflect(rec, draft_claims(rec, topic, rng, error_rate, window_days), window_days)
            total.add(report)
            if not claims:
                answers_dropped += 1
                continue
            rows.append({"user_id": rec["user_id"], "source": "uqa", "topic": topic.key,
                         "query": grounded_question(rec, topic), "answer": " ".join(c.text() for c in claims),
                         "checked": report.checked, "revised": report.revised, "dropped": report.dropped})
    stats = {"users": len(records), "pairs_future": sum(r["source"] == "future" for r in rows),
             "pairs_uqa": sum(r["source"] == "uqa" for r in rows), "claims_checked": total.checked,
             "claims_supported": total.supported, "claims_revised": total.revised,
             "claims_dropped": total.dropped, "answers_dropped": answers_dropped,
             "mean_topics_per_user": float(np.mean(topics_per_user)) if topics_per_user else 0.0}
    return rows, stats


def load_or_build(cfg: Profile, w: world.World) -> tuple[list[dict], dict]:
    """UserU pairs and stats for a profile's world `w`, cached beside the world (see world.cache_folder)."""
    folder = world.cache_folder(cfg)
    rows_path, stats_path = folder / "userU.jsonl", folder / "userU_stats.json"
    key = {"version": USERU_VERSION, "seed": cfg.seed, "k": cfg.uqa_topics_per_user,
           "error_rate": cfg.draft_error_rate}
    if stats_path.exists():
        saved = json.loads(stats_path.read_text())
        if saved.get("key") == key:
            return read_jsonl(rows_path), saved["stats"]
    rows, stats = build(w.pretrain, w.pretrain_future, cfg.seed, cfg.uqa_topics_per_user, cfg.draft_error_rate,
                        cfg.window_days)
    write_jsonl(rows_path, rows)
    atomic_write_text(stats_path, json.dumps({"key": key, "stats": stats}, indent=1))
    return rows, stats
