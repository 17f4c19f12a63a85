"""UserU's facets found in the records themselves, for logs without a catalogue: the unique event texts are
clustered (k-means, each text weighted by how often it occurs) in a frozen text encoder's space, and each facet
is named by its most central text. `Facets` is a facts.FacetSource, so builder.build writes UserU from it exactly
as from the synthetic world's catalogue:

    facets = find_facets(records + future_records, MiniLMEncoder().encode, n_facets=24, seed=0)
    rows, stats = builder.build(records, future_records, facets, seed=0)
    facet_agreement([catalog.facet_of_text(t) for t in facets.texts], facets.labels)   # on the synthetic world

Topics are facet x aspect, each asked in three trained wordings and one held-out wording that names the facet by
other central texts (its alias). A text the facets were not found from belongs to no facet (like a text a
catalogue does not know); `Facets.extended` adds such texts to their nearest centroid's facet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from .facts import FacetSource
from .topics import QuestionBank, topics_from

Vectors = Callable[[list[str]], np.ndarray]  # texts -> (len(texts), d) vectors, e.g. MiniLMEncoder().encode
N_INIT = 10  # k-means restarts
ALIAS_TEXTS = 2  # how many other central texts name a facet in its held-out wording

# The facet is named by its most central text; the held-out wording names it by its alias.
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
class Facets(FacetSource):
    """Facets found by clustering event texts; facets are ordered by how many events they hold, most first."""

    texts: tuple[str, ...]  # the unique event texts clustered
    labels: np.ndarray  # (len(texts),) facet index per text
    centroids: np.ndarray  # (n_facets, d) in the encoder's space
    names: tuple[str, ...]  # per facet, its text nearest the centroid
    aliases: tuple[tuple[str, ...], ...]  # per facet, its next most central texts (the name for a one-text facet)
    modality_labels: Mapping[str, str] = field(default_factory=dict)  # how answers name a modality, if not '<m> events'

    @property
    def n_facets(self) -> int:
        return len(self.names)

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Facet keys 'f00', 'f01', ...: the facet part of topic keys."""
        width = max(2, len(str(self.n_facets - 1)))
        return tuple(f"f{i:0{width}d}" for i in range(self.n_facets))

    @cached_property
    def bank(self) -> QuestionBank:
        """Facet x aspect topics (keys like 'f07/habits'), facet by facet."""
        fills = {
            key: {"name": name, "alias": " or ".join(_quote(a) for a in alias)}
            for key, name, alias in zip(self.keys, self.names, self.aliases)
        }
        return QuestionBank(topics_from(fills, WORDINGS, HELD_OUT_WORDINGS, TITLES))

    @cached_property
    def _by_text(self) -> dict[str, int]:
        return dict(zip(self.texts, self.labels.tolist()))

    @cached_property
    def _by_key(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def facet_of(self, text: str) -> int | None:
        """The facet index of a text, or None for a text these facets were not found from."""
        return self._by_text.get(text)

    def subjects(self, modality: str, text: str) -> tuple[str, ...]:
        f = self.facet_of(text)
        return () if f is None else (self.keys[f],)

    def future_facet(self, modality: str, text: str) -> str | None:
        f = self.facet_of(text)
        return None if f is None else self.keys[f]

    def domain(self, subject: str) -> str:
        return f"things like {_quote(self.names[self._by_key[subject]])}"

    def action(self, facet: str) -> str:
        return f"do things like {_quote(self.names[self._by_key[facet]])}"

    def item(self, modality: str, text: str) -> str:
        return _quote(text)

    def wrong_item(self, value: str, rng: np.random.Generator) -> str:
        others = [t for t in self.texts if _quote(t) != value]
        return _quote(others[rng.integers(len(others))])

    def modality_label(self, modality: str) -> str:
        return self.modality_labels.get(modality, f"{modality} events")

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
    counts = Counter(ev["text"] for rec in records for events in rec.get("events", {}).values() for ev in events)
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
