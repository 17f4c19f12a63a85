"""UserU version 5 on world version 2 (the catalogue's source with interests): an interest event counts for the
interest's own subject and for its facet, Evidence and Population group and sum events as a naive scan of every
event does, interest topics are asked beside the facet grid and answered only about the interest, and the prefix
diagnostics read them."""

import re
from collections import Counter

import numpy as np
import pytest

from qa_helpers.series import config
from qa_helpers.synthetic import catalog, interests, tasks, world
from qa_helpers.synthetic.useru_catalogue import (
    INTEREST_TOPICS,
    TOPIC_BY_KEY,
    TOPICS,
    catalogue_facets,
    item_name,
    subjects_of,
)
from qa_helpers.useru import builder
from qa_helpers.useru.facts import (
    FACT_KINDS,
    Evidence,
    Population,
    UserFacts,
    daypart,
    level_word,
    share_word,
    trend_word,
)
from qa_helpers.useru.topics import FUTURE_QUERY
from qa_helpers.useru.visibility import answer_visibility, fact_reader_recall

SOURCE = catalogue_facets(2)
SUBJECTS = tuple(catalog.FACETS) + tuple(t.facet for t in INTEREST_TOPICS)


@pytest.fixture(scope="module")
def v2_world():
    return world.generate(config.load("smoke", world_version=2, n_pretrain_users=40, n_downstream_users=8))


def naive_events(record: dict, subject: str) -> list[tuple[str, dict]]:
    """Every (modality, event) of a record whose catalogue entry counts for `subject`, scanned subject by subject."""
    return [
        (m, ev)
        for m, evs in record["events"].items()
        for ev in evs
        if (entry := catalog.lookup(m, ev["text"])) is not None and subject in subjects_of(entry)
    ]


def naive_share(record: dict, subject: str) -> float:
    total = sum(len(evs) for evs in record["events"].values())
    return len(naive_events(record, subject)) / total if total else 0.0


def naive_spend(record: dict, subject: str) -> float:
    return round(sum(ev["amount"] for m, ev in naive_events(record, subject) if m == "bill"), 2)


def test_population_equals_the_naive_shares_and_spends(v2_world):
    """Population's one pass over each record gives the shares and bill spends a naive scan gives subject by
    subject, for every facet and every interest."""
    records = v2_world.pretrain[:15]
    pop = Population(records, SOURCE)
    assert pop.subjects == SUBJECTS and pop.numeric_kinds == {"spend_level": "amount"}
    for s in SUBJECTS:
        np.testing.assert_array_equal(pop.shares[s], np.sort([naive_share(r, s) for r in records]))
        np.testing.assert_array_equal(pop.sums["amount"][s], np.sort([naive_spend(r, s) for r in records]))


def naive_value(record: dict, events: list[tuple[str, dict]], kind: str, subject: str, population: Population):
    """A fact about `subject` read from the naive scan's `events` of it, as UserFacts.value documents it."""
    if kind == "level":
        total = sum(len(evs) for evs in record["events"].values())
        return level_word(population.shares[subject], len(events) / total if total else 0.0)
    if not events:
        return None
    if kind == "count":
        return len(events)
    if kind == "spend_level":
        spend = round(sum(ev["amount"] for m, ev in events if m == "bill"), 2)
        return level_word(population.sums["amount"][subject], spend) if spend > 0 else None
    if kind == "modalities":
        return tuple(m for m in catalog.EVENT_MODALITIES if any(mm == m for mm, _ in events))
    if kind == "top_item":
        counts = Counter(item_name(m, ev["text"]) for m, ev in events)
        return min(counts, key=lambda k: (-counts[k], k))
    if kind == "daypart":
        counts = Counter(daypart(ev["hour"]) for _, ev in events)
        part = min(counts, key=lambda k: (-counts[k], k))
        return part, share_word(counts[part] / len(events))
    assert kind == "trend"
    return trend_word(sum(ev["day"] < 45 for _, ev in events), sum(ev["day"] >= 45 for _, ev in events))


def test_evidence_groups_every_event_as_a_naive_scan_does(v2_world):
    """Evidence's one pass per record gives, subject by subject and in event order, what a scan of every event for
    that subject gives (nothing for a subject no entry counts for); every fact and topic score read from it is the
    one read from the naive scan's events."""
    population = Population(v2_world.pretrain, SOURCE)
    for record in v2_world.pretrain[:10]:
        facts = UserFacts(record, population)
        seen = facts.evidence
        assert seen.total == sum(len(evs) for evs in record["events"].values())
        assert seen.events("interest:nothing") == [] and facts.value("count", "interest:nothing") is None
        for s in SUBJECTS:
            naive = naive_events(record, s)
            assert seen.events(s) == naive
            for kind in (*FACT_KINDS, "spend_level"):
                assert facts.value(kind, s) == naive_value(record, naive, kind, s, population), (kind, s)
        naive_scores = {}
        for f in catalog.FACETS:
            naive_scores |= builder.facet_relevance(f, naive_events(record, f), facts.window_days)
        naive_scores |= {t.key: builder.log_count(len(naive_events(record, t.facet))) for t in INTEREST_TOPICS}
        assert builder.topic_relevance(facts) == naive_scores
        with_evidence = [t for t in SOURCE.bank.every_topic if naive_scores[t.key] > 0]
        assert builder.top_topics(facts) == sorted(with_evidence, key=lambda t: -naive_scores[t.key])[:10]


def test_an_interest_event_counts_for_its_interest_and_its_facet():
    jazz = catalog.interest_entries("bill")[interests.INDEX["jazz"]]
    record = {
        "user_id": "u",
        "events": {"bill": [{"day": 3, "hour": 21, "text": jazz.texts[0], "amount": 80.0}]},
    }
    seen = Evidence(record, SOURCE)
    assert seen.events("interest:jazz") == seen.events("concert") != []
    assert seen.events("interest:live house gigs") == []  # another concert interest: not this event
    facts = UserFacts(record, Population([record], SOURCE))
    assert facts.value("top_item", "interest:jazz") == item_name("bill", jazz.texts[0])
    scores = builder.topic_relevance(facts)
    assert scores["interest:jazz/habits"] == pytest.approx(np.log(2)) and scores["interest:hotpot/habits"] == 0
    plain = UserFacts(record, Population([record], catalogue_facets()))
    assert "interest:jazz/habits" not in builder.topic_relevance(plain)  # version 3 and 4 know no interests


def test_version_5_asks_about_interests_and_answers_only_about_them(v2_world):
    rows, stats = builder.build(v2_world.pretrain, v2_world.pretrain_future, SOURCE, seed=0, k_low=5)
    asked = [r for r in rows if r["topic"].startswith("interest:")]
    assert asked and stats["pairs_uqa"] > len(asked)  # facet topics stay
    for r in asked:
        topic = TOPIC_BY_KEY[r["topic"]]
        assert r["query"] == topic.wordings[r["wording"]] and topic.aspect == "habits"
        name = topic.facet.removeprefix("interest:")
        assert name in r["query"] and name in r["answer"]  # the question names the interest, the answer is about it
    again, _ = builder.build(v2_world.pretrain, v2_world.pretrain_future, SOURCE, seed=0, k_low=5)
    assert again == rows  # deterministic


def test_version_5_questions_are_worded_unlike_the_task_queries():
    def words(text):
        stop = {"this", "the", "a", "in", "or", "of", "to", "and", "does", "is", "person", "their", "user", "how"}
        return set(re.findall(r"[a-z']+", text.lower())) - stop

    for task in tasks.TASKS:
        for topic in INTEREST_TOPICS:
            for question in (*topic.wordings, topic.held_out):
                a, b = words(task.query), words(question)
                assert len(a & b) / len(a | b) < 0.5, (task.name, topic.key, question)
    assert len(set(SOURCE.bank.all_questions())) == 1 + 72 * 4 + interests.N_INTERESTS * 4
    # version 3 and 4's bank is unchanged: the future query and the 72 facet topics, the interests only added after
    plain = catalogue_facets().bank.all_questions()
    assert plain == [FUTURE_QUERY] + [q for t in TOPICS for q in (*t.wordings, t.held_out)]
    assert SOURCE.bank.all_questions()[: len(plain)] == plain


def test_the_diagnostics_bank_asks_interest_topics_off_the_facet_grid():
    plain, with_interests = catalogue_facets().bank, SOURCE.bank
    assert with_interests.grid_questions() == plain.grid_questions() and len(plain.grid_questions()) == 24
    assert with_interests.facet_keys == plain.facet_keys == tuple(catalog.FACETS)
    assert with_interests.more == INTEREST_TOPICS and len(INTEREST_TOPICS) == interests.N_INTERESTS
    held_out = with_interests.question("interest:jazz/habits", "held_out")
    assert held_out == TOPIC_BY_KEY["interest:jazz/habits"].held_out
    assert interests.INTERESTS[interests.INDEX["jazz"]].keywords[1] in held_out  # named by its second keyword
    assert with_interests.all_questions() == plain.all_questions() + [
        q for t in INTEREST_TOPICS for q in (*t.wordings, t.held_out)
    ]
    with pytest.raises(KeyError):
        plain.question("interest:jazz/habits")


def test_the_prefix_diagnostics_read_interest_topics(v2_world):
    """The fact reader and the answer visibility work on UserU version 5's interest topics (they once knew the
    facets' population only): perfect without a cap, worse with a small one."""
    pairs, _ = builder.build(v2_world.pretrain, v2_world.pretrain_future, SOURCE, seed=0)
    assert any(p["topic"].startswith("interest:") for p in pairs if p["source"] == "uqa")
    spec = world.spec(config.load("smoke", world_version=2), world.EVENT_CAPS)
    uncapped, small = spec.with_caps((10**6,) * 5), spec.with_caps((2, 1, 1, 1, 1))
    full = fact_reader_recall(v2_world.pretrain, v2_world.pretrain, pairs, uncapped, SOURCE, 8)
    assert full["recall@1"] == pytest.approx(1.0) and full["pairs"] > 0
    assert fact_reader_recall(v2_world.pretrain, v2_world.pretrain, pairs, small, SOURCE, 8)["recall@1"] < 1.0
    assert set(answer_visibility(v2_world.pretrain, uncapped, SOURCE, 10).values()) == {1.0}
    assert min(answer_visibility(v2_world.pretrain, small, SOURCE, 10).values()) < 1
