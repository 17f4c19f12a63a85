import re

import numpy as np
import pytest

from qa_helpers import tasks, userU
from qa_helpers.userU import Claim, compute_fact, reflect

RECORD = {
    "user_id": "u1",
    "events": {
        "bill": [{"day": 1, "hour": 20, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 30.0},
                 {"day": 50, "hour": 21, "text": "pay Ele.me | food delivery | via Huabei", "amount": 25.5},
                 {"day": 60, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 40.0}],
        "mini": [{"day": 70, "hour": 12, "text": "mini program Ant Forest | collect energy"}],
        "search": [{"day": 3, "hour": 9, "text": "a text the catalogue does not know"}],
    },
}


def test_facts_are_computed_from_the_record():
    assert compute_fact(RECORD, "count", "takeout") == 3
    assert compute_fact(RECORD, "top_item", "takeout") == "Meituan Takeout"
    assert compute_fact(RECORD, "spend", "takeout") == 95.5
    assert compute_fact(RECORD, "daypart", "takeout") == ("evening", 100)
    assert compute_fact(RECORD, "trend", "takeout") == (1, 2)
    assert compute_fact(RECORD, "modalities", "eco") == ("mini",)
    assert compute_fact(RECORD, "count", "concert") is None
    with pytest.raises(ValueError, match="unknown fact kind"):
        compute_fact(RECORD, "mood", "takeout")


def test_reflection_keeps_supported_revises_wrong_and_drops_unsupported():
    claims = [Claim("count", "takeout", 3),               # supported
              Claim("spend", "takeout", 400.0),           # wrong value: revised
              Claim("count", "concert", 7)]               # injected, the record shows no concerts: dropped
    kept, report = reflect(RECORD, claims)
    assert (report.checked, report.supported, report.revised, report.dropped) == (3, 1, 1, 1)
    assert kept == [Claim("count", "takeout", 3), Claim("spend", "takeout", 95.5)]
    assert all(c.facet != "concert" for c in kept)


def test_drafter_error_rate_controls_what_reflection_finds():
    rng = np.random.default_rng(0)
    topic = userU.TOPIC_BY_KEY["takeout/habits"]
    _, clean = reflect(RECORD, userU.draft_claims(RECORD, topic, rng, error_rate=0.0))
    assert clean.revised == clean.dropped == 0 and clean.supported == clean.checked > 0
    _, noisy = reflect(RECORD, userU.draft_claims(RECORD, topic, rng, error_rate=1.0))
    assert noisy.revised > 0 and noisy.dropped == 1


def test_seventy_two_topics_and_top_ten_with_evidence(small_world):
    assert len(userU.TOPICS) == 72 and len({t.key for t in userU.TOPICS}) == 72
    for rec in small_world.pretrain[:10]:
        chosen = userU.top_topics(rec, k=10)
        assert 0 < len(chosen) <= 10
        assert all(compute_fact(rec, "count", t.facet) for t in chosen)


def test_future_answer_by_frequency_and_diversity():
    future = {"user_id": "u1", "events": {
        "bill": [{"day": d, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 3.0}
                 for d in range(5)] + [{"day": 1, "hour": 12, "text": "pay Ele.me | food delivery | via balance",
                                        "amount": 3.0}] * 3,
        "spm": [{"day": 2, "hour": 8, "text": "home > ant forest > collect energy"}] * 2
               + [{"day": 2, "hour": 8, "text": "home > scan > pay"}] * 9}}
    actions = userU.future_actions(future)
    assert actions == [("takeout", "evening", 5), ("eco", "morning", 2)]  # one per facet; tools left out
    assert "order food delivery in the evening (about 5 times)" in userU.future_answer(actions)


def test_build_covers_every_user_once_for_d_future(small_world):
    rows, stats = userU.build(small_world.pretrain, small_world.pretrain_future, seed=0)
    users = [r["user_id"] for r in rows if r["source"] == "future"]
    assert users == [r["user_id"] for r in small_world.pretrain]
    assert stats["claims_checked"] == stats["claims_supported"] + stats["claims_revised"] + stats["claims_dropped"]
    assert stats["claims_dropped"] > 0 and stats["pairs_uqa"] > 5 * stats["users"]
    assert userU.build(small_world.pretrain, small_world.pretrain_future, seed=0) == (rows, stats)


def test_downstream_queries_are_worded_unlike_userU_questions():
    def words(s):
        return set(re.findall(r"[a-z]+", s.lower())) - {"this", "user", "the", "a", "in", "or", "of", "to", "and",
                                                           "does", "is", "person", "their"}
    for task in tasks.TASKS:
        for topic in userU.TOPICS:
            a, b = words(task.query), words(topic.question)
            assert len(a & b) / len(a | b) < 0.5, (task.name, topic.key)
        assert task.query != userU.FUTURE_QUERY
