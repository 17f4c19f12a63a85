"""Pretraining-side diagnostics: does the embedding carry the user, the query, or both? They read only held-out
pretraining users and their UserU pairs, never a downstream label, so they can choose a recipe.

    report = diagnose(model, users, held_out_pairs, questions)   # a flat dict of the numbers below

`questions` is the UserU topics' question bank (`Questions`: useru.topics.QuestionBank is one).

- exact-query retrieval (`exact_recall@1`): the held-out users who have a topic are asked that topic's same
  question (its first wording); in groups of up to `group_size` users with distinct answers, each user's
  embedding must find its own answer among the group's answers. Chance is 1 / group (`exact_chance@1`). The
  query is identical within a group, so only the user can tell the answers apart.
- prefix shuffle (`prefix_shuffle_win`): in the same groups, how often user i's own prefix fits answer a_i better
  than another user j's prefix under the same question (chance 0.5).
- query swap (`query_swap_win`): how often a user's own question fits its answer better than the question of
  another topic in front of the same prefix (chance 0.5). Near 0.5 means the query is ignored.
- held-out wording (`held_out_recall@1`, `held_out_query_swap_win`): the same with each topic's fourth wording,
  which uses other words for the domain and was never trained on: does the model understand a new question?
- variance shares (`query_share`, `user_share`, `interaction_share`) and cosines of a grid of `grid_users`
  users x one question per facet (geometry.query_variance), and the effective rank of the per-question-centred
  embeddings (`effective_rank`, Roy and Vetterli 2007: exp of the entropy of the normalised singular values;
  between 1 and emb_dim): a collapsed user space has a small one.
- user nats (`user_nats`): the held-out contrastive loss of training-like batches of the held-out pairs (the
  training run's batch size, topics per batch and D_future share, `heldout_loss`), recomputed with each pair's prefix
  swapped for that of another user of the same topic in the batch (`heldout_loss_shuffled`): the difference is how
  much of the loss needs the user. 0: the question alone does all the work.
- facet read-out (`facet_r2_own_question`, `facet_r2_other_question`): on the same grid, how well a linear
  read-out recovers each facet's share of the user's events (what the user is drawn to, apart from how active
  the user is) from the embedding asked about that facet, and from one asked about another facet. Own above other
  means the question steers the embedding towards what it asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from . import geometry, inference, losses
from .batches import PairSampler
from .model import QAnchor
from .user_tensors import UserTensors


class Questions(Protocol):
    """The questions the diagnostics ask (useru.topics.QuestionBank is one): a topic's question in a wording (an
    index of its trained wordings, or 'held_out'), a pair's question, and one question per facet (the grid)."""

    def question(self, topic_key: str, wording: int | str = 0) -> str: ...

    def query_of(self, pair: dict, wording: int | str = "own") -> str: ...

    def grid_questions(self) -> list[str]: ...


# the numbers `diagnose` reports, in the order tables and curves show them
REPORTED = (
    "exact_recall@1",
    "exact_chance@1",
    "prefix_shuffle_win",
    "exact_query_swap_win",
    "user_nats",
    "heldout_loss",
    "held_out_recall@1",
    "held_out_query_swap_win",
    "user_share",
    "query_share",
    "interaction_share",
    "cos_same_query_other_user",
    "cos_same_user_other_query",
    "effective_rank",
    "facet_r2_own_question",
    "facet_r2_other_question",
)


@torch.no_grad()
def answer_embeddings(model: QAnchor, answers: list[str], batch_size: int = 256) -> np.ndarray:
    """Unit-norm semantic-tower embeddings of answer texts, (n, emb_dim)."""
    model.eval()
    out = [
        F.normalize(model.semantic_embedding(answers[i : i + batch_size]), dim=-1).cpu().numpy()
        for i in range(0, len(answers), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, model.config.emb_dim), np.float32)


def effective_rank(X: np.ndarray) -> float:
    """exp(entropy) of the singular values of X (n, d) normalised to sum 1 (Roy and Vetterli 2007)."""
    s = np.linalg.svd(np.asarray(X, np.float64), compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def batch_composition(batch: list[dict]) -> dict:
    """What an anchor of a training batch competes with: the mean number of other pairs per anchor that share its
    topic, its exact question, or its answer word for word (never a negative, see losses.duplicate_answers)."""
    n = len(batch)
    out = {}
    for key, name in (("topic", "same_topic"), ("query", "same_question"), ("answer", "same_answer")):
        counts = [sum(q[key] == p[key] for q in batch) - 1 for p in batch]
        out[name] = float(np.mean(counts)) if n else 0.0
    return out


def exact_query_groups(pairs: list[dict], group_size: int, seed: int = 0) -> list[list[int]]:
    """Indices into `pairs` grouped by topic, distinct answers only, in groups of 4 to `group_size` pairs."""
    rng = np.random.default_rng(seed)
    by_topic: dict[str, dict[str, int]] = {}
    for i, p in enumerate(pairs):
        by_topic.setdefault(p["topic"], {}).setdefault(p["answer"], i)  # first pair of each distinct answer
    groups = []
    for topic in sorted(by_topic):
        idx = rng.permutation(list(by_topic[topic].values()))
        n_groups = int(np.ceil(len(idx) / group_size))
        groups += [g.tolist() for g in np.array_split(idx, n_groups) if len(g) >= 4] if n_groups else []
    return groups


def _retrieval(u: np.ndarray, v: np.ndarray, groups: list[list[int]]) -> dict:
    hits = wins = comparisons = chance = n = 0
    for g in groups:
        s = u[g] @ v[g].T  # (G, G): row = anchor, column = answer
        hits += int((s.argmax(1) == np.arange(len(g))).sum())
        own = np.diag(s)
        wins += int((own[None, :] > s).sum())  # column i: own anchor i against anchors j != i
        comparisons += len(g) * (len(g) - 1)
        chance += 1.0
        n += len(g)
    return {
        "recall@1": hits / max(n, 1),
        "chance@1": chance / max(n, 1),
        "prefix_shuffle_win": wins / max(comparisons, 1),
        "pairs": n,
    }


@dataclass(frozen=True)
class HeldOutLoss:
    """How the held-out contrastive loss of `user_nats` is computed: `n_batches` batches drawn as in training
    (batches.PairSampler: `batch_size` pairs, `topics` topics per batch, a `future_share` of D_future pairs) and the
    training loss's temperature, margin and variant."""

    batch_size: int = 32
    topics: int = 4
    future_share: float = 0.125
    tau: float = 0.07
    margin: float = 0.1
    variant: str = "code"
    n_batches: int = 64

    @classmethod
    def for_settings(cls, s) -> HeldOutLoss:
        """The held-out loss of a training run's settings (train.PretrainSettings)."""
        return cls(s.batch_size, s.batch_topics, s.batch_future_share, s.tau, s.margin, s.contrastive_variant)


def shuffled_within_topic(batch: list[int], pairs: list[dict], rng: np.random.Generator) -> list[int]:
    """For the pair indices of one batch, the index of the pair whose user each pair borrows: a pair of the same
    topic in the batch, never itself (a random cycle through each topic's pairs; a topic with one pair keeps it)."""
    out = list(batch)
    by_topic: dict[str, list[int]] = {}
    for k, i in enumerate(batch):
        by_topic.setdefault(pairs[i]["topic"], []).append(k)
    for positions in by_topic.values():
        cycle = rng.permutation(positions)
        for a, b in zip(cycle, np.roll(cycle, -1)):
            out[a] = batch[b]
    return out


def user_nats(model: QAnchor, prefixes, pairs: list[dict], rows: list[int], loss: HeldOutLoss, seed: int = 0) -> dict:
    """The held-out contrastive loss (mean over `loss.n_batches` training-like batches of `pairs`) with each pair's
    own user, with users swapped among the pairs of one topic (shuffled_within_topic), and their difference,
    `user_nats`. prefixes: the encoded prefixes of the pairs' users, rows[k] the row of pairs[k]'s user in them."""
    users = np.asarray(rows)
    size = min(loss.batch_size, len(set(rows)))  # a small held-out set fills smaller batches
    topics = min(loss.topics, len({p["topic"] for p in pairs} - {"future"}))
    sampler = PairSampler(pairs, users, size, topics, loss.future_share, seed)
    rng = np.random.default_rng(seed)
    batches = [sampler(b).tolist() for b in range(loss.n_batches)]
    borrowed = [shuffled_within_topic(b, pairs, rng) for b in batches]
    flat, flat_borrowed = [i for b in batches for i in b], [j for b in borrowed for j in b]
    queries = [pairs[i]["query"] for i in flat]
    u = torch.from_numpy(inference.embed(model, prefixes, queries, pairs=True, rows=[rows[i] for i in flat]))
    u_shuffled = torch.from_numpy(
        inference.embed(model, prefixes, queries, pairs=True, rows=[rows[j] for j in flat_borrowed])
    )
    v = torch.from_numpy(answer_embeddings(model, [pairs[i]["answer"] for i in flat]))
    true, shuffled = [], []
    for k, b in enumerate(batches):
        part = slice(k * size, (k + 1) * size)
        dup = losses.duplicate_answers([pairs[i]["answer"] for i in b])
        args = (loss.tau, loss.margin, loss.variant)
        true.append(float(losses.contrastive_loss(u[part], v[part], *args, duplicates=dup)[0]))
        shuffled.append(float(losses.contrastive_loss(u_shuffled[part], v[part], *args, duplicates=dup)[0]))
    return {
        "heldout_loss": float(np.mean(true)),
        "heldout_loss_shuffled": float(np.mean(shuffled)),
        "user_nats": float(np.mean(shuffled) - np.mean(true)),
    }


def facet_r2(emb: np.ndarray, shares: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """How much of each facet's share of a user's events a linear read-out finds in the embedding asked about that
    facet, and in the embeddings asked about the other facets: mean 5-fold cross-validated R^2 of ridge regression.

    emb (N, F, e): N users under one question per facet; shares (N, F), the same facets in order."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score

    folds = KFold(5, shuffle=True, random_state=seed)
    ridge = RidgeCV(alphas=np.logspace(-2, 3, 12))
    by_question = inference.query_major(emb)  # (F, N, e): each question's users as one contiguous matrix
    own, other = [], []
    for f in range(len(by_question)):
        if shares[:, f].std() == 0:  # nobody differs on this facet: nothing to read
            continue
        own.append(cross_val_score(ridge, by_question[f], shares[:, f], cv=folds, scoring="r2").mean())
        g = (f + 1 + seed) % len(by_question)  # one other facet's question per facet
        other.append(cross_val_score(ridge, by_question[g], shares[:, f], cv=folds, scoring="r2").mean())
    return float(np.mean(own)), float(np.mean(other))


def facet_readout_by_level(
    model: QAnchor, users: UserTensors, shares: np.ndarray, questions: list[str], seed: int = 0
) -> dict:
    """Where the user's facet mix is lost on the way to the embedding: facet_r2 (own question, other question) at
    three levels of the model for the users (N), their facet shares (N, F) and one question per facet (F, in the
    same order; a question bank's grid_questions): the mean of the encoder's prefix tokens (before the LLM; the same
    for every question), the LLM's hidden state at <USER_EMB>, the embedding."""
    if shares.shape[1] != len(questions):
        raise ValueError(f"shares of {shares.shape[1]} facets, {len(questions)} questions")
    levels = inference.representation_levels(model, users, questions, progress=False)
    prefix = np.repeat(levels["prefix"][:, None], len(questions), 1)  # (N, F, d): the same for every question
    return {
        name: facet_r2(X, shares, seed)
        for name, X in (
            ("prefix mean", prefix),
            ("hidden at <USER_EMB>", levels["hidden"]),
            ("embedding", levels["embedding"]),
        )
    }


def diagnose(
    model: QAnchor,
    users: UserTensors,
    pairs: list[dict],
    questions: Questions,
    group_size: int = 32,
    grid_users: int = 200,
    seed: int = 0,
    facet_shares: dict[str, np.ndarray] | None = None,
    loss: HeldOutLoss | None = None,
) -> dict:
    """Every diagnostic of the module docstring on the held-out `pairs` (their users must be in `users`);
    `questions`: the topics' questions (`Questions`, such as useru.topics.QuestionBank: the D_uqa topics' wordings
    and a facet grid);
    `facet_shares` (user id -> (F,) share of the user's events per facet, in the order of
    questions.grid_questions()) adds the facet read-out of `facet_r2` on the grid; `loss` (how training batches
    are drawn and scored) adds the user nats of `user_nats`."""
    rng = np.random.default_rng(seed)
    row_of = {uid: i for i, uid in enumerate(users.user_ids)}
    held = sorted({p["user_id"] for p in pairs})
    local = {uid: k for k, uid in enumerate(held)}
    prefixes = inference.encode_prefixes(model, users.subset([row_of[u] for u in held]))
    rows = [local[p["user_id"]] for p in pairs]
    v = answer_embeddings(model, [p["answer"] for p in pairs])
    groups = exact_query_groups(pairs, group_size, seed)
    # a question of another topic for every pair (the query swap), fixed by the seed
    topics = sorted({p["topic"] for p in pairs})
    other = [topics[(topics.index(p["topic"]) + 1 + rng.integers(len(topics) - 1)) % len(topics)] for p in pairs]
    out = {}
    for name, wording in (("exact", 0), ("held_out", "held_out")):
        own_q = [questions.query_of(p, wording) for p in pairs]
        swap_q = [questions.question(t, wording) for t in other]
        u = inference.embed(model, prefixes, own_q, pairs=True, rows=rows, batch_size=256)
        u_swap = inference.embed(model, prefixes, swap_q, pairs=True, rows=rows, batch_size=256)
        r = _retrieval(u, v, groups)
        out[f"{name}_recall@1"], out[f"{name}_chance@1"] = r["recall@1"], r["chance@1"]
        out[f"{name}_query_swap_win"] = float(np.mean((u * v).sum(1) > (u_swap * v).sum(1)))
        if name == "exact":
            out["prefix_shuffle_win"], out["exact_pairs"] = r["prefix_shuffle_win"], r["pairs"]
    grid = sorted(rng.choice(len(held), min(grid_users, len(held)), replace=False).tolist())
    emb = inference.embed(model, prefixes.select(torch.as_tensor(grid)), questions.grid_questions())  # (N, Q, e)
    out.update(geometry.query_variance(emb))
    by_question = inference.query_major(emb)  # (Q, N, e)
    centred = by_question - by_question.mean(1, keepdims=True)  # each question's users about their mean
    out["effective_rank"] = effective_rank(centred.reshape(-1, emb.shape[-1]))
    if facet_shares is not None:
        shares = np.stack([facet_shares[held[i]] for i in grid])
        out["facet_r2_own_question"], out["facet_r2_other_question"] = facet_r2(emb, shares, seed)
    if loss is not None:
        out.update(user_nats(model, prefixes, pairs, rows, loss, seed))
    return out
