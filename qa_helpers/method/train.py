"""UserU pretraining: AdamW, cosine schedule with warmup, gradient clipping, periodic diagnostics on held-out
users, atomic resumable checkpoints, and torch.distributed data parallelism with negatives gathered across ranks.

    trainer = Pretrainer(model, users, train_pairs, eval_pairs, PretrainSettings(steps=600), questions, out_dir)
    trainer.resume()                    # from the latest checkpoint in out_dir, if there is one
    history = trainer.run()             # or trainer.run(steps=100)

`questions` is the UserU topics' question bank (useru.topics.QuestionBank) the held-out diagnostics ask from.
Batches come from batches.PairSampler (`settings.batch_topics`): uniform batches of 32 out of 72 topics hold about one
other pair of an anchor's topic, so telling the topic apart solves them; grouped batches hold many users under one
question, which only the user can tell apart, as the paper's global batch of 2,048 does. Under
`torchrun --nproc_per_node N`, each rank takes 1/N of every global batch, embeddings are all-gathered for the
contrastive loss, and gradients are averaged across ranks. Answers that are word for word the anchor's are
never its negatives (losses.duplicate_answers).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import diagnostics, losses
from .batches import PairSampler
from .diagnostics import Questions
from .model import QAnchor
from .user_tensors import UserTensors


@dataclass(frozen=True)
class PretrainSettings:
    """What a pretraining run reads (a series profile gives its own: series.pipeline.pretrain_settings). The
    defaults are the CPU default profile's recipe; departures from the paper are named where the profile sets them
    (series/config.py, PAPER_SETTINGS)."""

    steps: int = 600
    batch_size: int = 32  # global batch (paper: 2048); in-batch negatives come from it
    batch_topics: int = 4  # 0: uniform random pairs; n: n topics per batch, each filled with different users
    batch_future_share: float = 0.125  # share of a grouped batch given to D_future pairs
    lr: float = 2e-4  # the LLM's peak learning rate (the paper's)
    lr_modules: float = 1.0  # the encoder's, the head's and the query adapter's lr, as a multiple of `lr`
    lr_floor: float = 0.0  # the cosine schedule decays to this share of the peak lr (the paper: 0)
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    tau: float = 0.07  # contrastive temperature (reference code)
    margin: float = 0.1  # margin of the false-negative mask (reference code)
    contrastive_variant: str = "code"  # losses.VARIANTS
    use_margin_mask: bool = True
    cl_weight: float = 1.0
    ntp_weight: float = 1.0
    eval_every: int = 200  # steps between held-out diagnostics (and after the last step); 0: none
    checkpoint_every: int = 200
    diagnostic_group: int = 32  # users per exact-query retrieval group (chance 1 / group)
    diagnostic_grid_users: int = 200  # held-out users x one question per facet for variance shares and rank
    seed: int = 0  # the batches' seed
    diagnostic_seed: int = 0  # the held-out diagnostics' draws


def lr_factor(step: int, warmup: int, total: int, floor: float = 0.0) -> float:
    """The learning rate at `step` as a share of the peak: linear warm-up over `warmup` steps, then a cosine decay
    to `floor` at `total` steps (floor 0: transformers' get_cosine_schedule_with_warmup)."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return floor + (1 - floor) * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def module_groups(model: QAnchor) -> dict[str, list[tuple[str, torch.nn.Parameter]]]:
    """The trainable parameters by module, (name, parameter) pairs: 'numeric projection' (the events' numeric
    fields), 'encoder adapters' (the rest of the hierarchical encoder), 'query adapter', 'LLM', 'head'. The LLM
    trains at `lr`, the others at `lr x lr_modules`; a group without trainable parameters is left out."""
    groups: dict[str, list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("encoder.numeric."):
            group = "numeric projection"
        elif name.startswith("encoder."):
            group = "encoder adapters"
        elif name.startswith("query_adapter."):
            group = "query adapter"
        elif name.startswith("head."):
            group = "head"
        else:
            group = "LLM"
        groups.setdefault(group, []).append((name, p))
    return groups


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


FINGERPRINT_FILE = "fingerprint.json"


class RunMismatch(ValueError):
    """A run folder holds checkpoints of another run (other data, settings or code)."""


def prepare_run_folder(out_dir: Path, fingerprint: dict, fresh: bool = False) -> None:
    """Make `out_dir` (a run's checkpoint folder) hold this run's checkpoints only, before a Pretrainer resumes
    from it: `fingerprint` (what the run is trained on: data, settings, code) is recorded beside the checkpoints; a
    folder whose checkpoints were trained on anything else raises RunMismatch naming the difference, unless `fresh`
    (its checkpoints are then deleted). Every rank of a distributed run reads the folder and makes the same
    decision (so all of them stop on a mismatch); rank 0 alone writes, after all have read."""
    out_dir, (rank, world_size) = Path(out_dir), _distributed()
    fingerprint = json.loads(json.dumps(fingerprint, default=list))  # as it reads back from the file
    saved_path = out_dir / FINGERPRINT_FILE
    problem = None
    if any(out_dir.glob("ckpt-*")) and not fresh:
        saved = json.loads(saved_path.read_text()) if saved_path.exists() else None
        if saved != fingerprint:
            problem = (
                f"{out_dir} holds checkpoints of another run ({_describe_difference(saved, fingerprint)}); "
                "pretrain --fresh starts afresh there (its checkpoints are deleted), or choose another --out"
            )
    if world_size > 1:
        dist.barrier()  # every rank has read the folder before rank 0 changes it
    if problem:
        raise RunMismatch(problem)
    if rank == 0:
        if fresh and out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        saved_path.write_text(json.dumps(fingerprint, indent=1, sort_keys=True))
    if world_size > 1:
        dist.barrier()


def _describe_difference(saved: dict | None, now: dict) -> str:
    """What differs between a recorded fingerprint and this run's, in words."""
    if saved is None:
        return "they record no fingerprint of what they were trained on"
    parts = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            parts.append(f"{key}: " + ", ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in changed[:5]))
        else:
            parts.append(f"{key} changed")
    return "; ".join(parts)


class Pretrainer:
    def __init__(
        self,
        model: QAnchor,
        users: UserTensors,
        train_pairs: list[dict],
        eval_pairs: list[dict],
        settings: PretrainSettings,
        questions: Questions,
        out_dir: Path | None = None,
        device: str = "cpu",
        facet_shares: dict[str, np.ndarray] | None = None,
    ):
        """`questions`: the question bank of the pairs' topics, which the held-out diagnostics ask from;
        `facet_shares` (held-out user id -> share of events per facet, in the order of its grid questions) adds
        the facet read-out."""
        self.model, self.users, self.settings, self.device = model.to(device), users, settings, device
        self.train_pairs, self.eval_pairs, self.facet_shares = train_pairs, eval_pairs, facet_shares
        self.questions = questions
        self.out_dir = Path(out_dir) if out_dir else None
        self.rank, self.world = _distributed()
        if settings.batch_size % self.world:
            raise ValueError(f"batch size {settings.batch_size} is not divisible by {self.world} processes")
        self.row = {uid: i for i, uid in enumerate(users.user_ids)}
        missing = {p["user_id"] for p in train_pairs + eval_pairs} - set(self.row)
        if missing:
            raise KeyError(f"pairs refer to users without tensors, e.g. {sorted(missing)[0]!r}")
        self.sampler = PairSampler.for_settings(train_pairs, settings)
        groups = module_groups(model)
        self.params = [p for params in groups.values() for _, p in params]
        llm = [p for _, p in groups.pop("LLM", [])]
        others = [p for params in groups.values() for _, p in params]
        self.optimizer = torch.optim.AdamW(
            [{"params": llm, "lr": settings.lr}, {"params": others, "lr": settings.lr * settings.lr_modules}],
            weight_decay=settings.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, settings.warmup_steps, settings.steps, settings.lr_floor)
        )
        self.initial = self._trainable_state()  # to measure how far each module's weights move
        self.step = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ one step

    def global_batch(self, step: int) -> list[dict]:
        """The pairs of global batch `step` (see the module docstring for how they are drawn)."""
        return [self.train_pairs[i] for i in self.sampler(step)]

    def local_pairs(self, step: int) -> list[dict]:
        """This rank's share of the pairs of global batch `step`."""
        b = self.settings.batch_size // self.world
        return self.global_batch(step)[self.rank * b : (self.rank + 1) * b]

    def user_batch(self, pairs: list[dict]):
        """The UserBatch of the pairs' users, on the trainer's device."""
        batch = self.users.batch([self.row[p["user_id"]] for p in pairs])
        return batch.to(self.device)

    def batch_losses(self, step: int) -> tuple[torch.Tensor, dict]:
        """Total loss of this rank's share of global batch `step`, and its parts (averaged over ranks for logging)."""
        s = self.settings
        every = self.global_batch(step)
        b = s.batch_size // self.world
        pairs = every[self.rank * b : (self.rank + 1) * b]
        out = self.model.pretrain_forward(
            self.user_batch(pairs), [p["query"] for p in pairs], [p["answer"] for p in pairs]
        )
        u, v = losses.gather(out["u"]), losses.gather(out["v"])
        cl, stats = losses.contrastive_loss(
            u,
            v,
            s.tau,
            s.margin,
            s.contrastive_variant,
            s.use_margin_mask,
            anchor_offset=self.rank * b,
            n_anchors=b,
            duplicates=losses.duplicate_answers([p["answer"] for p in every]),
        )
        n_tok = torch.tensor(float(len(out["labels"])))
        if self.world > 1:
            dist.all_reduce(n_tok)
        ntp = losses.ntp_loss(out["logits"], out["labels"].to(out["logits"].device), float(n_tok) / self.world)
        total = losses.total_loss(cl, ntp, s.cl_weight, s.ntp_weight)
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
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.settings.grad_clip)
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
        """The pretraining-side diagnostics on the held-out users (diagnostics.diagnose), and how far each module's
        weights have moved (`weight_change`)."""
        report = diagnostics.diagnose(
            self.model,
            self.users,
            self.eval_pairs,
            self.questions,
            self.settings.diagnostic_group,
            self.settings.diagnostic_grid_users,
            self.settings.diagnostic_seed,
            self.facet_shares,
            diagnostics.HeldOutLoss.for_settings(self.settings),
        )
        return report | {f"weight_change/{k}": v for k, v in self.weight_change().items()}

    def weight_change(self) -> dict[str, float]:
        """Per module group (module_groups), the relative distance of its trainable weights from where they started:
        ||w - w_0|| / ||w_0|| over the group's weights together (0: not moved)."""
        now = self._trainable_state()
        out = {}
        for group, params in module_groups(self.model).items():
            names = [n for n, _ in params]
            moved = sum(float((now[n] - self.initial[n]).pow(2).sum()) for n in names)
            size = sum(float(self.initial[n].pow(2).sum()) for n in names)
            out[group] = (moved / size) ** 0.5 if size > 0 else float("nan")
        return out

    # ------------------------------------------------------------------ loop

    def run(self, steps: int | None = None, progress: bool = True) -> list[dict]:
        """Train until `steps` (default: settings.steps), evaluating and checkpointing on schedule."""
        steps = self.settings.steps if steps is None else steps
        bar = tqdm(total=steps, initial=self.step, desc="pretraining", disable=not progress or self.rank != 0)
        while self.step < steps:
            record = self.train_step()
            if self.settings.eval_every and (self.step % self.settings.eval_every == 0 or self.step == steps):
                record.update(self.evaluate())
            self.history.append(record)
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", cl=f"{record['cl']:.3f}", ntp=f"{record['ntp']:.3f}")
            if self.out_dir and self.rank == 0 and self.step % self.settings.checkpoint_every == 0:
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
                "initial": self.initial,
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
        self.step, self.history, self.initial = state["step"], state["history"], state["initial"]
        torch.set_rng_state(state["torch_rng"])

    def resume(self) -> Path | None:
        """Load the latest checkpoint of out_dir, if any (a run resumed there sees exactly the batches an
        uninterrupted one would); returns its folder, or None when there is none."""
        latest = self.latest_checkpoint()
        if latest is not None:
            self.load_checkpoint(latest)
        return latest

    def latest_checkpoint(self) -> Path | None:
        if not self.out_dir or not self.out_dir.exists():
            return None
        done = sorted(p for p in self.out_dir.glob("ckpt-*") if (p / "trainer_state.pt").exists())
        return done[-1] if done else None
