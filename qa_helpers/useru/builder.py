"""UserU, the pretraining data (paper §3.1): D_future and D_uqa, written only from what a record shows, from any
FacetSource (the synthetic world's catalogue, or facets clustered from event texts).

- D_future: the template query "What are the user's most likely actions in the next period?" answered by the
  user's next-period events, aggregated into (facet, part of day) actions and chosen by frequency with a diversity
  rule (one action per facet, at most MAX_FUTURE_ACTIONS), with frequency words instead of counts.
- D_uqa: per user, k topics (facet x aspect) become questions that ask without answering, each in one of its
  trained wordings drawn at random. The topics (`choose_topics`) are the ones with the most evidence, except that
  `k_low` of the k are habits topics drawn at random, so that answers also say where a user stands low. A drafter
  writes an answer as a list of claims (facts.Claim); simulating an LLM, it gets some claims wrong at
  `error_rate` (a shifted level, a wrong item, an invented interest), and a reflection step re-checks every claim
  against the record, revises wrong values and drops unsupported or off-topic claims.

    rows, stats = build(records, future_records, source, seed=0)   # rows: user_id, source, topic, query, answer ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from functools import cache

import numpy as np
from tqdm.auto import tqdm

from .facts import LEVEL_WORDS, Claim, FacetSource, Population, UserFacts, daypart, frequency_word
from .topics import FUTURE_QUERY, Topic

MAX_FUTURE_ACTIONS = 5

# ----------------------------------------------------------------------------- D_uqa: which topics


@cache
def log_count(n: int) -> float:
    """log(1 + n) for an event count n, the same to the last bit on every machine: computed in decimal arithmetic
    and rounded once. A platform's log1p may be one unit in the last place off (numpy's AVX-512 kernels and glibc's
    log1p disagree on log1p(2)), and topic scores tie exactly in exact arithmetic (log(9) / 2 = log(3)), so the
    last bit used to decide which topic a user was asked about on which machine."""
    with localcontext(prec=34) as ctx:
        return float(ctx.ln(Decimal(n + 1)))


def facet_relevance(facet: str, events: list[tuple[str, dict]], window_days: int) -> dict[str, float]:
    """The evidence score of a facet's three topics from its (modality, event) pairs: log(1 + count), times a
    salience: habits always 1; timing grows from 0 (spread over the 4 parts of day) to 2 (all in one); trend grows
    from 0 (even halves) to 2 (all events in one half). Only IEEE-exact operations after log_count, so the scores
    and their ties are the same on every machine."""
    n = len(events)
    base = log_count(n)
    parts = Counter(daypart(ev["hour"]) for _, ev in events)
    concentration = max(parts.values()) / n if n else 0.0
    first = sum(ev["day"] < window_days // 2 for _, ev in events)
    change = abs(n - 2 * first) / n if n else 0.0
    return {
        f"{facet}/habits": base,
        f"{facet}/timing": base * 2 * (concentration - 0.25) / 0.75 if n >= 3 else 0.0,
        f"{facet}/trend": base * 2 * change if n >= 4 else 0.0,
    }


def topic_relevance(facts: UserFacts) -> dict[str, float]:
    """Evidence score per topic key; 0 means the record says nothing about it. A facet's topics score by
    facet_relevance; a finer subject's habits topic (QuestionBank.more) scores log_count of its events."""
    seen, scores = facts.evidence, {}
    for facet in facts.source.keys:
        scores |= facet_relevance(facet, seen.events(facet), facts.window_days)
    scores |= {t.key: log_count(len(seen.events(t.facet))) for t in facts.source.bank.more}
    return scores


def top_topics(facts: UserFacts, k: int = 10) -> list[Topic]:
    """The k most relevant topics with any evidence, best first (ties in the bank's order)."""
    scores = topic_relevance(facts)
    return sorted((t for t in facts.source.bank.every_topic if scores[t.key] > 0), key=lambda t: -scores[t.key])[:k]


def choose_topics(
    ranked: list[Topic], topics: Sequence[Topic], k: int, k_low: int, rng: np.random.Generator
) -> list[Topic]:
    """A user's D_uqa topics: the first k - k_low of `ranked` (the topics with evidence, best first), then k_low
    habits topics of `topics` drawn at random among those not chosen, evidence or not: the user's level on them
    is whatever it is, often low. k_low = 0: ranked[:k], drawing nothing from `rng`."""
    if not 0 <= k_low <= k:
        raise ValueError(f"need 0 <= k_low <= k, got k_low={k_low}, k={k}")
    chosen = list(ranked[: k - k_low])
    if k_low:
        keys = {t.key for t in chosen}
        pool = [t for t in topics if t.aspect == "habits" and t.key not in keys]
        chosen += [pool[i] for i in rng.choice(len(pool), min(k_low, len(pool)), replace=False)]
    return chosen


# ----------------------------------------------------------------------------- D_uqa: draft and reflect


def draft_claims(facts: UserFacts, topic: Topic, rng: np.random.Generator, error_rate: float) -> list[Claim]:
    """A drafted answer as claims. Like an LLM draft, a share `error_rate` of claims is wrong, and with the same
    chance one claim about a facet the record does not show is invented."""
    claims = []
    for kind in facts.population.kinds(topic.aspect):
        value = facts.value(kind, topic.facet)
        if value is None:
            continue
        if rng.random() < error_rate:
            value = corrupt(kind, value, rng, facts.population)
        claims.append(Claim(kind, topic.facet, value))
    if rng.random() < error_rate:
        absent = [f for f in facts.source.keys if f != topic.facet and not facts.evidence.events(f)]
        if absent:
            claims.append(Claim("level", absent[rng.integers(len(absent))], LEVEL_WORDS[rng.integers(2, 5)]))
    return claims


def corrupt(kind: str, value, rng: np.random.Generator, population: Population):
    """A wrong value of a fact, as a drafting LLM would write it (the reflection step's test material)."""
    if kind.endswith("level"):  # one or two quintiles off, staying in range
        i = LEVEL_WORDS.index(value)
        options = [j for j in range(len(LEVEL_WORDS)) if 0 < abs(j - i) <= 2]
        return LEVEL_WORDS[options[rng.integers(len(options))]]
    if kind == "trend":
        others = [w for w in ("grown", "faded", "stayed about the same") if w != value]
        return others[rng.integers(len(others))]
    if kind == "daypart":
        others = [p for p in ("morning", "afternoon", "evening", "night") if p != value[0]]
        return others[rng.integers(len(others))], value[1]
    if kind == "top_item":
        return population.source.wrong_item(value, rng)
    if kind == "modalities":
        return population.source.wrong_modalities(value, population.modalities)
    raise ValueError(f"cannot corrupt a {kind!r} fact")


@dataclass
class ReflectionReport:
    checked: int = 0
    supported: int = 0
    revised: int = 0
    dropped: int = 0

    def add(self, other: ReflectionReport) -> None:
        for f in ("checked", "supported", "revised", "dropped"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def reflect(facts: UserFacts, topic: Topic, claims: list[Claim]) -> tuple[list[Claim], ReflectionReport]:
    """Check each claim against the record: keep it if its value is the record's (every fact is a count or a word,
    compared exactly), revise a wrong value, drop an unsupported one or one about another facet than the topic's
    (it does not answer the question)."""
    report = ReflectionReport()
    kept = []
    for claim in claims:
        report.checked += 1
        truth = facts.value(claim.kind, claim.facet)
        if truth is None or claim.facet != topic.facet:
            report.dropped += 1
        elif claim.value == truth:
            report.supported += 1
            kept.append(claim)
        else:
            report.revised += 1
            kept.append(replace(claim, value=truth))
    return kept, report


# ----------------------------------------------------------------------------- D_future


def future_actions(
    future_record: dict, source: FacetSource, max_actions: int = MAX_FUTURE_ACTIONS
) -> list[tuple[str, str, int]]:
    """(facet, part of day, count) actions of a future window, by frequency, at most one per facet."""
    counts = Counter()
    for modality, events in future_record.get("events", {}).items():
        for ev in events:
            facet = source.future_facet(modality, ev["text"])
            if facet is not None:
                counts[(facet, daypart(ev["hour"]))] += 1
    return _choose_actions(counts, max_actions)


def _choose_actions(counts: Counter, max_actions: int = MAX_FUTURE_ACTIONS) -> list[tuple[str, str, int]]:
    """The most frequent (facet, part of day) actions, at most one per facet; after the first, only repeated ones."""
    chosen, facets = [], set()
    for (facet, part), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if facet in facets or (chosen and n < 2):
            continue
        chosen.append((facet, part, n))
        facets.add(facet)
        if len(chosen) == max_actions:
            break
    return chosen


def future_answer(actions: list[tuple[str, str, int]], source: FacetSource) -> str:
    if not actions:
        return "The user is likely to stay mostly inactive in the next period."
    parts = [f"{source.action(f)} in the {p} ({frequency_word(n)})" for f, p, n in actions]
    return "In the next period the user is most likely to " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- the dataset


def build(
    records: list[dict],
    future_records: list[dict] | None,
    source: FacetSource,
    seed: int,
    k: int = 10,
    error_rate: float = 0.25,
    window_days: int = 90,
    k_low: int = 0,
    modalities: Sequence[str] | None = None,
) -> tuple[list[dict], dict]:
    """UserU pairs for `records`, and statistics of the reflection step. Levels compare each user with all of
    `records`; without `future_records` (the same users' next period, in order) there are no D_future pairs;
    `k_low` of the k topics are drawn at random (choose_topics); `modalities` as in Population.

    Returns rows {user_id, source: future|uqa, topic, wording, query, answer, checked, revised, dropped} (wording:
    the index of the topic's trained wording asked; 0 for D_future) and a stats dict."""
    if future_records is not None:
        if len(records) != len(future_records):
            raise ValueError("records and future_records must describe the same users")
        for rec, fut in zip(records, future_records):
            if rec["user_id"] != fut["user_id"]:
                raise ValueError(f"user order differs: {rec['user_id']} vs {fut['user_id']}")
    rng = np.random.default_rng(seed)
    population = Population(records, source, modalities)
    topics = source.bank.every_topic
    rows, total = [], ReflectionReport()
    answers_dropped = 0
    topics_per_user = []
    for i, rec in enumerate(tqdm(records, desc="UserU", mininterval=1.0)):
        if future_records is not None:
            rows.append(_future_row(rec["user_id"], future_answer(future_actions(future_records[i], source), source)))
        facts = UserFacts(rec, population, window_days)
        chosen = choose_topics(top_topics(facts, k), topics, k, k_low, rng)
        topics_per_user.append(len(chosen))
        for topic in chosen:
            claims, report = reflect(facts, topic, draft_claims(facts, topic, rng, error_rate))
            wording = int(rng.integers(len(topic.wordings)))
            total.add(report)
            if not claims:
                answers_dropped += 1
                continue
            rows.append(_uqa_row(rec["user_id"], topic, wording, " ".join(c.text(source) for c in claims), report))
    return rows, _pair_stats(rows, len(records), total, answers_dropped, topics_per_user)


def _future_row(user_id: str, answer: str) -> dict:
    """A D_future pair: the template query and the user's next-period answer."""
    row = {"user_id": user_id, "source": "future", "topic": "future", "wording": 0, "query": FUTURE_QUERY}
    return {**row, "answer": answer, "checked": 0, "revised": 0, "dropped": 0}


def _uqa_row(user_id: str, topic: Topic, wording: int, answer: str, report: ReflectionReport) -> dict:
    """A D_uqa pair: the topic asked in its trained wording `wording`, the reflected answer and what reflection did."""
    row = {"user_id": user_id, "source": "uqa", "topic": topic.key, "wording": wording}
    row |= {"query": topic.wordings[wording], "answer": answer}
    return row | {"checked": report.checked, "revised": report.revised, "dropped": report.dropped}


def _pair_stats(
    rows: list[dict], users: int, total: ReflectionReport, answers_dropped: int, topics_per_user: list[int]
) -> dict:
    """The statistics `build` returns beside its pairs."""
    return {
        "users": users,
        "pairs_future": sum(r["source"] == "future" for r in rows),
        "pairs_uqa": sum(r["source"] == "uqa" for r in rows),
        "claims_checked": total.checked,
        "claims_supported": total.supported,
        "claims_revised": total.revised,
        "claims_dropped": total.dropped,
        "answers_dropped": answers_dropped,
        "mean_topics_per_user": float(np.mean(topics_per_user)) if topics_per_user else 0.0,
        "distinct_queries": len({r["query"] for r in rows}),
        "distinct_answers": len({r["answer"] for r in rows}),
    }
