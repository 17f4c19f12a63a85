"""UserU on the synthetic world's catalogue (world version 1): facts are read from the record through the catalogue's
FacetSource and placed among a population, reflection keeps true claims, revises wrong ones and drops unsupported or
off-topic ones, the 72 topics are asked in three trained wordings and a held-out one, and the builder covers every
user with a D_future pair and writes D_uqa pairs about topics with evidence (and, with k_low, drawn low ones)."""

import re
from collections import Counter

import numpy as np
import pytest

from qa_helpers.synthetic import catalog, tasks, world
from qa_helpers.synthetic.useru_catalogue import TOPIC_BY_KEY, TOPICS, catalogue_facets
from qa_helpers.useru import builder
from qa_helpers.useru.facts import FACT_KINDS, Claim, Evidence, Population, UserFacts, trend_word
from qa_helpers.useru.topics import FUTURE_QUERY
from qa_helpers.useru.visibility import answer_visibility

SOURCE = catalogue_facets()  # world version 1: the 72 facet topics, no interests

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
POPULATION = Population([RECORD] + OTHERS, SOURCE)


def facts_of(record: dict) -> UserFacts:
    return UserFacts(record, POPULATION)


LEVEL = re.compile(r"is (far below|below|about the same as|above|far above) that")


def level_words(rows: list[dict]) -> Counter:
    return Counter(m.group(1) for m in (LEVEL.search(r["answer"]) for r in rows) if m)


def test_facts_are_computed_from_the_record():
    facts = facts_of(RECORD)
    assert facts.value("count", "takeout") == 3
    assert facts.value("top_item", "takeout") == "Meituan Takeout"
    assert facts.value("daypart", "takeout") == ("evening", "almost always")
    assert facts.value("trend", "takeout") == "stayed about the same"  # halves 1 and 2: within the margin
    assert trend_word(1, 4) == "grown" and trend_word(4, 1) == "faded"
    assert facts.value("modalities", "eco") == ("mini",)
    assert facts.value("count", "concert") is None
    with pytest.raises(ValueError, match="unknown fact kind"):
        facts.value("mood", "takeout")


def test_an_unknown_fact_kind_is_refused_with_the_valid_kinds_listed():
    with pytest.raises(ValueError, match="unknown fact kind 'mood'") as raised:
        facts_of(RECORD).value("mood", "takeout")
    for kind in (*FACT_KINDS, "spend_level"):  # the catalogue's numeric kind is named for spending
        assert repr(kind) in str(raised.value)
    assert POPULATION.numeric_kinds == {"spend_level": "amount"}


def test_levels_place_the_user_among_the_population():
    # takeout shares 0, 0.1, 0.2, 0.6 (this user: 3 of 5 events), 0.9: 3.5 of 5 users below -> the fourth quintile
    assert Evidence(RECORD, SOURCE).share("takeout") == pytest.approx(0.6)
    assert facts_of(RECORD).value("level", "takeout") == "above"
    assert facts_of(OTHERS[3]).value("level", "takeout") == "far above"
    assert facts_of(OTHERS[1]).value("level", "takeout") == "below"
    # the level is a share, not a count: the heavy user with 9 orders is not above for groceries (1 of 10)
    assert facts_of(OTHERS[3]).value("level", "groceries") == "below"
    # spend 95.5 against 0, 10, 20 and 90 yuan: the top quintile
    assert facts_of(RECORD).value("spend_level", "takeout") == "far above"
    assert facts_of(RECORD).value("spend_level", "eco") is None  # no bill events for eco: no spend fact
    # a level is a fact about every facet: no concert events is a share of 0, the lowest of the five users
    assert facts_of(RECORD).value("level", "concert") == "about the same as"  # all five tie at 0
    assert facts_of(RECORD).value("level", "groceries") in ("far below", "below")
    with pytest.raises(ValueError, match="at least one record"):
        Population([], SOURCE)


def test_reflection_keeps_supported_revises_wrong_and_drops_unsupported_or_off_topic():
    topic = TOPIC_BY_KEY["takeout/habits"]
    claims = [
        Claim("level", "takeout", "above"),  # supported
        Claim("trend", "takeout", "faded"),  # wrong value: revised to "stayed about the same"
        Claim("level", "concert", "far above"),  # injected about another facet: off-topic, dropped
        Claim("top_item", "takeout", "Starbucks"),  # wrong value: revised
        Claim("daypart", "concert", ("evening", "mostly")),  # the record shows no concerts: dropped
    ]
    kept, report = builder.reflect(facts_of(RECORD), topic, claims)
    assert (report.checked, report.supported, report.revised, report.dropped) == (5, 1, 2, 2)
    assert kept == [
        Claim("level", "takeout", "above"),
        Claim("trend", "takeout", "stayed about the same"),
        Claim("top_item", "takeout", "Meituan Takeout"),
    ]


def test_drafter_error_rate_controls_what_reflection_finds():
    rng = np.random.default_rng(0)
    topic = TOPIC_BY_KEY["takeout/habits"]
    facts = facts_of(RECORD)
    _, clean = builder.reflect(facts, topic, builder.draft_claims(facts, topic, rng, error_rate=0.0))
    assert clean.revised == clean.dropped == 0 and clean.supported == clean.checked > 0
    _, noisy = builder.reflect(facts, topic, builder.draft_claims(facts, topic, rng, error_rate=1.0))
    assert noisy.revised > 0 and noisy.dropped == 1


def test_claims_are_written_in_the_catalogues_words():
    assert Claim("level", "takeout", "above").text(SOURCE) == (
        "The share of their activity that goes to food delivery is above that of most users."
    )
    assert Claim("spend_level", "takeout", "below").text(SOURCE) == "Their spending on it is below that of most users."
    assert Claim("modalities", "eco", ("bill", "mini")).text(SOURCE) == (
        "This shows up in PayBill transactions, Mini Program visits."
    )
    assert Claim("trend", "takeout", "grown").text(SOURCE) == "Over the last three months it has grown."


def test_questions_ask_without_answering_in_three_wordings_and_a_held_out_one():
    for topic in TOPICS:
        assert len(set(topic.wordings)) == 3 and topic.held_out not in topic.wordings
    assert len(set(SOURCE.bank.all_questions())) == 1 + 72 * 4


def test_the_catalogue_bank_asks_the_72_topics_on_a_grid_of_24_facets():
    bank = SOURCE.bank
    assert bank.every_topic == TOPICS and bank.more == ()
    assert bank.all_questions() == [FUTURE_QUERY] + [q for t in TOPICS for q in (*t.wordings, t.held_out)]
    assert bank.question("takeout/trend", "held_out") == TOPIC_BY_KEY["takeout/trend"].held_out
    assert "ordering meals to the door" in bank.question("takeout/trend", "held_out")  # the alias, not the domain
    assert bank.grid_questions() == [TOPIC_BY_KEY[f"{f}/habits"].question for f in catalog.FACETS]
    assert bank.facet_keys == SOURCE.keys == tuple(catalog.FACETS)
    assert bank.question("future") == FUTURE_QUERY


def test_seventy_two_topics_and_top_ten_with_evidence(small_world):
    assert len(TOPICS) == 72 and len({t.key for t in TOPICS}) == 72
    population = Population(small_world.pretrain, SOURCE)
    for rec in small_world.pretrain[:10]:
        facts = UserFacts(rec, population)
        chosen = builder.top_topics(facts, k=10)
        assert 0 < len(chosen) <= 10
        assert all(facts.value("count", t.facet) for t in chosen)


def test_low_topics_are_drawn_habits_topics_beside_the_top_ones(small_world):
    rec = small_world.pretrain[0]
    ranked = builder.top_topics(UserFacts(rec, Population(small_world.pretrain, SOURCE)), k=10)
    rng = np.random.default_rng(0)
    assert builder.choose_topics(ranked, TOPICS, 10, 0, rng) == ranked
    assert rng.random() == np.random.default_rng(0).random()  # k_low = 0 draws nothing: version 3's pairs exactly
    chosen = builder.choose_topics(ranked, TOPICS, 10, 4, np.random.default_rng(1))
    assert chosen[:6] == ranked[:6] and len(chosen) == 10 and len({t.key for t in chosen}) == 10
    assert all(t.aspect == "habits" for t in chosen[6:])
    draws = [builder.choose_topics(ranked, TOPICS, 10, 4, np.random.default_rng(s))[6:] for s in range(20)]
    assert len({t.key for d in draws for t in d}) > 10  # drawn, not fixed
    with pytest.raises(ValueError, match="k_low"):
        builder.choose_topics(ranked, TOPICS, 10, 11, rng)


def test_low_topics_give_answers_that_stand_low(small_world):
    rows, _ = builder.build(small_world.pretrain, small_world.pretrain_future, SOURCE, seed=0, k_low=4)
    old, _ = builder.build(small_world.pretrain, small_world.pretrain_future, SOURCE, seed=0)
    words, old_words = level_words(rows), level_words(old)
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
    actions = builder.future_actions(future, SOURCE)
    assert actions == [("takeout", "evening", 5), ("eco", "morning", 2)]  # one per facet; tools left out
    assert "order food delivery in the evening (several times)" in builder.future_answer(actions, SOURCE)


def test_build_covers_every_user_once_for_d_future(small_world):
    rows, stats = builder.build(small_world.pretrain, small_world.pretrain_future, SOURCE, seed=0)
    users = [r["user_id"] for r in rows if r["source"] == "future"]
    assert users == [r["user_id"] for r in small_world.pretrain]
    for r in rows:  # every pair asks one of its topic's trained wordings: a question the same for every user
        assert r["query"] == SOURCE.bank.query_of(r, r["wording"])
    assert stats["distinct_queries"] <= 1 + 72 * 3
    assert stats["claims_checked"] == stats["claims_supported"] + stats["claims_revised"] + stats["claims_dropped"]
    assert stats["claims_dropped"] > 0 and stats["pairs_uqa"] > 5 * stats["users"]
    assert builder.build(small_world.pretrain, small_world.pretrain_future, SOURCE, seed=0) == (rows, stats)


def test_downstream_queries_are_worded_unlike_useru_questions():
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
        for topic in TOPICS:
            for question in (*topic.wordings, topic.held_out):
                a, b = words(task.query), words(question)
                assert len(a & b) / len(a | b) < 0.5, (task.name, topic.key, question)
        assert task.query != FUTURE_QUERY


def test_answer_visibility_is_complete_without_a_cap_and_partial_with_a_small_one(small_cfg, small_world):
    spec = world.spec(small_cfg, small_cfg.event_caps)
    records = small_world.pretrain[:20]
    assert set(answer_visibility(records, spec.with_caps((10**6,) * 5), SOURCE).values()) == {1.0}
    shown = answer_visibility(records, spec.with_caps((2, 1, 1, 1, 1)), SOURCE)
    assert set(shown) <= set(FACT_KINDS) | {"spend_level"} and min(shown.values()) < 1.0
