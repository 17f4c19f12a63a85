"""UserU pretraining: AdamW, cosine schedule with warmup, gradient clipping, periodic diagnostics on held-out
users, atomic resumable checkpoints, and torch.distributed data parallelism with negatives gathered across ranks.

    trainer = Pretrainer(model, users, train_pairs, eval_pairs, cfg, out_dir)
    history = trainer.run()             # or trainer.run(steps=100), then Pretrainer.resume(...) continues

Batches (`cfg.batch_topics`): 0 draws pairs uniformly (consecutive slices of per-epoch permutations); n > 0 builds
every batch from n topics, each filled with pairs of different users, plus a share `cfg.batch_future_share` of
D_future pairs (one query for all). Uniform batches of 32 out of 72 topics hold about one other pair of an
anchor's topic, so telling the topic apart solves them; grouped batches hold many users under one question,
which only the user can tell apart, as the paper's global batch of 2,048 does. The batch of step s is a pure
function of (seed, s), so a resumed run sees exactly the batches an uninterrupted one would. Under
`torchrun --nproc_per_node N`, each rank takes 1/N of every global batch, embeddings are all-gathered for the
contrastive loss, and gradients are averaged across ranks. Answers that are word for word the anchor's are
never its negatives (losses.duplicate_answers).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import diagnostics, losses
from .config import Profile
from .model import QAnchor
from .user_tensors import UserTensors
from .userU_from_records import QuestionBank


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


def grouped_batch_indices(
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
    topic-grouped (grouped_batch_indices). Shared by Q-Anchor and the no-LLM baseline, so both see the same data.

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
    def for_profile(cls, pairs: list[dict], cfg: Profile) -> PairSampler:
        users = {uid: i for i, uid in enumerate(dict.fromkeys(p["user_id"] for p in pairs))}
        return cls(
            pairs,
            np.array([users[p["user_id"]] for p in pairs]),
            cfg.batch_size,
            cfg.batch_topics,
            cfg.batch_future_share,
            cfg.seed,
        )

    def __call__(self, step: int) -> np.ndarray:
        if self.n_topics:
            return grouped_batch_indices(
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


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _flat_all_reduce_mean(tensors: list[torch.Tensor], world: int) -> None:
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


class Pretrainer:
    def __init__(
        self,
        model: QAnchor,
        users: UserTensors,
        train_pairs: list[dict],
        eval_pairs: list[dict],
        cfg: Profile,
        out_dir: Path | None = None,
        device: str = "cpu",
        facet_shares: dict[str, np.ndarray] | None = None,
        questions: QuestionBank | None = None,
    ):
        from transformers import get_cosine_schedule_with_warmup

        self.model, self.users, self.cfg, self.device = model.to(device), users, cfg, device
        self.train_pairs, self.eval_pairs, self.facet_shares = train_pairs, eval_pairs, facet_shares
        self.questions = questions  # the topics' questions for the diagnostics (None: the catalogue's)
        self.out_dir = Path(out_dir) if out_dir else None
        self.rank, self.world = _distributed()
        if cfg.batch_size % self.world:
            raise ValueError(f"batch size {cfg.batch_size} is not divisible by {self.world} processes")
        self.row = {uid: i for i, uid in enumerate(users.user_ids)}
        missing = {p["user_id"] for p in train_pairs + eval_pairs} - set(self.row)
        if missing:
            raise KeyError(f"pairs refer to users without tensors, e.g. {sorted(missing)[0]!r}")
        self.sampler = PairSampler.for_profile(train_pairs, cfg)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, cfg.warmup_steps, cfg.pretrain_steps)
        self.step = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ one step

    def global_batch(self, step: int) -> list[dict]:
        """The pairs of global batch `step` (see the module docstring for how they are drawn)."""
        return [self.train_pairs[i] for i in self.sampler(step)]

    def local_pairs(self, step: int) -> list[dict]:
        """This rank's share of the pairs of global batch `step`."""
        b = self.cfg.batch_size // self.world
        return self.global_batch(step)[self.rank * b : (self.rank + 1) * b]

    def user_batch(self, pairs: list[dict]):
        """The UserBatch of the pairs' users, on the trainer's device."""
        batch = self.users.batch([self.row[p["user_id"]] for p in pairs])
        return batch.to(self.device)

    def batch_losses(self, step: int) -> tuple[torch.Tensor, dict]:
        """Total loss of this rank's share of global batch `step`, and its parts (averaged over ranks for logging)."""
        cfg = self.cfg
        every = self.global_batch(step)
        b = cfg.batch_size // self.world
        pairs = every[self.rank * b : (self.rank + 1) * b]
        out = self.model.pretrain_forward(
            self.user_batch(pairs), [p["query"] for p in pairs], [p["answer"] for p in pairs]
        )
        u, v = losses.gather(out["u"]), losses.gather(out["v"])
        cl, stats = losses.contrastive_loss(
            u,
            v,
            cfg.tau,
            cfg.margin,
            cfg.contrastive_variant,
            cfg.use_margin_mask,
            anchor_offset=self.rank * b,
            n_anchors=b,
            duplicates=losses.duplicate_answers([p["answer"] for p in every]),
        )
        n_tok = torch.tensor(float(len(out["labels"])))
        if self.world > 1:
            dist.all_reduce(n_tok)
        ntp = losses.ntp_loss(out["logits"], out["labels"].to(out["logits"].device), float(n_tok) / self.world)
        total = losses.total_loss(cl, ntp, cfg.cl_weight, cfg.ntp_weight)
        parts = torch.tensor([total.item(), cl.item(), ntp.item(), stats["masked_share"], stats["duplicate_share"]])
        if self.world > 1:
            dist.all_reduce(parts)
            parts /= self.world
        return total, dict(zip(("loss", "cl", "ntp", "masked_share", "duplicate_share"), parts.tolist()))

    def train_step(self) -> dict:
        self.model.train()
        start = time.perf_counter()
        total, parts = self.batch_losses(self.step)
        self.optimizer.zero_grad(set_to_none=False)
        total.backward()
        if self.world > 1:
            _flat_all_reduce_mean([p.grad for p in self.params], self.world)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return {
            "step": self.step,
            **parts,
            "grad_norm": float(grad_norm),
            "lr": self.scheduler.get_last_lr()[0],
            "seconds": time.perf_counter() - start,
        }

    # ------------------------------------------------------------------ eval

    def evaluate(self) -> dict:
        """The pretraining-side diagnostics on the held-out users (diagnostics.diagnose)."""
        return diagnostics.diagnose(
            self.model,
            self.users,
            self.eval_pairs,
            self.cfg.diagnostic_group,
            self.cfg.diagnostic_grid_users,
            self.cfg.seed,
            self.facet_shares,
            self.questions,
        )

    # ------------------------------------------------------------------ loop

    def run(self, steps: int | None = None, progress: bool = True) -> list[dict]:
        """Train until `steps` (default: cfg.pretrain_steps), evaluating and checkpointing on schedule."""
        steps = self.cfg.pretrain_steps if steps is None else steps
        bar = tqdm(total=steps, initial=self.step, desc="pretraining", disable=not progress or self.rank != 0)
        while self.step < steps:
            record = self.train_step()
            if self.cfg.eval_every and (self.step % self.cfg.eval_every == 0 or self.step == steps):
                record.update(self.evaluate())
            self.history.append(record)
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", cl=f"{record['cl']:.3f}", ntp=f"{record['ntp']:.3f}")
            if self.out_dir and self.rank == 0 and self.step % self.cfg.checkpoint_every == 0:
                self.save_checkpoint()
        bar.close()
        return self.history

    # ------------------------------------------------------------------ checkpoints

    def _trainable_state(self) -> dict:
        names = {id(p) for p in self.params}
        state = {k: v for k, v in self.model.named_parameters() if id(v) in names}
        state.update({f"encoder.{k}": v for k, v in self.model.encoder.named_buffers()})
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    def save_checkpoint(self) -> Path:
        """Write `<out_dir>/ckpt-<step>/` atomically (a temporary folder renamed into place)."""
        final = self.out_dir / f"ckpt-{self.step:06d}"
        tmp = self.out_dir / f".tmp-ckpt-{self.step:06d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(
            {
                "model": self._trainable_state(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "history": self.history,
                "torch_rng": torch.get_rng_state(),
            },
            tmp / "trainer_state.pt",
        )
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    def load_checkpoint(self, folder: Path) -> None:
        state = torch.load(Path(folder) / "trainer_state.pt", weights_only=False)
        missing = self.model.load_state_dict(state["model"], strict=False)
        if missing.unexpected_keys:
            raise KeyError(f"checkpoint has weights the model lacks: {missing.unexpected_keys[:3]}")
        not_loaded = set(self._trainable_state()) - set(state["model"])
        if not_loaded:
            raise KeyError(f"checkpoint lacks trainable weights: {sorted(not_loaded)[:3]}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.history = state["step"], state["history"]
        torch.set_rng_state(state["torch_rng"])

    def latest_checkpoint(self) -> Path | None:
        if not self.out_dir or not self.out_dir.exists():
            return None
        done = sorted(p for p in self.out_dir.glob("ckpt-*") if (p / "trainer_state.pt").exists())
        return done[-1] if done else None
