"""UserU version 5 on world version 2: interest topics, answered from the record alone."""

import re

import numpy as np
import pytest

from qa_helpers.series import config
from qa_helpers.synthetic import catalog, interests, tasks, world
from qa_helpers.useru import builder as userU


@pytest.fixture(scope="module")
def v2_world():
    return world.generate(config.load("smoke", world_version=2, n_pretrain_users=40, n_downstream_users=8))


def test_one_pass_population_equals_the_naive_shares_and_spends(v2_world):
    """Population's one pass over each record gives what facet_share and facet_spend give subject by subject."""
    records = v2_world.pretrain[:15]
    subjects = tuple(catalog.FACETS) + tuple(t.facet for t in userU.INTEREST_TOPICS)
    pop = userU.Population(records, subjects)
    for s in subjects:
        naive_shares = np.sort([userU.facet_share(r, s) for r in records])
        naive_spends = np.sort([userU.facet_spend(r, s) for r in records])
        np.testing.assert_array_equal(pop.shares[s], naive_shares)
        np.testing.assert_array_equal(pop.spends[s], naive_spends)


def test_evidence_groups_every_event_as_a_naive_scan_does(v2_world):
    """Evidence's one pass per record gives, subject by subject and in event order, what a scan of every event for
    that subject gives; facts read from a record or from its Evidence are the same."""
    subjects = tuple(catalog.FACETS) + tuple(t.facet for t in userU.INTEREST_TOPICS) + ("interest:nothing",)
    population = userU.Population(v2_world.pretrain, subjects)
    for record in v2_world.pretrain[:10]:
        seen = userU.Evidence(record)
        assert seen.total == sum(len(evs) for evs in record["events"].values())
        for s in subjects:
            naive = [
                (m, ev)
                for m, evs in record["events"].items()
                for ev in evs
                if (entry := catalog.lookup(m, ev["text"])) is not None and s in userU.subjects_of(entry)
            ]
            assert userU.facet_events(seen, s) == userU.facet_events(record, s) == naive
            for kind in userU.FACT_KINDS:
                assert userU.compute_fact(seen, kind, s, population) == userU.compute_fact(record, kind, s, population)
        assert userU.top_topics(seen, interests=True) == userU.top_topics(record, interests=True)


def test_an_interest_event_counts_for_its_interest_and_its_facet():
    jazz = catalog.interest_entries("bill")[interests.INDEX["jazz"]]
    record = {
        "user_id": "u",
        "events": {"bill": [{"day": 3, "hour": 21, "text": jazz.texts[0], "amount": 80.0}]},
    }
    assert userU.facet_events(record, "interest:jazz") == userU.facet_events(record, "concert")
    assert userU.facet_events(record, "interest:live house gigs") == []
    assert userU.compute_fact(record, "top_item", "interest:jazz") == userU.item_name("bill", jazz.texts[0])
    scores = userU.topic_relevance(record, interests=True)
    assert scores["interest:jazz/habits"] == pytest.approx(np.log(2)) and scores["interest:hotpot/habits"] == 0
    assert "interest:jazz/habits" not in userU.topic_relevance(record)  # version 3 and 4 know no interests


def test_version_5_asks_about_interests_and_answers_only_about_them(v2_world):
    rows, stats = userU.build(v2_world.pretrain, v2_world.pretrain_future, seed=0, k_low=5, interests=True)
    asked = [r for r in rows if r["topic"].startswith("interest:")]
    assert asked and stats["pairs_uqa"] > len(asked)  # facet topics stay
    for r in asked:
        topic = userU.TOPIC_BY_KEY[r["topic"]]
        assert r["query"] == topic.wordings[r["wording"]] and topic.aspect == "habits"
        name = topic.facet.removeprefix("interest:")
        assert name in r["query"] and name in r["answer"]  # the question names the interest, the answer is about it
    again, _ = userU.build(v2_world.pretrain, v2_world.pretrain_future, seed=0, k_low=5, interests=True)
    assert again == rows  # deterministic


def test_version_5_questions_are_worded_unlike_the_task_queries():
    def words(text):
        stop = {"this", "the", "a", "in", "or", "of", "to", "and", "does", "is", "person", "their", "user", "how"}
        return set(re.findall(r"[a-z']+", text.lower())) - stop

    for task in tasks.TASKS:
        for topic in userU.INTEREST_TOPICS:
            for question in (*topic.wordings, topic.held_out):
                a, b = words(task.query), words(question)
                assert len(a & b) / len(a | b) < 0.5, (task.name, topic.key, question)
    assert len(set(userU.all_questions(interests=True))) == 1 + 72 * 4 + interests.N_INTERESTS * 4
    assert userU.all_questions() == userU.all_questions(interests=False)  # version 3 and 4's bank is unchanged


def test_the_diagnostics_bank_asks_interest_topics_off_the_facet_grid():
    from qa_helpers.useru.clustered import catalogue_questions

    plain, with_interests = catalogue_questions(), catalogue_questions(interests=True)
    assert with_interests.grid_questions() == plain.grid_questions() and len(plain.grid_questions()) == 24
    assert with_interests.question("interest:jazz/habits", "held_out") == userU.question(
        "interest:jazz/habits", "held_out"
    )
    assert with_interests.all_questions() == userU.all_questions(interests=True)
    with pytest.raises(KeyError):
        plain.question("interest:jazz/habits")


def test_the_prefix_diagnostics_read_interest_topics(v2_world):
    """The fact reader and the answer visibility work on UserU version 5's interest topics (they once knew the
    facets' population only): perfect without a cap, worse with a small one."""
    from qa_helpers.method import diagnostics

    pairs, _ = userU.build(v2_world.pretrain, v2_world.pretrain_future, seed=0, interests=True)
    assert any(p["topic"].startswith("interest:") for p in pairs if p["source"] == "uqa")
    spec = world.spec(config.load("smoke", world_version=2))
    full = diagnostics.fact_reader_recall(v2_world.pretrain, v2_world.pretrain, pairs, spec.with_caps((10**6,) * 5), 8)
    assert full["recall@1"] == pytest.approx(1.0) and full["pairs"] > 0
    small = diagnostics.fact_reader_recall(
        v2_world.pretrain, v2_world.pretrain, pairs, spec.with_caps((2, 1, 1, 1, 1)), 8
    )
    assert small["recall@1"] < 1.0
    uncapped = diagnostics.answer_visibility(v2_world.pretrain, spec.with_caps((10**6,) * 5), 10, interests=True)
    assert set(uncapped.values()) == {1.0}
    assert min(diagnostics.answer_visibility(v2_world.pretrain, spec.with_caps((2, 1, 1, 1, 1)), 10, True).values()) < 1
