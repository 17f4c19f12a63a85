"""What a record shows about each facet of a user's life: the facts UserU answers are written from and checked
against (paper §3.1: answers grounded in the profile).

A `FacetSource` says which facet each event text is about and which words answers use; two sources exist: the
synthetic world's catalogue (synthetic/useru_catalogue.py) and facets found by clustering event texts
(clustered.py). Everything below reads a record only through it:

    population = Population(records, source)          # each facet's spread over the users, for levels
    facts = UserFacts(record, population)             # one record's events grouped by facet, in one pass
    facts.value("level", "takeout")                   # 'far above': the facet's share of the user's events
    Claim("level", "takeout", "far above").text(source)

A level compares a user with the population (the share of users with less, read as one of five words): the facet
level compares the facet's share of the user's events (not its raw count, which mostly says how active the user is
overall); a numeric level compares the sum of an event field (a bill amount) over the facet's events.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..method.spec import EVENT_FIELDS
from .topics import QuestionBank, topic_subjects

LEVEL_WORDS = ("far below", "below", "about the same as", "above", "far above")  # quintiles of the population
DAYPARTS = (
    ("night", range(0, 5)),
    ("morning", range(5, 12)),
    ("afternoon", range(12, 18)),
    ("evening", range(18, 23)),
    ("night", range(23, 24)),
)
# the kinds of fact every source knows; each numeric event field adds a level of its sum (FacetSource.numeric_kind)
FACT_KINDS = ("count", "level", "modalities", "top_item", "daypart", "trend")
# what an answer to each aspect claims; habits and trend also claim a level per numeric field (Population.kinds)
ASPECT_FACTS = {
    "habits": ("level", "modalities", "top_item"),
    "timing": ("level", "daypart", "top_item"),
    "trend": ("level", "trend"),
}
NUMERIC_ASPECTS = ("habits", "trend")


class FacetSource(ABC):
    """What UserU knows of a dataset's events: which facet (and finer subject) an event text is about, the topics it
    asks about, and the words its answers use."""

    modalities: tuple[str, ...] | None = None  # the order a 'modalities' fact lists them in; None: the records'
    period = "the logged period"  # how a trend claim names the window

    @property
    @abstractmethod
    def bank(self) -> QuestionBank:
        """The topics asked: facet x aspect, and finer subjects' habits topics (QuestionBank.more)."""

    @property
    def keys(self) -> tuple[str, ...]:
        """The facets, in order: the facet grid of the diagnostics, the columns of facet_shares."""
        return self.bank.facet_keys

    @abstractmethod
    def subjects(self, modality: str, text: str) -> tuple[str, ...]:
        """The facet of an event (and a finer subject, if any) that its facts count for; () for an unknown text."""

    @abstractmethod
    def future_facet(self, modality: str, text: str) -> str | None:
        """The facet a D_future action of this event is about, or None when it says nothing about the person."""

    @abstractmethod
    def domain(self, subject: str) -> str:
        """A subject in words, as a claim names it ('food delivery')."""

    @abstractmethod
    def action(self, facet: str) -> str:
        """What a user does in a facet, as a D_future answer names it ('order food delivery')."""

    @abstractmethod
    def item(self, modality: str, text: str) -> str:
        """The item an event is about, as a 'top_item' claim names it (a merchant, a page, a quoted text)."""

    @abstractmethod
    def wrong_item(self, value: str, rng: np.random.Generator) -> str:
        """Another item than `value`: what a drafter gets wrong in a 'top_item' claim."""

    def wrong_modalities(self, value: tuple[str, ...], every: tuple[str, ...]) -> tuple[str, ...]:
        """Other modalities than `value` (`every`: those the population knows): a drafter's wrong 'modalities'."""
        return every if value != every else every[:1]

    def modality_label(self, modality: str) -> str:
        return f"{modality} events"

    def numeric_kind(self, field: str) -> str:
        """The fact kind of a numeric field's level ('minutes_level')."""
        return f"{field}_level"

    def numeric_phrase(self, kind: str) -> str:
        """How a claim of a numeric kind names the field's sum ('total minutes')."""
        return f"total {kind.removesuffix('_level')}"


def daypart(hour: int) -> str:
    return next(name for name, hours in DAYPARTS if hour in hours)


def share_word(share: float) -> str:
    """How dominant a part of day is: 'almost always' (>= 80%), 'mostly' (>= 50%) or 'most often'."""
    return "almost always" if share >= 0.8 else "mostly" if share >= 0.5 else "most often"


def trend_word(first: int, second: int) -> str:
    """Events in the window's first and second half -> grown, faded or stayed about the same."""
    return "grown" if second > 1.25 * first + 1 else "faded" if first > 1.25 * second + 1 else "stayed about the same"


def frequency_word(n: int) -> str:
    return "often" if n >= 6 else "several times" if n >= 3 else "a couple of times" if n == 2 else "once"


def level_word(sorted_values: np.ndarray, value: float) -> str:
    """The share of a population below `value` (ties count half; `sorted_values` ascending), as one of LEVEL_WORDS."""
    below = np.searchsorted(sorted_values, value, "left")
    ties = np.searchsorted(sorted_values, value, "right") - below
    share = (below + 0.5 * ties) / len(sorted_values)
    return LEVEL_WORDS[min(int(share * len(LEVEL_WORDS)), len(LEVEL_WORDS) - 1)]


def _record_modalities(records: Sequence[dict]) -> tuple[str, ...]:
    """The modalities of the records, in order of first appearance."""
    return tuple(dict.fromkeys(m for rec in records for m in rec.get("events", {})))


def _numeric_fields(records: Sequence[dict]) -> tuple[str, ...]:
    """The numeric event fields of the records besides day and hour, sorted."""
    return tuple(
        sorted(
            {
                k
                for rec in records
                for events in rec.get("events", {}).values()
                for ev in events
                for k, v in ev.items()
                if k not in EVENT_FIELDS and isinstance(v, int | float) and not isinstance(v, bool)
            }
        )
    )


class Evidence:
    """A record's events grouped by subject in one pass (FacetSource.subjects, in the record's event order): what
    every fact about the record reads. `total` counts every event, whether or not its text belongs to a facet."""

    def __init__(self, record: dict, source: FacetSource):
        self.record = record
        self.total = 0
        self.by_subject: dict[str, list[tuple[str, dict]]] = {}
        for modality, events in record.get("events", {}).items():
            self.total += len(events)
            for ev in events:
                for subject in source.subjects(modality, ev["text"]):
                    self.by_subject.setdefault(subject, []).append((modality, ev))

    def events(self, subject: str) -> list[tuple[str, dict]]:
        """The (modality, event) pairs of a subject, in the record's order."""
        return self.by_subject.get(subject, [])

    def share(self, subject: str) -> float:
        """The share of the record's events that belongs to `subject` (0 for a record without events)."""
        return len(self.events(subject)) / self.total if self.total else 0.0


def _field_sum(events: list[tuple[str, dict]], field: str) -> float:
    """The sum of an event field over (modality, event) pairs (0 where an event lacks it), to the cent."""
    return round(sum(ev.get(field, 0.0) for _, ev in events), 2)


def facet_shares(record: dict | Evidence, source: FacetSource) -> np.ndarray:
    """(len(source.keys),) the share of a record's events in each facet, in source.keys order."""
    seen = record if isinstance(record, Evidence) else Evidence(record, source)
    return np.array([seen.share(f) for f in source.keys])


class Population:
    """Per subject (every facet and finer subject the source's topics ask about), the sorted event shares and
    numeric-field sums of a population of records: a level places one user among them (level_word)."""

    def __init__(self, records: Sequence[dict], source: FacetSource, modalities: Sequence[str] | None = None):
        """`modalities`: the order (and the set) a 'modalities' fact lists; default the source's, else the records'
        order of first appearance."""
        if not records:
            raise ValueError("a population needs at least one record")
        self.source = source
        self.modalities = tuple(modalities or source.modalities or _record_modalities(records))
        self.fields = _numeric_fields(records)
        self.subjects = topic_subjects(source.bank.every_topic)
        seen = [Evidence(r, source) for r in records]
        self.shares = {s: np.sort([e.share(s) for e in seen]) for s in self.subjects}
        self.sums = {
            f: {s: np.sort([_field_sum(e.events(s), f) for e in seen]) for s in self.subjects} for f in self.fields
        }
        self.numeric_kinds = {source.numeric_kind(f): f for f in self.fields}

    def kinds(self, aspect: str) -> tuple[str, ...]:
        """The fact kinds a topic of `aspect` claims: ASPECT_FACTS, then for habits and trend a level per numeric
        field (the sum of a bill's amounts: how much the user spends on the facet)."""
        numeric = tuple(self.numeric_kinds) if aspect in NUMERIC_ASPECTS else ()
        return ASPECT_FACTS[aspect] + numeric


class UserFacts:
    """What one record shows about each subject: the truth a draft starts from and reflection checks against."""

    def __init__(self, record: dict, population: Population, window_days: int = 90):
        self.population, self.window_days = population, window_days
        self.source = population.source
        self.evidence = Evidence(record, self.source)

    def value(self, kind: str, subject: str):
        """The true value of one kind of fact about a subject, or None when the record shows no evidence for it.

        count: events (int); level: the subject's share of the user's events (0 without any: a level is a fact
        about every subject), and a numeric kind: the sum of its field, each one of LEVEL_WORDS against the
        population; modalities: tuple of modalities; top_item: the most frequent item; daypart: (part of day, share
        word); trend: grown / faded / stayed about the same."""
        pop = self.population
        if kind not in FACT_KINDS and kind not in pop.numeric_kinds:
            raise ValueError(f"unknown fact kind {kind!r}; choose one of {FACT_KINDS + tuple(pop.numeric_kinds)}")
        if kind == "level":
            return level_word(pop.shares[subject], self.evidence.share(subject))
        evs = self.evidence.events(subject)
        if not evs:
            return None
        if kind == "count":
            return len(evs)
        if kind == "modalities":
            return tuple(m for m in pop.modalities if any(mm == m for mm, _ in evs)) or None
        if kind == "top_item":
            counts = Counter(self.source.item(m, ev["text"]) for m, ev in evs)
            return min(counts, key=lambda k: (-counts[k], k))
        if kind == "daypart":
            counts = Counter(daypart(ev["hour"]) for _, ev in evs)
            part = min(counts, key=lambda k: (-counts[k], k))
            return part, share_word(counts[part] / len(evs))
        if kind == "trend":
            half = self.window_days // 2
            return trend_word(sum(ev["day"] < half for _, ev in evs), sum(ev["day"] >= half for _, ev in evs))
        field = pop.numeric_kinds[kind]
        total = _field_sum(evs, field)
        return level_word(pop.sums[field][subject], total) if total > 0 else None


@dataclass(frozen=True)
class Claim:
    """One statement of an answer: a kind of fact about a subject, with the value the drafter claims."""

    kind: str
    facet: str
    value: object

    def text(self, source: FacetSource) -> str:
        v = self.value
        if self.kind == "count":
            return f"The user shows {v} events related to {source.domain(self.facet)}."
        if self.kind == "level":
            return f"The share of their activity that goes to {source.domain(self.facet)} is {v} that of most users."
        if self.kind == "modalities":
            return f"This shows up in {', '.join(source.modality_label(m) for m in v)}."
        if self.kind == "top_item":
            return f"The most frequent one is {v}."
        if self.kind == "daypart":
            return f"It {v[1]} happens in the {v[0]}."
        if self.kind == "trend":
            return f"Over {source.period} it has {v}."
        if self.kind.endswith("_level"):
            return f"Their {source.numeric_phrase(self.kind)} on it is {v} that of most users."
        raise ValueError(f"unknown fact kind {self.kind!r}")
