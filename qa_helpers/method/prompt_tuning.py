"""Cluster-based soft prompt tuning (paper §3.2.3, Eq. 7): per task, n learnable vectors in the query suffix and
one learnable prototype per class; the backbone, the encoder and the projection head stay frozen.

    [user prefix] Query: q [p_1 .. p_n] <USER_EMB>

The prompt follows the prefix, so each user's prefix KV cache (inference.encode_prefixes) is computed once and
reused at every step: a step runs only the suffix tokens (tested: the same gradients as a full forward).

    prefixes = inference.encode_prefixes(model, users)
    run = tune(model, prefixes, queries, labels, train_users, n_tokens=6, steps=500)
    emb = inference.embed(model, prefixes, queries, run.final.vectors)       # (N, T, e)

Loss (Eq. 7): -log softmax_k(cos(u_i, p_k) / tau)[y_i]. The paper writes u^T p without normalisation and gives no
tau; we use cosine (the embeddings are unit-normalised downstream) with tau = 0.1. Batches are class-balanced
(half positives), since several tasks have 2% positives; prototypes start at the class means of the first batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from . import inference
from .model import PrefixState, QAnchor


@dataclass
class PromptSet:
    """Tuned prompts of T tasks: vectors (T, n_tokens, d_llm), prototypes (T, K, emb_dim), at `step`."""

    tasks: list[str]
    queries: list[str]
    vectors: torch.Tensor
    prototypes: torch.Tensor
    step: int

    @property
    def n_tokens(self) -> int:
        return self.vectors.shape[1]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {"vectors": self.vectors.contiguous(), "prototypes": self.prototypes.contiguous()},
            folder / "prompts.safetensors",
        )
        (folder / "prompts.json").write_text(
            json.dumps({"tasks": self.tasks, "queries": self.queries, "step": self.step}, indent=1)
        )

    @classmethod
    def load(cls, folder: str | Path) -> PromptSet:
        folder = Path(folder)
        meta = json.loads((folder / "prompts.json").read_text())
        tensors = load_file(folder / "prompts.safetensors")
        return cls(meta["tasks"], meta["queries"], tensors["vectors"], tensors["prototypes"], meta["step"])


@dataclass
class TuningRun:
    """The prompts after the last step, snapshots at chosen steps, and the loss of every task at every step."""

    final: PromptSet
    snapshots: dict[int, PromptSet] = field(default_factory=dict)
    losses: np.ndarray = None  # (steps, T)


def init_prompt(model: QAnchor, n_tokens: int, seed: int = 0) -> torch.Tensor:
    """(n_tokens, d) copies of the input embeddings of random ordinary vocabulary tokens (Lester et al. 2021)."""
    ordinary = [i for i in range(len(model.tokenizer)) if i not in set(model.tokenizer.all_special_ids)]
    g = torch.Generator().manual_seed(seed)
    ids = torch.tensor(ordinary)[torch.randint(len(ordinary), (n_tokens,), generator=g)]
    return model.backbone.input_embeddings().weight[ids].detach().clone()


def prototype_loss(u: torch.Tensor, prototypes: torch.Tensor, labels: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. 7 with cosine similarity: u (B, e), prototypes (K, e), labels (B,) in [0, K)."""
    logits = F.normalize(u, dim=-1) @ F.normalize(prototypes, dim=-1).T / tau
    return F.cross_entropy(logits, labels)


def _balanced_batch(rng: np.random.Generator, users: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """`size` users, half from each class (drawn with replacement when a class is small)."""
    pos, neg = users[y == 1], users[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("a task's training users must include both classes")
    half = size // 2
    return np.concatenate(
        [rng.choice(pos, half, replace=len(pos) < half), rng.choice(neg, size - half, replace=len(neg) < size - half)]
    )


def _suffix_pass(
    model: QAnchor, prefixes: PrefixState, queries: list[str], rows: np.ndarray, vectors: torch.Tensor, per_task: int
) -> torch.Tensor:
    """Projected anchor states (T, per_task, e) of the users `rows` (T * per_task,) under their task's query and
    prompt (queries: T * per_task, task-major), with gradients into the prompts."""
    state = prefixes.select(torch.as_tensor(rows))
    h = inference.anchor_states(model, state, queries, vectors.repeat_interleave(per_task, 0), pairs=True)
    return model.head(h).view(len(vectors), per_task, -1)


def tune(
    model: QAnchor,
    prefixes: PrefixState,
    queries: list[str],
    labels: np.ndarray,
    train_users: list[np.ndarray],
    n_tokens: int = 6,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 3e-3,
    tau: float = 0.1,
    seed: int = 0,
    snapshot_steps: tuple[int, ...] = (),
    task_names: list[str] | None = None,
    progress: bool = True,
) -> TuningRun:
    """Tune one prompt and prototype pair per task (queries[t], labels[:, t], train_users[t]) on cached prefixes.

    The T tasks' parameters are independent and the loss is their sum, so one batched pass per step is the same
    as T separate runs (Adam works per coordinate) at a T-th of the calls. The model is frozen during the run and
    its requires_grad flags are restored afterwards. prefixes: PrefixState of all users labels index (N rows).
    """
    T = len(queries)
    if labels.shape[1] != T or len(train_users) != T:
        raise ValueError(f"{T} queries, {labels.shape[1]} label columns and {len(train_users)} training sets")
    if len(prefixes.length) != len(labels):
        raise ValueError(f"prefixes of {len(prefixes.length)} users, labels of {len(labels)}")
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    was_training = model.training
    model.eval()
    try:
        vectors = torch.stack([init_prompt(model, n_tokens, seed + t) for t in range(T)]).requires_grad_(True)
        pair_queries = [q for q in queries for _ in range(batch_size)]  # task-major, as draw() orders the users
        rng = np.random.default_rng(seed)

        def draw():
            rows = np.stack(
                [
                    _balanced_batch(rng, np.asarray(train_users[t]), labels[train_users[t], t], batch_size)
                    for t in range(T)
                ]
            )  # (T, batch)
            y = torch.as_tensor(np.stack([labels[rows[t], t] for t in range(T)]), dtype=torch.long, device=model.device)
            return rows.reshape(-1), y

        with torch.no_grad():  # prototypes start at the class means of a first batch
            rows, y = draw()
            u = F.normalize(_suffix_pass(model, prefixes, pair_queries, rows, vectors, batch_size), dim=-1)
            prototypes = torch.stack([torch.stack([u[t][y[t] == k].mean(0) for k in (0, 1)]) for t in range(T)])
        prototypes.requires_grad_(True)
        opt = torch.optim.Adam([vectors, prototypes], lr=lr)
        losses, snapshots = np.zeros((steps, T), np.float32), {}
        names = task_names or [f"task{t}" for t in range(T)]
        for step in tqdm(
            range(1, steps + 1), desc=f"prompt tuning ({n_tokens} tokens)", disable=not progress, mininterval=2.0
        ):
            rows, y = draw()
            u = _suffix_pass(model, prefixes, pair_queries, rows, vectors, batch_size)
            per_task = torch.stack([prototype_loss(u[t], prototypes[t], y[t], tau) for t in range(T)])
            opt.zero_grad()
            per_task.sum().backward()
            opt.step()
            losses[step - 1] = per_task.detach().cpu().numpy()
            if step in snapshot_steps:
                snapshots[step] = PromptSet(
                    names, list(queries), vectors.detach().clone(), prototypes.detach().clone(), step
                )
        final = PromptSet(names, list(queries), vectors.detach().clone(), prototypes.detach().clone(), steps)
        return TuningRun(final, snapshots, losses)
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)
