import re
from collections import Counter

import numpy as np
import pytest

from qa_helpers.series import config
from qa_helpers.synthetic import tasks, world
from qa_helpers.useru import builder as userU
from qa_helpers.useru.builder import Claim, Population, compute_fact, reflect

SPEC = world.spec(config.load("smoke"))

RECORD = {
    "user_id": "u1",
    "events": {
        "bill": [
            {"day": 1, "hour": 20, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 30.0},
            {"day": 50, "hour": 21, "text": "pay Ele.me | food delivery | via Huabei", "amount": 25.5},
            {"day": 60, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 40.0},
        ],
        "mini": [{"day": 70, "hour": 12, "text": "mini program Ant Forest | collect energy"}],
        "search": [{"day": 3, "hour": 9, "text": "a text the catalogue does not know"}],
    },
}


# four other users with 10 events each, of which 0, 1, 2 or 9 are takeout orders (the rest groceries)
OTHERS = [
    {
        "user_id": f"o{n}",
        "events": {
            "bill": [
                {
                    "day": d,
                    "hour": 12,
                    "text": "pay Ele.me | food delivery | via balance"
                    if d < n
                    else "pay Hema Fresh | groceries | via balance",
                    "amount": 10.0,
                }
                for d in range(10)
            ]
        },
    }
    for n in (0, 1, 2, 9)
]
POPULATION = Population([RECORD] + OTHERS)


def test_facts_are_computed_from_the_record():
    assert compute_fact(RECORD, "count", "takeout") == 3
    assert compute_fact(RECORD, "top_item", "takeout") == "Meituan Takeout"
    assert compute_fact(RECORD, "daypart", "takeout") == ("evening", "almost always")
    assert compute_fact(RECORD, "trend", "takeout") == "stayed about the same"  # halves 1 and 2: within the margin
    assert userU.trend_word(1, 4) == "grown" and userU.trend_word(4, 1) == "faded"
    assert compute_fact(RECORD, "modalities", "eco") == ("mini",)
    assert compute_fact(RECORD, "count", "concert") is None
    with pytest.raises(ValueError, match="unknown fact kind"):
        compute_fact(RECORD, "mood", "takeout")
    with pytest.raises(ValueError, match="needs the population"):
        compute_fact(RECORD, "level", "takeout")


def test_levels_place_the_user_among_the_population():
    # takeout shares 0, 0.1, 0.2, 0.6 (this user: 3 of 5 events), 0.9: 3.5 of 5 users below -> the fourth quintile
    assert userU.facet_share(RECORD, "takeout") == pytest.approx(0.6)
    assert compute_fact(RECORD, "level", "takeout", POPULATION) == "above"
    assert compute_fact(OTHERS[3], "level", "takeout", POPULATION) == "far above"
    assert compute_fact(OTHERS[1], "level", "takeout", POPULATION) == "below"
    # the level is a share, not a count: the heavy user with 9 orders is not above for groceries (1 of 10)
    assert compute_fact(OTHERS[3], "level", "groceries", POPULATION) == "below"
    # spend 95.5 against 0, 10, 20 and 90 yuan: the top quintile
    assert compute_fact(RECORD, "spend_level", "takeout", POPULATION) == "far above"
    assert compute_fact(RECORD, "spend_level", "eco", POPULATION) is None  # no bill events for eco: no spend fact
    # a level is a fact about every facet: no concert events is a share of 0, the lowest of the five users
    assert compute_fact(RECORD, "level", "concert", POPULATION) == "about the same as"  # all five tie at 0
    assert compute_fact(RECORD, "level", "groceries", POPULATION) in ("far below", "below")
    with pytest.raises(ValueError, match="at least one record"):
        Population([])


def test_reflection_keeps_supported_revises_wrong_and_drops_unsupported_or_off_topic():
    topic = userU.TOPIC_BY_KEY["takeout/habits"]
    claims = [
        Claim("level", "takeout", "above"),  # supported
        Claim("trend", "takeout", "faded"),  # wrong value: revised to "stayed about the same"
        Claim("level", "concert", "far above"),  # injected about another facet: off-topic, dropped
        Claim("top_item", "takeout", "Starbucks"),  # wrong value: revised
        Claim("daypart", "concert", ("evening", "mostly")),  # the record shows no concerts: dropped
    ]
    kept, report = reflect(RECORD, topic, claims, POPULATION)
    assert (report.checked, report.supported, report.revised, report.dropped) == (5, 1, 2, 2)
    assert kept == [
        Claim("level", "takeout", "above"),
        Claim("trend", "takeout", "stayed about the same"),
        Claim("top_item", "takeout", "Meituan Takeout"),
    ]


def test_drafter_error_rate_controls_what_reflection_finds():
    rng = np.random.default_rng(0)
    topic = userU.TOPIC_BY_KEY["takeout/habits"]
    _, clean = reflect(RECORD, topic, userU.draft_claims(RECORD, topic, POPULATION, rng, error_rate=0.0), POPULATION)
    assert clean.revised == clean.dropped == 0 and clean.supported == clean.checked > 0
    _, noisy = reflect(RECORD, topic, userU.draft_claims(RECORD, topic, POPULATION, rng, error_rate=1.0), POPULATION)
    assert noisy.revised > 0 and noisy.dropped == 1


def test_questions_ask_without_answering_in_three_wordings_and_a_held_out_one():
    for topic in userU.TOPICS:
        assert len(set(topic.wordings)) == 3 and topic.held_out not in topic.wordings
    assert len(set(userU.all_questions())) == 1 + 72 * 4


def test_seventy_two_topics_and_top_ten_with_evidence(small_world):
    assert len(userU.TOPICS) == 72 and len({t.key for t in userU.TOPICS}) == 72
    for rec in small_world.pretrain[:10]:
        chosen = userU.top_topics(rec, k=10)
        assert 0 < len(chosen) <= 10
        assert all(compute_fact(rec, "count", t.facet) for t in chosen)


def test_low_topics_are_drawn_habits_topics_beside_the_top_ones(small_world):
    rec = small_world.pretrain[0]
    ranked = userU.top_topics(rec, k=10)
    rng = np.random.default_rng(0)
    assert userU.choose_topics(ranked, userU.TOPICS, 10, 0, rng) == ranked
    assert rng.random() == np.random.default_rng(0).random()  # k_low = 0 draws nothing: version 3's pairs exactly
    chosen = userU.choose_topics(ranked, userU.TOPICS, 10, 4, np.random.default_rng(1))
    assert chosen[:6] == ranked[:6] and len(chosen) == 10 and len({t.key for t in chosen}) == 10
    assert all(t.aspect == "habits" for t in chosen[6:])
    draws = [userU.choose_topics(ranked, userU.TOPICS, 10, 4, np.random.default_rng(s))[6:] for s in range(20)]
    assert len({t.key for d in draws for t in d}) > 10  # drawn, not fixed
    with pytest.raises(ValueError, match="k_low"):
        userU.choose_topics(ranked, userU.TOPICS, 10, 11, rng)


def test_low_topics_give_answers_that_stand_low(small_world):
    rows, _ = userU.build(small_world.pretrain, small_world.pretrain_future, seed=0, k_low=4)
    levels = [re.search(r"is (far below|below|about the same as|above|far above) that", r["answer"]) for r in rows]
    words = Counter(m.group(1) for m in levels if m)
    old, _ = userU.build(small_world.pretrain, small_world.pretrain_future, seed=0)
    old_words = Counter(
        m.group(1)
        for m in (re.search(r"is (far below|below|about the same as|above|far above) that", r["answer"]) for r in old)
        if m
    )
    low = ("far below", "below")
    assert sum(words[w] for w in low) / sum(words.values()) > sum(old_words[w] for w in low) / sum(old_words.values())
    assert len(rows) >= len(old)  # no answer is lost: every drawn topic has a level


def test_future_answer_by_frequency_and_diversity():
    future = {
        "user_id": "u1",
        "events": {
            "bill": [
                {"day": d, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 3.0}
                for d in range(5)
            ]
            + [{"day": 1, "hour": 12, "text": "pay Ele.me | food delivery | via balance", "amount": 3.0}] * 3,
            "spm": [{"day": 2, "hour": 8, "text": "home > ant forest > collect energy"}] * 2
            + [{"day": 2, "hour": 8, "text": "home > scan > pay"}] * 9,
        },
    }
    actions = userU.future_actions(future)
    assert actions == [("takeout", "evening", 5), ("eco", "morning", 2)]  # one per facet; tools left out
    assert "order food delivery in the evening (several times)" in userU.future_answer(actions)


def test_build_covers_every_user_once_for_d_future(small_world):
    rows, stats = userU.build(small_world.pretrain, small_world.pretrain_future, seed=0)
    users = [r["user_id"] for r in rows if r["source"] == "future"]
    assert users == [r["user_id"] for r in small_world.pretrain]
    for r in rows:  # every pair asks one of its topic's trained wordings: a question the same for every user
        assert r["query"] == userU.query_of(r, r["wording"])
    assert stats["distinct_queries"] <= 1 + 72 * 3
    assert stats["claims_checked"] == stats["claims_supported"] + stats["claims_revised"] + stats["claims_dropped"]
    assert stats["claims_dropped"] > 0 and stats["pairs_uqa"] > 5 * stats["users"]
    assert userU.build(small_world.pretrain, small_world.pretrain_future, seed=0) == (rows, stats)


def test_downstream_queries_are_worded_unlike_userU_questions():
    def words(s):
        return set(re.findall(r"[a-z]+", s.lower())) - {
            "this",
            "user",
            "the",
            "a",
            "in",
            "or",
            "of",
            "to",
            "and",
            "does",
            "is",
            "person",
            "their",
        }

    for task in tasks.TASKS:
        for topic in userU.TOPICS:
            for question in (*topic.wordings, topic.held_out):
                a, b = words(task.query), words(question)
                assert len(a & b) / len(a | b) < 0.5, (task.name, topic.key, question)
        assert task.query != userU.FUTURE_QUERY


def test_answer_visibility_is_complete_without_a_cap_and_partial_with_a_small_one(small_world):
    from qa_helpers.method import diagnostics

    records = small_world.pretrain[:20]
    assert set(diagnostics.answer_visibility(records, SPEC.with_caps((10**6,) * 5)).values()) == {1.0}
    shown = diagnostics.answer_visibility(records, SPEC.with_caps((2, 1, 1, 1, 1)))
    assert set(shown) <= set(userU.FACT_KINDS) and min(shown.values()) < 1.0
