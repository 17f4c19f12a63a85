"""The long-tail scenario suite: its scenarios follow the datasheet's design, its labels hit their base rates, it
moves nothing else in the world, and its queries are worded unlike UserU's questions."""

import re

import numpy as np
import pytest

from qa_helpers.synthetic import interests, scenarios, tasks, traits
from qa_helpers.synthetic.useru_catalogue import catalogue_facets


def test_the_suite_is_the_designed_one():
    v1, v2 = scenarios.suite(1), scenarios.suite(2)
    assert [s.kind for s in v1] == ["trait"] * traits.N_TRAITS
    kinds = [s.kind for s in v2]
    assert kinds.count("trait") == 14 and kinds.count("interest") == 32 and kinds.count("conjunction") == 8
    ranks = [interests.INTERESTS[interests.INDEX[s.interest]].rank for s in v2 if s.kind == "interest"]
    assert ranks == list(range(1, 193, scenarios.INTEREST_STRIDE))  # every 6th rank, from the most held
    for s in v2:
        if s.kind == "conjunction":
            assert s.trait != interests.INTERESTS[interests.INDEX[s.interest]].trait  # gated by another trait
    assert len(set(scenarios.names(2))) == len(v2) and len({s.query for s in v2}) == len(v2)


@pytest.mark.slow
def test_labels_hit_their_base_rates_on_fresh_users():
    future, x = interests.draw_future(20_000, np.random.default_rng(5), True)
    probs, labels = scenarios.labels(future, x, seed=5)
    assert probs.shape == labels.shape == (20_000, len(scenarios.suite(2))) and labels.dtype == np.int8
    designed = np.array([s.base_rate for s in scenarios.suite(2)])
    assert np.abs(probs.mean(0) - designed).max() < 0.01
    assert np.abs(labels.mean(0) - designed).max() < 0.015
    again = scenarios.labels(future, x, seed=5)
    assert np.array_equal(again[1], labels)  # deterministic in the seed
    assert not np.array_equal(scenarios.labels(future, x, seed=6)[1], labels)
    for k in range(probs.shape[1]):  # the oracle ranks every scenario's labels well above chance
        pos, neg = probs[labels[:, k] == 1, k], probs[labels[:, k] == 0, k]
        assert pos.mean() > neg.mean() + 0.02


def test_a_conjunction_scores_its_interest_gated_by_its_trait():
    conj = next(s for s in scenarios.suite(2) if s.kind == "conjunction")
    z = np.zeros((3, traits.N_TRAITS))
    z[:, traits.INDEX[conj.trait]] = [-5.0, 0.0, 5.0]
    strength = np.zeros((3, interests.N_INTERESTS))
    strength[:, interests.INDEX[conj.interest]] = 0.7
    s = scenarios.score(conj, z, strength)
    assert s[1] == pytest.approx(0.7) and s[0] < 0.01 and s[2] == pytest.approx(1.4, abs=1e-3)
    with pytest.raises(ValueError, match="reads an interest"):
        scenarios.score(conj, z, None)


def test_the_suite_draws_from_its_own_stream_and_leaves_the_ten_tasks_alone():
    future, x = interests.draw_future(500, np.random.default_rng(1), True)
    before = tasks.draw_labels(tasks.label_probabilities(future, x), np.random.default_rng([1, 1]))
    scenarios.labels(future, x, seed=1)
    after = tasks.draw_labels(tasks.label_probabilities(future, x), np.random.default_rng([1, 1]))
    assert np.array_equal(before, after)


def test_suite_queries_are_worded_unlike_userU_questions():
    """Besides the interest's own name, which both must say, a scenario's query shares under half its words with
    every UserU question (the ten tasks' rule)."""
    stop = {"this", "the", "a", "in", "or", "of", "to", "and", "does", "is", "person", "their", "user", "how"}

    def words(text, name=""):
        return set(re.findall(r"[a-z']+", text.lower())) - stop - set(re.findall(r"[a-z']+", name.lower()))

    questions = catalogue_facets(2).bank.all_questions()
    for s in scenarios.suite(2):
        name = s.interest or ""
        for question in questions:
            a, b = words(s.query, name), words(question, name)
            assert len(a & b) / len(a | b) < 0.5, (s.name, question)
