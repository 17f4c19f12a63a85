"""UserU's questions: a topic is one facet of a user's life (a cluster of event texts, or a catalogue domain) under
one aspect (habits, timing, trend), asked in three trained wordings and one held-out wording that names the facet
in other words and is never trained on (the diagnostics ask it).

    topics = topics_from({"f00": {"name": "watch a thriller", "alias": "..."}}, WORDINGS, HELD_OUT, TITLES)
    bank = QuestionBank(topics)                 # what the diagnostics ask: one question per facet, new wordings
    bank.question("f00/habits", "held_out")

A topic's key is '<facet>/<aspect>'. A question asks without answering: it names the topic, never the user's item.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

FUTURE_QUERY = "What are the user's most likely actions in the next period?"  # D_future's template query
ASPECTS = ("habits", "timing", "trend")


@dataclass(frozen=True)
class Topic:
    key: str  # "<facet>/<aspect>"
    facet: str  # the subject asked about: a facet, or a finer subject such as an interest ("interest:jazz")
    aspect: str
    title: str
    wordings: tuple[str, ...]  # the trained questions
    held_out: str  # a question never trained on (other words for the domain)

    @property
    def question(self) -> str:
        """The topic's first wording (the one the diagnostics ask)."""
        return self.wordings[0]


def topics_from(
    fills: dict[str, dict], wordings: dict[str, tuple[str, ...]], held_out: dict[str, str], titles: dict[str, str]
) -> tuple[Topic, ...]:
    """Facet x aspect topics, facet by facet: `fills` maps each facet to the words its templates are filled with;
    `wordings`, `held_out` and `titles` hold one template (or three) per aspect."""
    return tuple(
        Topic(
            f"{facet}/{aspect}",
            facet,
            aspect,
            titles[aspect].format(**fill),
            tuple(w.format(**fill) for w in wordings[aspect]),
            held_out[aspect].format(**fill),
        )
        for facet, fill in fills.items()
        for aspect in ASPECTS
    )


def topic_subjects(topics) -> tuple[str, ...]:
    """The subjects (facets, and finer subjects) a population needs to place every one of `topics`, in order."""
    return tuple(dict.fromkeys(t.facet for t in topics))


@dataclass(frozen=True, eq=False)
class QuestionBank:
    """The questions of a set of topics: `topics`, facet x aspect, facet by facet (the facet grid), and `more`,
    habits topics of finer subjects asked beside them but not on the grid (the synthetic world's interests)."""

    topics: tuple[Topic, ...]
    more: tuple[Topic, ...] = ()

    @cached_property
    def by_key(self) -> dict[str, Topic]:
        return {t.key: t for t in self.topics + self.more}

    @property
    def every_topic(self) -> tuple[Topic, ...]:
        """The grid's topics, then the others: the order UserU ranks and draws them in."""
        return self.topics + self.more

    @property
    def facet_keys(self) -> tuple[str, ...]:
        """The facets in topic order: the order of `grid_questions`."""
        return tuple(t.facet for t in self.topics if t.aspect == "habits")

    def question(self, topic_key: str, wording: int | str = 0) -> str:
        """A topic's question in one wording (an index or 'held_out'); topic 'future' has the D_future template."""
        if topic_key == "future":
            return FUTURE_QUERY
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
        return [FUTURE_QUERY] + [q for t in self.every_topic for q in (*t.wordings, t.held_out)]
