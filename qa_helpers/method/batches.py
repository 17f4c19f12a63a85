"""Which pairs make each pretraining batch, and which users are held out for the diagnostics.

    train, held = split_pairs(pairs, n_eval=2048, seed=0)      # whole users held out
    sampler = PairSampler.for_settings(train, settings)         # sampler(step): the pair indices of batch `step`

Batches (`batch_topics`): 0 draws pairs uniformly (consecutive slices of per-epoch permutations); n > 0 builds every
batch from n topics, each filled with pairs of different users, plus a share `batch_future_share` of D_future pairs
(one query for all). The batch of step s is a pure function of (seed, s), so a resumed run sees exactly the batches
an uninterrupted one would, and the no-LLM baseline and the held-out loss of the diagnostics can draw the same kind
of batches.
"""

from __future__ import annotations

import numpy as np


def batch_indices(step: int, batch_size: int, n: int, seed: int) -> np.ndarray:
    """Pair indices of global batch `step`: consecutive slices of per-epoch permutations (seeded by epoch)."""
    if n < batch_size:
        raise ValueError(f"{n} training pairs cannot fill a batch of {batch_size}")
    start = step * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        out.extend(perm[offset : offset + batch_size - len(out)].tolist())
    return np.array(out)


def _grouped_batch_indices(
    step: int,
    batch_size: int,
    topic_pairs: dict[str, np.ndarray],
    pair_users: np.ndarray,
    n_topics: int,
    future_share: float,
    seed: int,
) -> np.ndarray:
    """Pair indices of global batch `step`: `n_topics` topics drawn with probability proportional to their pairs
    (the D_future topic "future" apart), each given an equal share of the batch, plus round(batch_size x
    future_share) D_future pairs; no user appears twice. Topics short of users are topped up with random pairs.

    topic_pairs: topic -> indices of its pairs; pair_users: (n_pairs,) user index of every pair."""
    rng = np.random.default_rng([seed, step])
    future = topic_pairs.get("future", np.zeros(0, int))
    n_future = min(int(round(batch_size * future_share)), len(future))
    topics = sorted(t for t in topic_pairs if t != "future")
    if not 0 < n_topics <= len(topics):
        raise ValueError(f"cannot draw {n_topics} topics from {len(topics)}")
    sizes = np.array([len(topic_pairs[t]) for t in topics], float)
    chosen = rng.choice(len(topics), n_topics, replace=False, p=sizes / sizes.sum())
    quotas = np.full(n_topics, (batch_size - n_future) // n_topics)
    quotas[: (batch_size - n_future) % n_topics] += 1
    out, used = [], set()

    def take(candidates: np.ndarray, quota: int) -> None:
        for i in rng.permutation(candidates):
            if quota == 0:
                return
            if pair_users[i] not in used:
                out.append(int(i))
                used.add(pair_users[i])
                quota -= 1

    for t, quota in zip(chosen, quotas):
        take(topic_pairs[topics[t]], int(quota))
    take(future, n_future)
    take(np.arange(len(pair_users)), batch_size - len(out))
    if len(out) < batch_size:
        raise ValueError(f"{len(set(pair_users.tolist()))} users cannot fill a batch of {batch_size} distinct users")
    return np.array(out)


class PairSampler:
    """The pairs of every global batch, a pure function of (seed, step): uniform (n_topics = 0, batch_indices) or
    topic-grouped (_grouped_batch_indices). Shared by Q-Anchor and the no-LLM baseline, so both see the same data.

    pairs: UserU rows; pair_users: (n_pairs,) an index of each pair's user."""

    def __init__(
        self,
        pairs: list[dict],
        pair_users: np.ndarray,
        batch_size: int,
        n_topics: int = 0,
        future_share: float = 0.0,
        seed: int = 0,
    ):
        self.n, self.batch_size, self.n_topics, self.future_share, self.seed = (
            len(pairs),
            batch_size,
            n_topics,
            future_share,
            seed,
        )
        self.pair_users = np.asarray(pair_users)
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            groups.setdefault(p["topic"], []).append(i)
        self.topic_pairs = {t: np.array(idx) for t, idx in groups.items()}

    @classmethod
    def for_settings(cls, pairs: list[dict], settings) -> PairSampler:
        """The sampler of a training run's settings (train.PretrainSettings: batch_size, batch_topics,
        batch_future_share, seed), each pair's user numbered in order of first appearance."""
        users = {uid: i for i, uid in enumerate(dict.fromkeys(p["user_id"] for p in pairs))}
        return cls(
            pairs,
            np.array([users[p["user_id"]] for p in pairs]),
            settings.batch_size,
            settings.batch_topics,
            settings.batch_future_share,
            settings.seed,
        )

    def __call__(self, step: int) -> np.ndarray:
        if self.n_topics:
            return _grouped_batch_indices(
                step, self.batch_size, self.topic_pairs, self.pair_users, self.n_topics, self.future_share, self.seed
            )
        return batch_indices(step, self.batch_size, self.n, self.seed)


def split_pairs(pairs: list[dict], n_eval: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole users until at least `n_eval` pairs are held out; the rest is for training."""
    users = sorted({p["user_id"] for p in pairs})
    order = np.random.default_rng(seed).permutation(len(users))
    held, count = set(), 0
    per_user = {}
    for p in pairs:
        per_user[p["user_id"]] = per_user.get(p["user_id"], 0) + 1
    for i in order:
        if count >= n_eval:
            break
        held.add(users[i])
        count += per_user[users[i]]
    return [p for p in pairs if p["user_id"] not in held], [p for p in pairs if p["user_id"] in held]
