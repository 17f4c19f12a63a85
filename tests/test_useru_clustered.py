"""UserU from facets found in the records themselves (clustered.py), and from any FacetSource: planted groups of
texts are recovered as facets named by their central texts, facts are read per facet and placed among a population,
reflection keeps true claims, revises wrong ones and drops unsupported or off-topic ones, and builder.build writes
D_future and D_uqa pairs in each source's own words (the clustered facets, a toy dictionary source defined here,
and on the synthetic world, facets clustered from hashed text vectors)."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from qa_helpers.method.sentence_encoder import HashingEncoder
from qa_helpers.synthetic import catalog
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru import builder, clustered
from qa_helpers.useru.facts import (
    FACT_KINDS,
    LEVEL_WORDS,
    Claim,
    Evidence,
    FacetSource,
    Population,
    UserFacts,
    facet_shares,
)
from qa_helpers.useru.topics import FUTURE_QUERY, QuestionBank, topics_from

# three well-separated groups of texts, with hand-made vectors: a group's texts sit near 10 * a unit axis
GROUPS = {
    "cooking": ("pasta recipe video", "knife skills class", "sourdough tutorial", "ramen from scratch"),
    "football": ("derby highlights", "transfer window news", "cup final replay", "tactics analysis"),
    "finance": ("index fund basics", "budget spreadsheet tips", "mortgage rates today", "pension explained"),
}
GROUP_OF = {t: g for g, texts in GROUPS.items() for t in texts}
HOURS = {"cooking": (18, 22), "football": (12, 17), "finance": (6, 11)}
VECTORS = {
    t: np.array([10.0 * (g == gi) for g in GROUPS] + [0.1 * j, 0.05 * (j % 2)])
    for gi, texts in GROUPS.items()
    for j, t in enumerate(texts)
}


def vectors(texts):
    return np.stack([VECTORS[t] for t in texts])


def _planted(seed: int, n_users: int = 30) -> list[dict]:
    """Users who prefer one group and (every other user) never touch another; 'watch' events carry minutes."""
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    records = []
    for i in range(n_users):
        allowed = [g for g in names if i % 2 or g != names[(i + 1) % 3]]
        p = np.array([3.0 if g == names[i % 3] else 1.0 for g in allowed])
        events = {"watch": [], "read": []}
        for _ in range(int(rng.integers(8, 20))):
            g = allowed[rng.choice(len(allowed), p=p / p.sum())]
            ev = {
                "day": int(rng.integers(0, 90)),
                "hour": int(rng.integers(*HOURS[g])),
                "text": GROUPS[g][rng.integers(len(GROUPS[g]))],
            }
            if rng.random() < 0.5:
                events["watch"].append({**ev, "minutes": round(float(rng.uniform(1, 60)), 1)})
            else:
                events["read"].append(ev)
        records.append({"user_id": f"u{i:03d}", "events": events})
    return records


PLANTED = _planted(0)
FUTURE = [{**rec, "events": {m: evs[: len(evs) // 2] for m, evs in rec["events"].items()}} for rec in _planted(1)]
FACETS = clustered.find_facets(PLANTED, vectors, 3, seed=0)


def key(group: str) -> str:
    return FACETS.keys[FACETS.facet_of(GROUPS[group][0])]


def ev(text, day, hour, **fields):
    return {"day": day, "hour": hour, "text": text, **fields}


COOK, BALL = GROUPS["cooking"], GROUPS["football"]
RECORD = {
    "user_id": "me",
    "events": {
        "watch": [
            ev(COOK[0], 1, 20, minutes=30.0),
            ev(COOK[0], 50, 21, minutes=20.0),
            ev(COOK[1], 60, 21, minutes=10.0),
        ],
        "read": [ev(COOK[2], 70, 19), ev(BALL[0], 3, 14)],
    },
}
# four other users with 10 read events each, of which 0, 1, 2 or 9 are about cooking (the rest football)
OTHERS = [
    {"user_id": f"o{n}", "events": {"read": [ev(COOK[0] if d < n else BALL[1], d, 12) for d in range(10)]}}
    for n in (0, 1, 2, 9)
]
POPULATION = Population([RECORD] + OTHERS, FACETS)


def test_facets_recover_planted_groups_and_name_them_by_central_texts():
    assert clustered.facet_agreement([GROUP_OF[t] for t in FACETS.texts], FACETS.labels) == 1.0
    assert FACETS.n_facets == 3 and FACETS.keys == ("f00", "f01", "f02")
    for i, (name, alias) in enumerate(zip(FACETS.names, FACETS.aliases)):
        members = {t for t, f in zip(FACETS.texts, FACETS.labels) if f == i}
        assert name in members and set(alias) <= members - {name} and len(alias) == clustered.ALIAS_TEXTS
    assert FACETS.facet_of("a text never seen") is None
    with_new = {**VECTORS, "a new cooking show": VECTORS[COOK[0]] + 0.01}

    def more_vectors(texts):
        return np.stack([with_new[t] for t in texts])

    assert FACETS.assign(["a new cooking show"], more_vectors).tolist() == [FACETS.facet_of(COOK[0])]
    wider = FACETS.extended(["a new cooking show", COOK[0]], more_vectors)
    assert wider.facet_of("a new cooking show") == FACETS.facet_of(COOK[0]) and wider.names == FACETS.names


def test_same_seed_same_facets_and_pairs():
    again = clustered.find_facets(PLANTED, vectors, 3, seed=0)
    assert again.texts == FACETS.texts and again.names == FACETS.names and again.aliases == FACETS.aliases
    assert np.array_equal(again.labels, FACETS.labels) and np.array_equal(again.centroids, FACETS.centroids)
    assert builder.build(PLANTED, FUTURE, FACETS, seed=3) == builder.build(PLANTED, FUTURE, again, seed=3)
    assert builder.build(PLANTED, FUTURE, FACETS, seed=3) != builder.build(PLANTED, FUTURE, FACETS, seed=4)


def test_facet_agreement_is_the_adjusted_rand_index():
    a, b = [0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]
    assert clustered.facet_agreement(a, b) == pytest.approx(adjusted_rand_score(a, b))
    assert clustered.facet_agreement(["x", "x", "y", "z"], [2, 2, 0, 1]) == 1.0  # a relabelled identical clustering
    with pytest.raises(ValueError, match="reference labels"):
        clustered.facet_agreement([0, 1], [0])


def test_clear_errors():
    with pytest.raises(ValueError, match="unique event texts"):
        clustered.find_facets([RECORD], vectors, 5, seed=0)
    with pytest.raises(ValueError, match="no events"):
        clustered.find_facets([{"user_id": "x", "events": {}}, {"user_id": "y", "tabular": [1.0]}], vectors, 2, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        clustered.find_facets(PLANTED, vectors, 1, seed=0)
    with pytest.raises(ValueError, match="distinct text vectors"):
        clustered.find_facets(PLANTED, lambda texts: np.ones((len(texts), 4)), 3, seed=0)
    with pytest.raises(ValueError, match="shape"):
        clustered.find_facets(PLANTED, lambda texts: np.ones(len(texts)), 3, seed=0)
    with pytest.raises(ValueError, match="user order differs"):
        builder.build(PLANTED, FUTURE[::-1], FACETS, seed=0)
    with pytest.raises(ValueError, match="same users"):
        builder.build(PLANTED, FUTURE[:-1], FACETS, seed=0)
    with pytest.raises(ValueError, match="at least one record"):
        Population([], FACETS)


def test_questions_name_the_facet_in_three_wordings_and_a_held_out_alias():
    bank = FACETS.bank
    assert len(bank.topics) == 9 and bank.topics[0].key == "f00/habits"
    assert len(set(bank.all_questions())) == len(bank.all_questions()) == 1 + 9 * 4
    assert bank.question("future") == FUTURE_QUERY
    name, alias = FACETS.names[1], FACETS.aliases[1]
    assert bank.question("f01/habits") == f'How much does this user engage in activity like "{name}", and with what?'
    assert all(f'"{a}"' in bank.question("f01/trend", "held_out") for a in alias)
    assert name not in bank.question("f01/timing", "held_out")
    assert bank.grid_questions() == [bank.question(f"{k}/habits") for k in FACETS.keys]
    assert bank.facet_keys == FACETS.keys
    assert bank.query_of({"topic": "f02/timing", "query": "q"}, 2) == bank.topics[7].wordings[2]
    # the same QuestionBank as the catalogue's (its questions: tests/test_useru_catalogue.py), another grid
    assert isinstance(FACETS.bank, QuestionBank) and isinstance(catalogue_facets().bank, QuestionBank)
    assert len(catalogue_facets().bank.grid_questions()) == len(catalog.FACETS)


def test_facts_are_computed_from_the_record():
    facts = UserFacts(RECORD, POPULATION)
    cook, ball, finance = key("cooking"), key("football"), key("finance")
    assert POPULATION.modalities == ("watch", "read") and POPULATION.fields == ("minutes",)
    # cooking shares 0, 0.1, 0.2, 0.8 (this user: 4 of 5 events), 0.9: 3.5 of 5 below -> the fourth quintile
    assert facts.value("level", cook) == "above"
    assert facts.value("modalities", cook) == ("watch", "read") and facts.value("modalities", ball) == ("read",)
    assert facts.value("top_item", cook) == f'"{COOK[0]}"'
    assert facts.value("daypart", cook) == ("evening", "almost always")
    assert facts.value("trend", cook) == "grown"  # halves 1 and 3
    assert facts.value("minutes_level", cook) == "far above"  # 60 minutes, the others none
    assert facts.value("minutes_level", ball) is None  # no minutes on its football events
    # no finance events: a share of 0 still has a level (a fact about every facet); nothing else is known
    assert facts.value("level", finance) in LEVEL_WORDS
    assert all(facts.value(kind, finance) is None for kind in (*FACT_KINDS, "minutes_level") if kind != "level")
    with pytest.raises(ValueError, match="unknown fact kind"):
        facts.value("mood", cook)
    assert POPULATION.kinds("habits") == ("level", "modalities", "top_item", "minutes_level")
    assert (
        Claim("minutes_level", cook, "above").text(FACETS) == "Their total minutes on it is above that of most users."
    )
    assert Claim("modalities", cook, ("watch", "read")).text(FACETS) == "This shows up in watch events, read events."
    columns = [FACETS.keys.index(k) for k in (cook, ball, finance)]
    assert np.allclose(facet_shares(RECORD, FACETS)[columns], [0.8, 0.2, 0])


def test_reflection_keeps_supported_revises_wrong_and_drops_unsupported():
    facts = UserFacts(RECORD, POPULATION)
    cook, finance = key("cooking"), key("finance")
    claims = [
        Claim("level", cook, "above"),  # supported
        Claim("trend", cook, "faded"),  # wrong value: revised to "grown"
        Claim("level", finance, "far above"),  # injected about another facet: off-topic, dropped
    ]
    kept, report = builder.reflect(facts, FACETS.bank.by_key[f"{cook}/habits"], claims)
    assert (report.checked, report.supported, report.revised, report.dropped) == (3, 1, 1, 1)
    assert kept == [Claim("level", cook, "above"), Claim("trend", cook, "grown")]


def test_drafter_error_rate_controls_what_reflection_finds():
    facts, rng = UserFacts(RECORD, POPULATION), np.random.default_rng(0)
    topic = FACETS.bank.by_key[f"{key('cooking')}/habits"]
    _, clean = builder.reflect(facts, topic, builder.draft_claims(facts, topic, rng, error_rate=0.0))
    assert clean.revised == clean.dropped == 0 and clean.supported == clean.checked == 4
    _, noisy = builder.reflect(facts, topic, builder.draft_claims(facts, topic, rng, error_rate=1.0))
    assert noisy.revised == 4 and noisy.dropped == 1

    _, stats = builder.build(PLANTED, None, FACETS, seed=0, error_rate=0.0)
    assert stats["claims_supported"] == stats["claims_checked"] > 0
    _, stats = builder.build(PLANTED, None, FACETS, seed=0, error_rate=1.0)
    assert stats["claims_revised"] > 0 and stats["claims_dropped"] > 0


def test_pairs_only_about_facets_with_evidence_and_in_useru_format():
    rows, stats = builder.build(PLANTED, FUTURE, FACETS, seed=0, k=4)
    bank = FACETS.bank
    assert [r["user_id"] for r in rows if r["source"] == "future"] == [r["user_id"] for r in PLANTED]
    by_user = {r["user_id"]: r for r in PLANTED}
    for r in rows:
        assert set(r) == {"user_id", "source", "topic", "wording", "query", "answer", "checked", "revised", "dropped"}
        assert r["query"] == bank.query_of(r, r["wording"])
        if r["source"] == "uqa":
            facet = r["topic"].split("/")[0]
            seen = Evidence(by_user[r["user_id"]], FACETS)
            assert seen.events(facet)
            absent = [k for k in FACETS.keys if not seen.events(k)]
            assert not any(FACETS.names[FACETS.keys.index(k)] in r["answer"] for k in absent)
    assert stats["users"] == 30 and stats["pairs_future"] == 30 and 0 < stats["mean_topics_per_user"] <= 4
    assert stats["claims_checked"] == stats["claims_supported"] + stats["claims_revised"] + stats["claims_dropped"]
    assert set(stats) == {
        "users",
        "pairs_future",
        "pairs_uqa",
        "claims_checked",
        "claims_supported",
        "claims_revised",
        "claims_dropped",
        "answers_dropped",
        "mean_topics_per_user",
        "distinct_queries",
        "distinct_answers",
    }

    rows, stats = builder.build(PLANTED, None, FACETS, seed=0, k=4)
    assert stats["pairs_future"] == 0 and all(r["source"] == "uqa" for r in rows)


def test_future_actions_by_frequency_one_per_facet():
    future = {
        "user_id": "me",
        "events": {
            "watch": [ev(COOK[0], d, 20) for d in range(6)] + [ev(COOK[1], 1, 13)] * 3,
            "read": [ev(BALL[2], 2, 8)] * 2 + [ev("an unseen text", 2, 8)] * 9,
        },
    }
    actions = builder.future_actions(future, FACETS)
    assert actions == [(key("cooking"), "evening", 6), (key("football"), "morning", 2)]
    name = FACETS.names[FACETS.keys.index(key("cooking"))]
    assert f'do things like "{name}" in the evening (often)' in builder.future_answer(actions, FACETS)
    assert builder.future_answer([], FACETS) == "The user is likely to stay mostly inactive in the next period."


@pytest.fixture(scope="module")
def world_facets(small_world):
    """24 facets clustered from the small world's event texts (its pretraining and next-period records), in a
    hashed text space (no weights needed)."""
    records = small_world.pretrain + small_world.pretrain_future
    return clustered.find_facets(records, HashingEncoder(64).encode, 24, seed=0)


def test_on_the_synthetic_world_answers_hold_only_supported_claims(small_world, world_facets):
    w, facets = small_world, world_facets
    assert 0 < clustered.facet_agreement([catalog.facet_of_text(t) for t in facets.texts], facets.labels) <= 1
    rows, stats = builder.build(w.pretrain, w.pretrain_future, facets, seed=0)
    assert stats["claims_dropped"] > 0 and stats["claims_revised"] > 0 and stats["pairs_uqa"] > 5 * stats["users"]
    population = Population(w.pretrain, facets)
    assert population.fields == ("amount",)
    facts = {rec["user_id"]: UserFacts(rec, population) for rec in w.pretrain}
    for r in rows:
        if r["source"] == "uqa":  # the answer is exactly the topic's true claims: nothing unsupported survives
            f, topic = facts[r["user_id"]], facets.bank.by_key[r["topic"]]
            truths = [Claim(k, topic.facet, f.value(k, topic.facet)) for k in population.kinds(topic.aspect)]
            assert r["answer"] == " ".join(c.text(facets) for c in truths if c.value is not None)


def test_on_the_synthetic_world_an_injected_unsupported_claim_is_dropped(small_world, world_facets):
    population = Population(small_world.pretrain, world_facets)
    bank = world_facets.bank
    for rec in small_world.pretrain:
        facts = UserFacts(rec, population)
        shown = [k for k in world_facets.keys if facts.value("top_item", k) is not None]
        absent = [k for k in world_facets.keys if facts.value("top_item", k) is None]
        if not shown or not absent:
            continue
        true = Claim("level", shown[0], facts.value("level", shown[0]))
        topic = bank.by_key[f"{shown[0]}/habits"]
        kept, report = builder.reflect(facts, topic, [true, Claim("level", absent[0], "far above")])
        assert kept == [true] and report.dropped == 1 and report.supported == 1
        return
    pytest.fail("no user with both a shown and an absent facet")


# ----------------------------------------------------------------------------- any FacetSource: a toy one

TOY_FACET = {"espresso bar": "coffee", "latte to go": "coffee", "park run": "running", "track session": "running"}
TOY_WORDS = {  # facet -> (domain, action, alias)
    "coffee": ("coffee drinking", "drink coffee", "caffeine"),
    "running": ("running", "go for a run", "jogging"),
}
TOY_WORDINGS = {
    "habits": ("How much {domain} does this user do?", "Tell me about their {domain}.", "Is {domain} a big thing?"),
    "timing": ("When does this user {action}?", "At what hour do they {action}?", "Which time do they {action} at?"),
    "trend": ("Is {domain} growing for them?", "Has their {domain} changed?", "More or less {domain} lately?"),
}
TOY_HELD_OUT = {"habits": "Any {alias}?", "timing": "What hours for {alias}?", "trend": "Is {alias} rising?"}
TOY_TITLES = {"habits": "{domain} habits", "timing": "timing of {domain}", "trend": "changes in {domain}"}


class ToyFacets(FacetSource):
    """Facets from a dictionary of known texts, with its own wordings and words."""

    period = "the toy fortnight"

    def __init__(self):
        fills = {f: {"domain": d, "action": a, "alias": al} for f, (d, a, al) in TOY_WORDS.items()}
        self._bank = QuestionBank(topics_from(fills, TOY_WORDINGS, TOY_HELD_OUT, TOY_TITLES))

    @property
    def bank(self) -> QuestionBank:
        return self._bank

    def subjects(self, modality, text):
        return (TOY_FACET[text],) if text in TOY_FACET else ()

    def future_facet(self, modality, text):
        return TOY_FACET.get(text)

    def domain(self, subject):
        return TOY_WORDS[subject][0]

    def action(self, facet):
        return TOY_WORDS[facet][1]

    def item(self, modality, text):
        return f"the {text}"

    def wrong_item(self, value, rng):
        return "the tea house" if value != "the tea house" else "the juice bar"


TOY = ToyFacets()
TOY_RECORDS = [
    {  # a growing evening coffee habit (all six in the second week, each with cups), two early runs
        "user_id": "a",
        "events": {
            "app": [ev("espresso bar", d, 20, cups=1.0) for d in range(8, 14)],
            "web": [ev("park run", 1, 7), ev("park run", 2, 7)],
        },
    },
    {
        "user_id": "b",
        "events": {"app": [ev("latte to go", 1, 9, cups=2.0)], "web": [ev("track session", d, 7) for d in range(5)]},
    },
    {"user_id": "c", "events": {"web": [ev("read the news", d, 8) for d in range(3)]}},  # no text the source knows
    {"user_id": "d", "events": {"app": [ev("espresso bar", 3, 12, cups=1.0)], "web": [ev("track session", 4, 18)]}},
]
TOY_FUTURE = [
    {
        "user_id": "a",
        "events": {"app": [ev("espresso bar", d, 21) for d in range(3)], "web": [ev("park run", 1, 8)] * 2},
    },
    {"user_id": "b", "events": {"web": [ev("track session", 2, 7)]}},
    {"user_id": "c", "events": {"web": [ev("read the news", 1, 8)]}},
    {"user_id": "d", "events": {}},
]


def toy_pairs(**kwargs) -> tuple[list[dict], dict]:
    return builder.build(TOY_RECORDS, TOY_FUTURE, TOY, seed=0, error_rate=0.0, window_days=14, **kwargs)


def test_a_toy_source_builds_pairs_in_its_own_words():
    rows, stats = toy_pairs()
    answers = {(r["user_id"], r["topic"]): r["answer"] for r in rows}
    assert stats["users"] == 4 and stats["pairs_future"] == 4
    for r in rows:  # questions come from the toy wordings
        assert r["query"] == TOY.bank.query_of(r, r["wording"]) and r["query"] in TOY.bank.all_questions()
    trend = answers[("a", "coffee/trend")]
    assert "The share of their activity that goes to coffee drinking is" in trend
    assert "Over the toy fortnight it has grown." in trend  # the source's period
    assert "Their total cups on it is" in trend  # a numeric field of the records becomes a level
    habits = answers[("a", "coffee/habits")]
    assert "The most frequent one is the espresso bar." in habits and "This shows up in app events." in habits
    assert answers[("a", "future")] == (
        "In the next period the user is most likely to drink coffee in the evening (several times); "
        "go for a run in the morning (a couple of times)."
    )
    assert "go for a run in the morning (once)" in answers[("b", "future")]


def test_a_record_without_a_known_text_gets_a_future_pair_and_no_uqa_pair():
    rows, _ = toy_pairs(k_low=0)
    of_c = [r for r in rows if r["user_id"] == "c"]
    assert [r["source"] for r in of_c] == ["future"]
    assert of_c[0]["answer"] == "The user is likely to stay mostly inactive in the next period."
    assert {r["user_id"] for r in rows if r["source"] == "uqa"} == {"a", "b", "d"}


def test_build_refuses_future_records_of_other_users_or_order_and_an_empty_population():
    others = [{**rec, "user_id": rec["user_id"] + "x"} for rec in TOY_FUTURE]
    with pytest.raises(ValueError, match="user order differs: a vs ax"):
        builder.build(TOY_RECORDS, others, TOY, seed=0)
    with pytest.raises(ValueError, match="user order differs"):
        builder.build(TOY_RECORDS, TOY_FUTURE[1:] + TOY_FUTURE[:1], TOY, seed=0)
    with pytest.raises(ValueError, match="same users"):
        builder.build(TOY_RECORDS, TOY_FUTURE + TOY_FUTURE[:1], TOY, seed=0)
    with pytest.raises(ValueError, match="at least one record"):
        Population([], TOY)
    with pytest.raises(ValueError, match="at least one record"):
        builder.build([], None, TOY, seed=0)


def test_an_unknown_fact_kind_is_refused_with_the_valid_kinds_listed():
    facts = UserFacts(TOY_RECORDS[0], Population(TOY_RECORDS, TOY), window_days=14)
    assert facts.value("cups_level", "coffee") is not None and facts.value("trend", "coffee") == "grown"
    with pytest.raises(ValueError, match="unknown fact kind 'mood'") as raised:
        facts.value("mood", "coffee")
    for kind in (*FACT_KINDS, "cups_level"):
        assert repr(kind) in str(raised.value)
    with pytest.raises(ValueError, match="unknown fact kind"):
        facts.value("minutes_level", "coffee")  # another dataset's numeric field


def test_a_wrong_modalities_claim_is_every_modality_for_the_catalogue_and_cycles_for_clustered_facets():
    rng = np.random.default_rng(0)
    bill = {"day": 1, "hour": 12, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 3.0}
    catalogue = Population([{"user_id": "u", "events": {"bill": [bill]}}], catalogue_facets())
    every = tuple(catalog.EVENT_MODALITIES)
    assert catalogue.modalities == every  # the catalogue's own order, not the records'
    assert builder.corrupt("modalities", ("bill",), rng, catalogue) == every
    assert builder.corrupt("modalities", every, rng, catalogue) == every  # even when it already was every modality
    assert POPULATION.modalities == ("watch", "read")  # the records' order of first appearance
    assert builder.corrupt("modalities", ("read",), rng, POPULATION) == ("watch", "read")
    assert builder.corrupt("modalities", ("watch", "read"), rng, POPULATION) == ("watch",)


def test_clustered_facets_name_modalities_by_their_labels():
    labelled = replace(FACETS, modality_labels={"watch": "videos watched"})
    claim = Claim("modalities", key("cooking"), ("watch", "read"))
    assert claim.text(labelled) == "This shows up in videos watched, read events."
    assert labelled.bank.all_questions() == FACETS.bank.all_questions()
