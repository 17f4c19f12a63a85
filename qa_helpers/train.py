"""UserU pretraining: AdamW, cosine schedule with warmup, gradient clipping, periodic in-batch retrieval eval,
atomic resumable checkpoints, and torch.distributed data parallelism with negatives gathered across ranks.

    trainer = Pretrainer(model, users, train_pairs, eval_pairs, cfg, out_dir)
    history = trainer.run()             # or trainer.run(steps=100), then Pretrainer.resume(...) continues

The batch of step s is a pure function of (seed, s), so a resumed run sees exactly the batches an
uninterrupted one would. Under `torchrun --nproc_per_node N`, each rank takes 1/N of every global batch,
embeddings are all-gathered for the contrastive loss, and gradients are averaged across ranks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import losses
from .config import Profile
from .model import QAnchor
from .user_tensors import UserTensors


def batch_indices(step: int, batch_size: int, n: int, seed: int) -> np.ndarray:
    """Pair indices of global batch `step`: consecutive slices of per-epoch permutations (seeded by epoch)."""
    if n < batch_size:
        raise ValueError(f"{n} training pairs cannot fill a batch of {batch_size}")
    start = step * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        out.extend(perm[offset:offset + batch_size - len(out)].tolist())
    return np.array(out)


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
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


class Pretrainer:
    def __init__(self, model: QAnchor, users: UserTensors, train_pairs: list[dict], eval_pairs: list[dict],
                 cfg: Profile, out_dir: Path | None = None, device: str = "cpu"):
        from transformers import get_cosine_schedule_with_warmup

        self.model, self.users, self.cfg, self.device = model.to(device), users, cfg, device
        self.train_pairs, self.eval_pairs = train_pairs, eval_pairs
        self.out_dir = Path(out_dir) if out_dir else None
        self.rank, self.world = _distributed()
        if cfg.batch_size % self.world:
            raise ValueError(f"batch size {cfg.batch_size} is not divisible by {self.world} processes")
        self.row = {uid: i for i, uid in enumerate(users.user_ids)}
        missing = {p["user_id"] for p in train_pairs + eval_pairs} - set(self.row)
        if missing:
            raise KeyError(f"pairs refer to users without tensors, e.g. {sorted(missing)[0]!r}")
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, cfg.warmup_steps, cfg.pretrain_steps)
        self.step = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ one step

    def local_pairs(self, step: int) -> list[dict]:
        """This rank's share of the pairs of global batch `step`."""
        idx = batch_indices(step, self.cfg.batch_size, len(self.train_pairs), self.cfg.seed)
        b = self.cfg.batch_size // self.world
        return [self.train_pairs[i] for i in idx[self.rank * b:(self.rank + 1) * b]]

    def user_batch(self, pairs: list[dict]):
        """The UserBatch of the pairs' users, on the trainer's device."""
        batch = self.users.batch([self.row[p["user_id"]] for p in pairs])
        return batch.to(self.device)

    def batch_losses(self, pairs: list[dict]) -> tuple[torch.Tensor, dict]:
        """Total loss of this rank's share of a global batch, and its parts (averaged over ranks for logging)."""
        cfg = self.cfg
        out = self.model.pretrain_forward(self.user_batch(pairs), [p["query"] for p in pairs],
                                          [p["answer"] for p in pairs])
        u, v = losses.gather(out["u"]), losses.gather(out["v"])
        cl, stats = losses.contrastive_loss(u, v, cfg.tau, cfg.margin, cfg.contrastive_variant, cfg.use_margin_mask,
                                            anchor_offset=self.rank * len(pairs), n_anchors=len(pairs))
        n_tok = torch.tensor(float(len(out["labels"])))
        if self.world > 1:
            dist.all_reduce(n_tok)
        ntp = losses.ntp_loss(out["logits"], out["labels"].to(out["logits"].device), float(n_tok) / self.world)
        total = cfg.cl_weight * cl + cfg.ntp_weight * ntp
        parts = torch.tensor([total.item(), cl.item(), ntp.item(), stats["masked_share"]])
        if self.world > 1:
            dist.all_reduce(parts)
            parts /= self.world
        return total, dict(zip(("loss", "cl", "ntp", "masked_share"), parts.tolist()))

    def train_step(self) -> dict:
        self.model.train()
        start = time.perf_counter()
        total, parts = self.batch_losses(self.local_pairs(self.step))
        self.optimizer.zero_grad(set_to_none=False)
        total.backward()
        if self.world > 1:
            _flat_all_reduce_mean([p.grad for p in self.params], self.world)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return {"step": self.step, **parts, "grad_norm": float(grad_norm), "lr": self.scheduler.get_last_lr()[0],
                "seconds": time.perf_counter() - start}

    # ------------------------------------------------------------------ eval

    def evaluate(self) -> dict:
        """In-batch retrieval on held-out pairs: groups of `batch_size` (chance 1/B and 5/B)."""
        b = self.cfg.batch_size
        groups = [self.eval_pairs[i:i + b] for i in range(0, len(self.eval_pairs) - b + 1, b)]
        return retrieval_recall(self.model, self.users, groups, self.device)

    # ------------------------------------------------------------------ loop

    def run(self, steps: int | None = None, progress: bool = True) -> list[dict]:
        """Train until `steps` (default: cfg.pretrain_steps), evaluating and checkpointing on schedule."""
        steps = self.cfg.pretrain_steps if steps is None else steps
        bar = tqdm(total=steps, initial=self.step, desc="pretraining", disable=not progress or self.rank != 0)
        while self.step < steps:
            record = self.train_step()
            if self.step % self.cfg.eval_every == 0 or self.step == steps:
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
        torch.save({"model": self._trainable_state(), "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(), "step": self.step, "history": self.history,
                    "torch_rng": torch.get_rng_state()}, tmp / "trainer_state.pt")
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


@torch.no_grad()
def retrieval_recall(model: QAnchor, users: UserTensors, groups: list[list[dict]], device: str = "cpu") -> dict:
    """Recall@1/5 of each pair's answer among the answers of its group, and chance, averaged over pairs."""
    model.eval()
    row = {uid: i for i, uid in enumerate(users.user_ids)}
    hits1 = hits5 = chance1 = chance5 = n = 0
    for group in groups:
        batch = users.batch([row[p["user_id"]] for p in group]).to(device)
        u = torch.nn.functional.normalize(model.anchor_embedding(batch, [p["query"] for p in group]), dim=-1)
        v = torch.nn.functional.normalize(model.semantic_embedding([p["answer"] for p in group]), dim=-1)
        top = (u @ v.T).topk(min(5, len(group)), dim=1).indices.cpu()
        for i, p in enumerate(group):
            retrieved = [group[j]["answer"] for j in top[i].tolist()]
            hits1 += retrieved[0] == p["answer"]
            hits5 += p["answer"] in retrieved
        chance1 += 1.0
        chance5 += min(5, len(group))
        n += len(group)
    return {"recall@1": hits1 / max(n, 1), "recall@5": hits5 / max(n, 1), "eval_pairs": n,
            "chance@1": chance1 / max(n, 1), "chance@5": chance5 / max(n, 1)}


def main(argv: list[str] | None = None) -> None:
    """`torchrun --nproc_per_node N -m qa_helpers.train --profile P --out DIR`: pretrain, write history JSON."""
    from . import config, pipeline

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    cfg = config.load(args.profile)
    trainer = pipeline.pretrainer(cfg, out_dir=args.out)
    history = trainer.run(args.steps)
    if trainer.rank == 0:
        (args.out / "history.json").write_text(json.dumps(history, indent=1))
        trainer.model.save_pretrained(args.out / "model")
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
