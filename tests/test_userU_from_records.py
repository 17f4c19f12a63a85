import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from qa_helpers.method.sentence_encoder import HashingEncoder
from qa_helpers.series import config
from qa_helpers.synthetic import catalog, world
from qa_helpers.useru import builder as userU
from qa_helpers.useru import clustered as R
from qa_helpers.useru.clustered import Claim, Population, UserFacts

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
FACETS = R.find_facets(PLANTED, vectors, 3, seed=0)


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
    assert R.facet_agreement([GROUP_OF[t] for t in FACETS.texts], FACETS.labels) == 1.0
    assert FACETS.n_facets == 3 and FACETS.keys == ("f00", "f01", "f02")
    for i, (name, alias) in enumerate(zip(FACETS.names, FACETS.aliases)):
        members = {t for t, f in zip(FACETS.texts, FACETS.labels) if f == i}
        assert name in members and set(alias) <= members - {name} and len(alias) == R.ALIAS_TEXTS
    assert FACETS.facet_of("a text never seen") is None
    with_new = {**VECTORS, "a new cooking show": VECTORS[COOK[0]] + 0.01}

    def more_vectors(texts):
        return np.stack([with_new[t] for t in texts])

    assert FACETS.assign(["a new cooking show"], more_vectors).tolist() == [FACETS.facet_of(COOK[0])]
    wider = FACETS.extended(["a new cooking show", COOK[0]], more_vectors)
    assert wider.facet_of("a new cooking show") == FACETS.facet_of(COOK[0]) and wider.names == FACETS.names


def test_same_seed_same_facets_and_pairs():
    again = R.find_facets(PLANTED, vectors, 3, seed=0)
    assert again.texts == FACETS.texts and again.names == FACETS.names and again.aliases == FACETS.aliases
    assert np.array_equal(again.labels, FACETS.labels) and np.array_equal(again.centroids, FACETS.centroids)
    assert R.build(PLANTED, FUTURE, FACETS, seed=3) == R.build(PLANTED, FUTURE, again, seed=3)
    assert R.build(PLANTED, FUTURE, FACETS, seed=3) != R.build(PLANTED, FUTURE, FACETS, seed=4)


def test_facet_agreement_is_the_adjusted_rand_index():
    a, b = [0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]
    assert R.facet_agreement(a, b) == pytest.approx(adjusted_rand_score(a, b))
    assert R.facet_agreement(["x", "x", "y", "z"], [2, 2, 0, 1]) == 1.0  # a relabelled identical clustering
    with pytest.raises(ValueError, match="reference labels"):
        R.facet_agreement([0, 1], [0])


def test_clear_errors():
    with pytest.raises(ValueError, match="unique event texts"):
        R.find_facets([RECORD], vectors, 5, seed=0)
    with pytest.raises(ValueError, match="no events"):
        R.find_facets([{"user_id": "x", "events": {}}, {"user_id": "y", "tabular": [1.0]}], vectors, 2, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        R.find_facets(PLANTED, vectors, 1, seed=0)
    with pytest.raises(ValueError, match="distinct text vectors"):
        R.find_facets(PLANTED, lambda texts: np.ones((len(texts), 4)), 3, seed=0)
    with pytest.raises(ValueError, match="shape"):
        R.find_facets(PLANTED, lambda texts: np.ones(len(texts)), 3, seed=0)
    with pytest.raises(ValueError, match="user order differs"):
        R.build(PLANTED, FUTURE[::-1], FACETS, seed=0)
    with pytest.raises(ValueError, match="same users"):
        R.build(PLANTED, FUTURE[:-1], FACETS, seed=0)
    with pytest.raises(ValueError, match="at least one record"):
        Population([], FACETS)


def test_questions_name_the_facet_in_three_wordings_and_a_held_out_alias():
    bank = R.question_bank(FACETS)
    assert len(bank.topics) == 9 and bank.topics[0].key == "f00/habits"
    assert len(set(bank.all_questions())) == len(bank.all_questions()) == 1 + 9 * 4
    assert bank.question("future") == userU.FUTURE_QUERY
    name, alias = FACETS.names[1], FACETS.aliases[1]
    assert bank.question("f01/habits") == f'How much does this user engage in activity like "{name}", and with what?'
    assert all(f'"{a}"' in bank.question("f01/trend", "held_out") for a in alias)
    assert name not in bank.question("f01/timing", "held_out")
    assert bank.grid_questions() == [bank.question(f"{k}/habits") for k in FACETS.keys]
    assert bank.facet_keys == FACETS.keys
    assert bank.query_of({"topic": "f02/timing", "query": "q"}, 2) == bank.topics[7].wordings[2]

    cat = R.catalogue_questions()
    assert cat.all_questions() == userU.all_questions()
    assert cat.question("takeout/trend", "held_out") == userU.question("takeout/trend", "held_out")
    assert cat.grid_questions() == [userU.TOPIC_BY_KEY[f"{f}/habits"].question for f in catalog.FACETS]


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
    assert facts.value("level", finance) in userU.LEVEL_WORDS
    assert all(facts.value(kind, finance) is None for kind in (*R.FACT_KINDS, "minutes_level") if kind != "level")
    with pytest.raises(ValueError, match="unknown fact kind"):
        facts.value("mood", cook)
    assert POPULATION.kinds("habits") == ("level", "modalities", "top_item", "minutes_level")
    assert (
        Claim("minutes_level", cook, "above").text(FACETS) == "Their total minutes on it is above that of most users."
    )
    assert Claim("modalities", cook, ("watch", "read")).text(FACETS) == "This shows up in watch events, read events."
    assert np.allclose(R.facet_shares(RECORD, FACETS)[[FACETS.index(k) for k in (cook, ball, finance)]], [0.8, 0.2, 0])


def test_reflection_keeps_supported_revises_wrong_and_drops_unsupported():
    facts = UserFacts(RECORD, POPULATION)
    cook, finance = key("cooking"), key("finance")
    claims = [
        Claim("level", cook, "above"),  # supported
        Claim("trend", cook, "faded"),  # wrong value: revised to "grown"
        Claim("level", finance, "far above"),  # injected about another facet: off-topic, dropped
    ]
    kept, report = R.reflect(facts, R.question_bank(FACETS).by_key[f"{cook}/habits"], claims)
    assert (report.checked, report.supported, report.revised, report.dropped) == (3, 1, 1, 1)
    assert kept == [Claim("level", cook, "above"), Claim("trend", cook, "grown")]


def test_drafter_error_rate_controls_what_reflection_finds():
    facts, rng = UserFacts(RECORD, POPULATION), np.random.default_rng(0)
    topic = R.question_bank(FACETS).by_key[f"{key('cooking')}/habits"]
    _, clean = R.reflect(facts, topic, R.draft_claims(facts, topic, rng, error_rate=0.0))
    assert clean.revised == clean.dropped == 0 and clean.supported == clean.checked == 4
    _, noisy = R.reflect(facts, topic, R.draft_claims(facts, topic, rng, error_rate=1.0))
    assert noisy.revised == 4 and noisy.dropped == 1

    _, stats = R.build(PLANTED, None, FACETS, seed=0, error_rate=0.0)
    assert stats["claims_supported"] == stats["claims_checked"] > 0
    _, stats = R.build(PLANTED, None, FACETS, seed=0, error_rate=1.0)
    assert stats["claims_revised"] > 0 and stats["claims_dropped"] > 0


def test_pairs_only_about_facets_with_evidence_and_in_userU_format():
    rows, stats = R.build(PLANTED, FUTURE, FACETS, seed=0, k=4)
    bank = R.question_bank(FACETS)
    assert [r["user_id"] for r in rows if r["source"] == "future"] == [r["user_id"] for r in PLANTED]
    by_user = {r["user_id"]: r for r in PLANTED}
    for r in rows:
        assert set(r) == {"user_id", "source", "topic", "wording", "query", "answer", "checked", "revised", "dropped"}
        assert r["query"] == bank.query_of(r, r["wording"])
        if r["source"] == "uqa":
            facet = r["topic"].split("/")[0]
            assert R.facet_events(by_user[r["user_id"]], FACETS).get(facet)
            absent = [k for k in FACETS.keys if not R.facet_events(by_user[r["user_id"]], FACETS).get(k)]
            assert not any(FACETS.names[FACETS.index(k)] in r["answer"] for k in absent)
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

    rows, stats = R.build(PLANTED, None, FACETS, seed=0, k=4)
    assert stats["pairs_future"] == 0 and all(r["source"] == "uqa" for r in rows)


def test_future_actions_by_frequency_one_per_facet():
    future = {
        "user_id": "me",
        "events": {
            "watch": [ev(COOK[0], d, 20) for d in range(6)] + [ev(COOK[1], 1, 13)] * 3,
            "read": [ev(BALL[2], 2, 8)] * 2 + [ev("an unseen text", 2, 8)] * 9,
        },
    }
    actions = R.future_actions(future, FACETS)
    assert actions == [(key("cooking"), "evening", 6), (key("football"), "morning", 2)]
    assert f'do things like "{FACETS.names[FACETS.index(key("cooking"))]}" in the evening (often)' in R.future_answer(
        actions, FACETS
    )
    assert R.future_answer([], FACETS) == "The user is likely to stay mostly inactive in the next period."


def test_on_the_synthetic_world_answers_hold_only_supported_claims():
    w = world.generate(config.load("smoke"))
    facets = R.find_facets(w.pretrain + w.pretrain_future, HashingEncoder(64).encode, 24, seed=0)
    assert 0 < R.facet_agreement([catalog.facet_of_text(t) for t in facets.texts], facets.labels) <= 1
    rows, stats = R.build(w.pretrain, w.pretrain_future, facets, seed=0)
    assert stats["claims_dropped"] > 0 and stats["claims_revised"] > 0 and stats["pairs_uqa"] > 5 * stats["users"]
    population = Population(w.pretrain, facets)
    assert population.fields == ("amount",)
    facts = {rec["user_id"]: UserFacts(rec, population) for rec in w.pretrain}
    for r in rows:
        if r["source"] == "uqa":  # the answer is exactly the topic's true claims: nothing unsupported survives
            f, topic = facts[r["user_id"]], R.question_bank(facets).by_key[r["topic"]]
            truths = [Claim(k, topic.facet, f.value(k, topic.facet)) for k in population.kinds(topic.aspect)]
            assert r["answer"] == " ".join(c.text(facets) for c in truths if c.value is not None)


def test_on_the_synthetic_world_an_injected_unsupported_claim_is_dropped():
    w = world.generate(config.load("smoke", n_pretrain_users=60, n_downstream_users=1))
    facets = R.find_facets(w.pretrain, HashingEncoder(64).encode, 24, seed=0)
    population = Population(w.pretrain, facets)
    bank = R.question_bank(facets)
    for rec in w.pretrain:
        facts = UserFacts(rec, population)
        shown = [k for k in facets.keys if facts.value("top_item", k) is not None]
        absent = [k for k in facets.keys if facts.value("top_item", k) is None]
        if not shown or not absent:
            continue
        true = Claim("level", shown[0], facts.value("level", shown[0]))
        topic = bank.by_key[f"{shown[0]}/habits"]
        kept, report = R.reflect(facts, topic, [true, Claim("level", absent[0], "far above")])
        assert kept == [true] and report.dropped == 1 and report.supported == 1
        return
    pytest.fail("no user with both a shown and an absent facet")
