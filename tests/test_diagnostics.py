"""Pretraining-side diagnostics: groups, chance levels, the effective rank, and a full run on a tiny model."""

import numpy as np
import pytest
import torch

from qa_helpers.method import diagnostics
from qa_helpers.method.batches import split_pairs
from qa_helpers.series import pipeline
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru.facts import facet_shares


def test_exact_query_groups_hold_one_topic_and_distinct_answers(tiny_setup):
    pairs = tiny_setup["pairs"]
    groups = diagnostics.exact_query_groups(pairs, group_size=6, seed=0)
    assert groups and all(4 <= len(g) <= 6 for g in groups)
    for g in groups:
        assert len({pairs[i]["topic"] for i in g}) == 1
        assert len({pairs[i]["answer"] for i in g}) == len(g)
    assert groups == diagnostics.exact_query_groups(pairs, group_size=6, seed=0)


def test_effective_rank_counts_the_directions_used():
    rng = np.random.default_rng(0)
    assert diagnostics.effective_rank(np.outer(rng.normal(size=50), rng.normal(size=8))) == pytest.approx(1.0)
    assert diagnostics.effective_rank(np.eye(8)) == pytest.approx(8.0)


def test_batch_composition_counts_what_an_anchor_competes_with():
    batch = [
        {"topic": "a", "query": "q1", "answer": "x"},
        {"topic": "a", "query": "q1", "answer": "x"},
        {"topic": "a", "query": "q2", "answer": "y"},
        {"topic": "b", "query": "q3", "answer": "z"},
    ]
    out = diagnostics.batch_composition(batch)
    assert out == {
        "same_topic": pytest.approx(6 / 4),
        "same_question": pytest.approx(2 / 4),
        "same_answer": pytest.approx(2 / 4),
    }


def test_diagnose_reports_every_number_in_range(tiny_setup):
    torch.manual_seed(0)
    train, held = split_pairs(tiny_setup["pairs"], 120, seed=0)
    model = pipeline.new_model(tiny_setup["cfg"], train, tiny_setup["users"])
    source = catalogue_facets()
    shares = {r["user_id"]: facet_shares(r, source) for r in tiny_setup["world"].pretrain}
    out = diagnostics.diagnose(
        model, tiny_setup["users"], held, source.bank, group_size=8, grid_users=10, facet_shares=shares
    )
    for key in (
        "exact_recall@1",
        "held_out_recall@1",
        "exact_query_swap_win",
        "held_out_query_swap_win",
        "prefix_shuffle_win",
        "user_share",
        "query_share",
        "interaction_share",
    ):
        assert 0.0 <= out[key] <= 1.0, key
    assert out["user_share"] + out["query_share"] + out["interaction_share"] == pytest.approx(1.0)
    assert 1 / 8 <= out["exact_chance@1"] <= 1 / 4 and out["exact_pairs"] > 0
    assert 1.0 <= out["effective_rank"] <= tiny_setup["cfg"].emb_dim
    assert out["facet_r2_own_question"] <= 1.0 and out["facet_r2_other_question"] <= 1.0
    assert out == diagnostics.diagnose(
        model, tiny_setup["users"], held, source.bank, group_size=8, grid_users=10, facet_shares=shares
    )


def test_facet_read_out_finds_a_planted_facet_only_under_its_own_question():
    rng = np.random.default_rng(0)
    shares = rng.random((200, 3))
    emb = rng.normal(size=(200, 3, 8))  # (users, questions, e)
    for f in range(3):  # question f's embedding carries facet f's share in its first coordinate
        emb[:, f, 0] = shares[:, f]
    own, other = diagnostics.facet_r2(emb, shares)
    assert own > 0.9 and other < 0.1


def test_shuffled_users_stay_in_their_topic_and_never_keep_their_own():
    pairs = [{"topic": t} for t in ("a", "a", "a", "b", "b", "c", "future", "future")]
    batch = [7, 0, 3, 1, 6, 4, 2, 5]
    rng = np.random.default_rng(0)
    for _ in range(20):
        borrowed = diagnostics.shuffled_within_topic(batch, pairs, rng)
        assert sorted(borrowed) == sorted(batch)  # every user lent once
        for i, j in zip(batch, borrowed):
            assert pairs[i]["topic"] == pairs[j]["topic"]
            assert i != j or pairs[i]["topic"] == "c"  # the only pair of its topic keeps its user


def test_user_nats_are_zero_for_a_user_blind_model_and_positive_for_one_that_knows_the_user(tiny_setup, monkeypatch):
    _, held = split_pairs(tiny_setup["pairs"], 120, seed=0)
    users = sorted({p["user_id"] for p in held})
    rows = [users.index(p["user_id"]) for p in held]
    answers = sorted({p["answer"] for p in held})
    codes = np.eye(len(answers), dtype=np.float32)  # every distinct answer its own direction
    monkeypatch.setattr(diagnostics, "answer_embeddings", lambda model, a: codes[[answers.index(x) for x in a]])
    loss = diagnostics.HeldOutLoss(batch_size=8, topics=2, future_share=0.25, n_batches=10)

    def blind(model, prefixes, queries, pairs, rows):  # the question's mean answer, whoever asks
        by_query = {q: codes[[answers.index(p["answer"]) for p in held if p["query"] == q]].mean(0) for q in queries}
        return np.stack([by_query[q] / np.linalg.norm(by_query[q]) for q in queries])

    topic_of = {p["query"]: p["topic"] for p in held}
    own = {(r, p["topic"]): answers.index(p["answer"]) for r, p in zip(rows, held)}

    def knowing(model, prefixes, queries, pairs, rows):  # the asking user's own answer to the question's topic
        return codes[[own[(r, topic_of[q])] for r, q in zip(rows, queries)]]

    monkeypatch.setattr(diagnostics.inference, "embed", blind)
    out = diagnostics.user_nats(None, None, held, rows, loss)
    assert out["user_nats"] == pytest.approx(0.0) and out["heldout_loss"] > 0
    monkeypatch.setattr(diagnostics.inference, "embed", knowing)
    assert diagnostics.user_nats(None, None, held, rows, loss)["user_nats"] > 1.0
