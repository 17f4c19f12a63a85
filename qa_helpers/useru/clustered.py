"""UserU pairs from any behaviour-log records, without the synthetic world's catalogue (compare userU.py).

userU.py gives every event text its facet through the catalogue. Here the facets are found in the records: their
unique event texts are clustered (k-means, each text weighted by how often it occurs) in the frozen text encoder's
space, and each facet is named by its most central text. The rest mirrors userU:

- D_uqa: topics are facet x aspect (habits, timing, trend), each asked in three trained wordings and one held-out
  wording that names the facet by other central texts (its alias). Per user, the k topics with the most evidence
  become questions. A drafter writes claims (the facet's share of the user's events against the population, the
  modalities it shows up in, its most frequent text, the part of day, the trend, and a level for every numeric
  event field such as an amount), gets a share `error_rate` of them wrong and, with the same chance, invents a
  claim about a facet the record does not show; reflection keeps supported claims, revises wrong values and drops
  unsupported ones.
- D_future: given the users' next-period records, the template query answered by (facet, part of day) actions.

    facets = find_facets(records + future_records, MiniLMEncoder().encode, n_facets=24, seed=0)
    rows, stats = build(records, future_records, facets, seed=0)   # rows in userU.build's format
    facet_agreement([catalog.facet_of_text(t) for t in facets.texts], facets.labels)   # on the synthetic world

A text the facets were not found from belongs to no facet (like a text the catalogue does not know);
`Facets.extended` adds such texts to their nearest centroid's facet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from tqdm.auto import tqdm

from ..method.spec import EVENT_FIELDS  # every other numeric field of an event gets a level fact
from ..synthetic import catalog as C
from . import builder as U

Vectors = Callable[[list[str]], np.ndarray]  # texts -> (len(texts), d) vectors, e.g. MiniLMEncoder().encode
N_INIT = 10  # k-means restarts
ALIAS_TEXTS = 2  # how many other central texts name a facet in its held-out wording

# ----------------------------------------------------------------------------- facets


def _events(record: dict) -> Iterator[tuple[str, dict]]:
    for modality, events in record.get("events", {}).items():
        for ev in events:
            yield modality, ev


def _encode(texts: Sequence[str], vectors: Vectors) -> np.ndarray:
    X = np.asarray(vectors(list(texts)), dtype=np.float64)
    if X.ndim != 2 or len(X) != len(texts):
        raise ValueError(f"vectors gave an array of shape {X.shape} for {len(texts)} texts; expected (N, d)")
    return X


def _sq_distances(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, F) squared Euclidean distances."""
    d = (X**2).sum(1)[:, None] - 2 * X @ centroids.T + (centroids**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


@dataclass(frozen=True, eq=False)
class Facets:
    """Facets found by clustering event texts; facets are ordered by how many events they hold, most first."""

    texts: tuple[str, ...]  # the unique event texts clustered
    labels: np.ndarray  # (len(texts),) facet index per text
    centroids: np.ndarray  # (n_facets, d) in the encoder's space
    names: tuple[str, ...]  # per facet, its text nearest the centroid
    aliases: tuple[tuple[str, ...], ...]  # per facet, its next most central texts (the name for a one-text facet)

    @property
    def n_facets(self) -> int:
        return len(self.names)

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Facet keys 'f00', 'f01', ...: the facet part of topic keys."""
        width = max(2, len(str(self.n_facets - 1)))
        return tuple(f"f{i:0{width}d}" for i in range(self.n_facets))

    @cached_property
    def _by_text(self) -> dict[str, int]:
        return dict(zip(self.texts, self.labels.tolist()))

    @cached_property
    def _by_key(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def facet_of(self, text: str) -> int | None:
        """The facet index of a text, or None for a text these facets were not found from."""
        return self._by_text.get(text)

    def index(self, key: str) -> int:
        """The facet index of a facet key."""
        return self._by_key[key]

    def assign(self, texts: Sequence[str], vectors: Vectors) -> np.ndarray:
        """The nearest centroid's facet of each text, seen or not."""
        return _sq_distances(_encode(texts, vectors), self.centroids).argmin(1)

    def extended(self, texts: Sequence[str], vectors: Vectors) -> Facets:
        """These facets, also knowing the unseen ones among `texts` (each in its nearest centroid's facet)."""
        new = sorted(set(texts) - set(self.texts))
        if not new:
            return self
        labels = np.concatenate([self.labels, self.assign(new, vectors)])
        return replace(self, texts=self.texts + tuple(new), labels=labels)


def find_facets(
    records: list[dict], vectors: Vectors, n_facets: int, seed: int, weight_by_count: bool = True
) -> Facets:
    """Cluster the records' unique event texts into `n_facets` facets (k-means in the space of `vectors`, each
    text weighted by its number of events unless `weight_by_count` is False). Deterministic for a seed."""
    if n_facets < 2:
        raise ValueError(f"n_facets must be at least 2, got {n_facets}")
    counts = Counter(ev["text"] for rec in records for _, ev in _events(rec))
    if not counts:
        raise ValueError("the records hold no events to find facets in")
    texts = sorted(counts)
    if len(texts) < n_facets:
        raise ValueError(f"only {len(texts)} unique event texts for {n_facets} facets")
    X = _encode(texts, vectors)
    distinct = len(np.unique(X, axis=0))
    if distinct < n_facets:
        raise ValueError(f"only {distinct} distinct text vectors for {n_facets} facets")
    n_events = np.array([counts[t] for t in texts], dtype=float)
    weights = n_events if weight_by_count else None
    km = KMeans(n_facets, n_init=N_INIT, random_state=seed).fit(X, sample_weight=weights)
    dist = _sq_distances(X, km.cluster_centers_)[np.arange(len(texts)), km.labels_]
    # each cluster's texts, most central first; clusters by events held, most first
    members = [sorted(np.flatnonzero(km.labels_ == c), key=lambda i: (dist[i], texts[i])) for c in range(n_facets)]
    order = sorted(range(n_facets), key=lambda c: (-n_events[members[c]].sum(), texts[members[c][0]]))
    relabel = np.empty(n_facets, dtype=int)
    relabel[order] = np.arange(n_facets)
    return Facets(
        texts=tuple(texts),
        labels=relabel[km.labels_],
        centroids=km.cluster_centers_[order],
        names=tuple(texts[members[c][0]] for c in order),
        aliases=tuple(
            tuple(texts[i] for i in members[c][1 : 1 + ALIAS_TEXTS]) or (texts[members[c][0]],) for c in order
        ),
    )


def facet_agreement(true_labels: Sequence, found_labels: Sequence) -> float:
    """Adjusted Rand index between a reference facet per text and the found ones (1: the same partition)."""
    if len(true_labels) != len(found_labels):
        raise ValueError(f"{len(true_labels)} reference labels for {len(found_labels)} found ones")
    return float(adjusted_rand_score(list(true_labels), list(found_labels)))


# ----------------------------------------------------------------------------- questions

# As userU.WORDINGS, with the facet named by its most central text; the held-out wording names it by its alias.
WORDINGS = {
    "habits": (
        'How much does this user engage in activity like "{name}", and with what?',
        'Describe this user\'s habits around activity like "{name}".',
        'How big a part of this person\'s life is activity like "{name}"?',
    ),
    "timing": (
        'At what time of day does this user usually do things like "{name}"?',
        'When does this person tend to do things like "{name}"?',
        'Which part of the day does this user do things like "{name}" in?',
    ),
    "trend": (
        'Has this user\'s interest in activity like "{name}" grown or faded over the period?',
        'Is activity like "{name}" rising or falling for this person lately?',
        'How has this user\'s activity like "{name}" changed over recent weeks?',
    ),
}
HELD_OUT_WORDINGS = {
    "habits": "How involved is this person in things such as {alias}?",
    "timing": "What hours of the day does this person spend on things such as {alias}?",
    "trend": "Are things such as {alias} becoming more or less important for this person?",
}
TITLES = {
    "habits": 'habits around activity like "{name}"',
    "timing": 'timing of activity like "{name}"',
    "trend": 'changes in activity like "{name}"',
}


def _quote(text: str) -> str:
    return f'"{text}"'


def facet_topics(facets: Facets) -> tuple[U.Topic, ...]:
    """Facet x aspect topics (keys like 'f07/habits'), facet by facet as userU.TOPICS."""
    fills = {
        key: {"name": name, "alias": " or ".join(_quote(a) for a in alias)}
        for key, name, alias in zip(facets.keys, facets.names, facets.aliases)
    }
    return U.topics_from(fills, WORDINGS, HELD_OUT_WORDINGS, TITLES)


@dataclass(frozen=True, eq=False)
class QuestionBank:
    """The questions of a set of topics, asked as userU.question / userU.all_questions ask the catalogue's; `more`
    are topics asked beside them but not on the facet grid (UserU version 5's interests)."""

    topics: tuple[U.Topic, ...]
    more: tuple[U.Topic, ...] = ()

    @cached_property
    def by_key(self) -> dict[str, U.Topic]:
        return {t.key: t for t in self.topics + self.more}

    @property
    def facet_keys(self) -> tuple[str, ...]:
        """The facets in topic order: the order of `grid_questions`."""
        return tuple(t.facet for t in self.topics if t.aspect == "habits")

    def question(self, topic_key: str, wording: int | str = 0) -> str:
        """A topic's question in one wording (an index or 'held_out'); topic 'future' has the D_future template."""
        if topic_key == "future":
            return U.FUTURE_QUERY
        topic = self.by_key[topic_key]
        return topic.held_out if wording == "held_out" else topic.wordings[wording]

    def query_of(self, pair: dict, wording: int | str = "own") -> str:
        """The question of a pair: 'own' (the wording it was built with), or `question(pair's topic, wording)`."""
        return pair["query"] if wording == "own" else self.question(pair["topic"], wording)

    def grid_questions(self) -> list[str]:
        """One question per facet: its habits topic's first wording."""
        return [t.question for t in self.topics if t.aspect == "habits"]

    def all_questions(self) -> list[str]:
        """Every question (trained and held-out wordings, and the D_future template)."""
        return [U.FUTURE_QUERY] + [q for t in self.topics + self.more for q in (*t.wordings, t.held_out)]


def question_bank(facets: Facets) -> QuestionBank:
    return QuestionBank(facet_topics(facets))


def catalogue_questions(interests: bool = False) -> QuestionBank:
    """userU's own catalogue topics through the same interface; with `interests` (UserU version 5) the interest
    topics too, off the facet grid."""
    return QuestionBank(U.TOPICS, U.INTEREST_TOPICS if interests else ())


# ----------------------------------------------------------------------------- facts a record shows

ASPECT_FACTS = {
    "habits": ("level", "modalities", "top_item"),
    "timing": ("level", "daypart", "top_item"),
    "trend": ("level", "trend"),
}
NUMERIC_ASPECTS = ("habits", "trend")  # the aspects that also claim a level per numeric field (as spend_level)
FACT_KINDS = ("level", "modalities", "top_item", "daypart", "trend")  # and '<field>_level' per numeric field


def record_modalities(records: list[dict]) -> tuple[str, ...]:
    """The modalities of the records, in order of first appearance."""
    return tuple(dict.fromkeys(m for rec in records for m in rec.get("events", {})))


def numeric_fields(records: list[dict]) -> tuple[str, ...]:
    """The numeric event fields of the records besides day and hour, sorted."""
    return tuple(
        sorted(
            {
                k
                for rec in records
                for _, ev in _events(rec)
                for k, v in ev.items()
                if k not in EVENT_FIELDS and isinstance(v, int | float) and not isinstance(v, bool)
            }
        )
    )


def facet_events(record: dict, facets: Facets) -> dict[str, list[tuple[str, dict]]]:
    """facet key -> the record's (modality, event) pairs of that facet; unseen texts belong to no facet."""
    out: dict[str, list[tuple[str, dict]]] = {}
    for modality, ev in _events(record):
        f = facets.facet_of(ev["text"])
        if f is not None:
            out.setdefault(facets.keys[f], []).append((modality, ev))
    return out


def facet_shares(record: dict, facets: Facets) -> np.ndarray:
    """(n_facets,) share of the record's events (all modalities) per facet; zeros for a record without events."""
    counts = np.zeros(facets.n_facets)
    total = 0
    for _, ev in _events(record):
        total += 1
        f = facets.facet_of(ev["text"])
        if f is not None:
            counts[f] += 1
    return counts / total if total else counts


def _field_sum(events: list[tuple[str, dict]], field: str) -> float:
    return round(sum(ev.get(field, 0.0) for _, ev in events), 2)


class Population:
    """Per facet, the sorted event shares and numeric-field sums of a population of records: a level is read as in
    userU.Population. `modalities` orders (and limits) the modalities fact; default: order of first appearance."""

    def __init__(self, records: list[dict], facets: Facets, modalities: Sequence[str] | None = None):
        if not records:
            raise ValueError("a population needs at least one record")
        self.facets = facets
        self.modalities = tuple(modalities) if modalities is not None else record_modalities(records)
        self.fields = numeric_fields(records)
        shares = np.array([facet_shares(r, facets) for r in records])
        self.shares = {key: np.sort(shares[:, i]) for i, key in enumerate(facets.keys)}
        grouped = [facet_events(r, facets) for r in records]
        self.sums = {
            field: {key: np.sort([_field_sum(g.get(key, []), field) for g in grouped]) for key in facets.keys}
            for field in self.fields
        }

    level = staticmethod(U.Population.level)

    def kinds(self, aspect: str) -> tuple[str, ...]:
        """The fact kinds a topic of `aspect` claims."""
        numeric = tuple(f"{f}_level" for f in self.fields) if aspect in NUMERIC_ASPECTS else ()
        return ASPECT_FACTS[aspect] + numeric


class UserFacts:
    """What one record shows about each facet: the truth a draft starts from and reflection checks against."""

    def __init__(self, record: dict, population: Population, window_days: int = 90):
        self.population = population
        self.window_days = window_days
        self.events = facet_events(record, population.facets)
        self.total = sum(1 for _ in _events(record))

    def value(self, kind: str, facet: str):
        """The true value of a kind of fact about a facet (key), or None when the record shows no evidence for it.

        level / <field>_level: the facet's share of the user's events (0 without any) / sum of the field, one of
        LEVEL_WORDS;
        modalities: tuple; top_item: the most frequent text, quoted; daypart: (part of day, share word);
        trend: grown / faded / stayed about the same."""
        pop = self.population
        if kind not in FACT_KINDS and kind.removesuffix("_level") not in pop.fields:
            raise ValueError(f"unknown fact kind {kind!r}; choose one of {FACT_KINDS} or <numeric field>_level")
        evs = self.events.get(facet)
        if kind == "level":  # a fact about every facet: share 0 without events
            return pop.level(pop.shares[facet], len(evs or ()) / self.total if self.total else 0.0)
        if not evs:
            return None
        if kind == "modalities":
            shown = tuple(m for m in pop.modalities if any(mm == m for mm, _ in evs))
            return shown or None
        if kind == "top_item":
            counts = Counter(_quote(ev["text"]) for _, ev in evs)
            return min(counts, key=lambda k: (-counts[k], k))
        if kind == "daypart":
            counts = Counter(U.daypart(ev["hour"]) for _, ev in evs)
            part = min(counts, key=lambda k: (-counts[k], k))
            return part, U.share_word(counts[part] / len(evs))
        if kind == "trend":
            half = self.window_days // 2
            return U.trend_word(sum(ev["day"] < half for _, ev in evs), sum(ev["day"] >= half for _, ev in evs))
        field = kind.removesuffix("_level")
        total = _field_sum(evs, field)
        return pop.level(pop.sums[field][facet], total) if total > 0 else None


def _modality_label(modality: str) -> str:
    return C.MODALITY_LABELS.get(modality, f"{modality} events")


@dataclass(frozen=True)
class Claim:
    kind: str
    facet: str  # a facet key
    value: object

    def text(self, facets: Facets) -> str:
        v = self.value
        if self.kind == "level":
            name = facets.names[facets.index(self.facet)]
            return f'The share of their activity that goes to things like "{name}" is {v} that of most users.'
        if self.kind == "modalities":
            return f"This shows up in {', '.join(_modality_label(m) for m in v)}."
        if self.kind == "top_item":
            return f"The most frequent one is {v}."
        if self.kind == "daypart":
            return f"It {v[1]} happens in the {v[0]}."
        if self.kind == "trend":
            return f"Over the logged period it has {v}."
        if self.kind.endswith("_level"):
            return f"Their total {self.kind.removesuffix('_level')} on it is {v} that of most users."
        raise ValueError(f"unknown fact kind {self.kind!r}")


# ----------------------------------------------------------------------------- D_uqa


def topic_relevance(facts: UserFacts) -> dict[str, float]:
    """Evidence score per topic key, as userU.topic_relevance; 0 means the record says nothing about it."""
    scores = {}
    for facet in facts.population.facets.keys:
        scores |= U.facet_relevance(facet, facts.events.get(facet, []), facts.window_days)
    return scores


def top_topics(facts: UserFacts, topics: Sequence[U.Topic], k: int = 10) -> list[U.Topic]:
    """The k most relevant topics with any evidence, best first (ties in `topics` order)."""
    scores = topic_relevance(facts)
    return sorted((t for t in topics if scores[t.key] > 0), key=lambda t: -scores[t.key])[:k]


def draft_claims(facts: UserFacts, topic: U.Topic, rng: np.random.Generator, error_rate: float) -> list[Claim]:
    """A drafted answer as claims, as userU.draft_claims: a share `error_rate` of claims is wrong, and with the
    same chance one claim about a facet the record does not show is invented."""
    claims = []
    for kind in facts.population.kinds(topic.aspect):
        value = facts.value(kind, topic.facet)
        if value is None:
            continue
        if rng.random() < error_rate:
            value = _corrupt(kind, value, rng, facts.population)
        claims.append(Claim(kind, topic.facet, value))
    if rng.random() < error_rate:
        absent = [f for f in facts.population.facets.keys if f != topic.facet and f not in facts.events]
        if absent:
            claims.append(Claim("level", absent[rng.integers(len(absent))], U.LEVEL_WORDS[rng.integers(2, 5)]))
    return claims


def _corrupt(kind: str, value, rng: np.random.Generator, population: Population):
    if kind.endswith("level"):  # a shifted level, as userU's
        return U.corrupt("level", value, rng)
    if kind in ("trend", "daypart"):
        return U.corrupt(kind, value, rng)
    if kind == "top_item":  # another text
        others = [t for t in population.facets.texts if _quote(t) != value]
        return _quote(others[rng.integers(len(others))])
    if kind == "modalities":
        every = population.modalities
        return every if value != every else every[:1]
    raise ValueError(kind)


def reflect(facts: UserFacts, topic: U.Topic, claims: list[Claim]) -> tuple[list[Claim], U.ReflectionReport]:
    """Check each claim against the record, as userU.reflect: keep it if supported, revise a wrong value, drop an
    unsupported one or one about another facet than the topic's."""
    report = U.ReflectionReport()
    kept = []
    for claim in claims:
        report.checked += 1
        truth = facts.value(claim.kind, claim.facet)
        if truth is None or claim.facet != topic.facet:
            report.dropped += 1
        elif U.supported(claim, truth):
            report.supported += 1
            kept.append(claim)
        else:
            report.revised += 1
            kept.append(replace(claim, value=truth))
    return kept, report


# ----------------------------------------------------------------------------- D_future


def future_actions(
    future_record: dict, facets: Facets, max_actions: int = U.MAX_FUTURE_ACTIONS
) -> list[tuple[str, str, int]]:
    """(facet key, part of day, count) actions of a future window, by frequency, at most one per facet."""
    counts = Counter()
    for _, ev in _events(future_record):
        f = facets.facet_of(ev["text"])
        if f is not None:
            counts[(facets.keys[f], U.daypart(ev["hour"]))] += 1
    return U.choose_actions(counts, max_actions)


def future_answer(actions: list[tuple[str, str, int]], facets: Facets) -> str:
    if not actions:
        return "The user is likely to stay mostly inactive in the next period."
    parts = [
        f'do things like "{facets.names[facets.index(f)]}" in the {p} ({U.frequency_word(n)})' for f, p, n in actions
    ]
    return "In the next period the user is most likely to " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- the dataset


def build(
    records: list[dict],
    future_records: list[dict] | None,
    facets: Facets,
    seed: int,
    k: int = 10,
    error_rate: float = 0.25,
    window_days: int = 90,
    modalities: Sequence[str] | None = None,
    k_low: int = 0,
) -> tuple[list[dict], dict]:
    """UserU pairs and reflection statistics exactly as userU.build's, with facets found from the records. Levels
    compare each user with all of `records`; without `future_records` there are no D_future pairs; `k_low` of
    the k topics are drawn at random (userU.choose_topics)."""
    if future_records is not None:
        if len(records) != len(future_records):
            raise ValueError("records and future_records must describe the same users")
        for rec, fut in zip(records, future_records):
            if rec["user_id"] != fut["user_id"]:
                raise ValueError(f"user order differs: {rec['user_id']} vs {fut['user_id']}")
    rng = np.random.default_rng(seed)
    population = Population(records, facets, modalities)
    topics = facet_topics(facets)
    rows, total = [], U.ReflectionReport()
    answers_dropped = 0
    topics_per_user = []
    for i, rec in enumerate(tqdm(records, desc="UserU", mininterval=1.0)):
        if future_records is not None:
            rows.append(U.future_row(rec["user_id"], future_answer(future_actions(future_records[i], facets), facets)))
        facts = UserFacts(rec, population, window_days)
        chosen = U.choose_topics(top_topics(facts, topics, k), topics, k, k_low, rng)
        topics_per_user.append(len(chosen))
        for topic in chosen:
            claims, report = reflect(facts, topic, draft_claims(facts, topic, rng, error_rate))
            wording = int(rng.integers(len(topic.wordings)))
            total.add(report)
            if not claims:
                answers_dropped += 1
                continue
            rows.append(U.uqa_row(rec["user_id"], topic, wording, " ".join(c.text(facets) for c in claims), report))
    return rows, U.pair_stats(rows, len(records), total, answers_dropped, topics_per_user)
