"""Where the anchor looks: the share of `<USER_EMB>`'s attention that lands on each modality's prefix tokens
(paper Fig. 7).

    shares = modality_attention(model, prefixes, queries, prompts)       # (Q, 1 + M): user, then each modality
    names = categories(model)                                            # ('user', 'bill', ..., 'tabular')

Attention weights need the eager implementation (SDPA does not return them); it is switched on for the call and
restored after. Each modality's share counts its modality token and its event tokens; padded event slots get
no attention (masked). The shares are of the attention that lands on the prefix, averaged over heads, layers and
users, so they sum to 1 per query; the rest of the attention goes to the suffix (query, soft prompt, itself).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from . import metrics
from .layout import modality_of_position
from .model import PrefixState, QAnchor


def categories(model: QAnchor) -> tuple[str, ...]:
    """What attention is split over: the user token, then the model's modalities (spec.all_modalities)."""
    return ("user",) + model.config.spec.all_modalities


@contextmanager
def eager_attention(model: QAnchor):
    """Temporarily run the backbone with eager attention, which can return attention weights."""
    lm = model.backbone.base_lm()
    before = lm.config._attn_implementation
    lm.set_attn_implementation("eager")
    try:
        yield
    finally:
        lm.set_attn_implementation(before)


@torch.no_grad()
def modality_attention(
    model: QAnchor,
    prefixes: PrefixState,
    queries: list[str],
    prompts: torch.Tensor | None = None,
    batch_size: int = 64,
    per_layer: bool = False,
    per_user: bool = False,
) -> np.ndarray:
    """Share of <USER_EMB>'s prefix attention per category (`categories(model)`: user token, then modalities).

    Returns (Q, C), or (n_layers, Q, C) with `per_layer`, or (Q, N, C) with `per_user`; averaged over heads and
    users (and layers)."""
    model.eval()
    owner = np.array(modality_of_position(model.config.spec, model.config.tabular_tokens))
    lp = len(owner)
    onehot = torch.tensor(np.stack([owner == c for c in categories(model)], 1), dtype=torch.float32)  # (Lp, C)
    n = len(prefixes.length)
    parts = []
    with eager_attention(model):
        for i in range(0, n, batch_size):
            state = prefixes.select(torch.arange(i, min(i + batch_size, n)))
            _, attn = model.anchor_states_cached(state, queries, prompts, output_attentions=True)
            on_prefix = attn[..., :lp].mean(3)  # (layers, B, Q, Lp): head mean
            on_prefix = on_prefix / on_prefix.sum(-1, keepdim=True)
            parts.append((on_prefix @ onehot).numpy())  # (layers, B, Q, C)
    shares = np.concatenate(parts, 1)  # (layers, N, Q, C)
    if per_user:
        return shares.mean(0).transpose(1, 0, 2)
    return shares.mean(1) if per_layer else shares.mean((0, 1))


def evidence_shift(
    before: np.ndarray, after: np.ndarray, evidence: list[list[int]], n_boot: int = 200, seed: int = 0
) -> list[list[float]]:
    """Per task, the task-specific part of the attention shift on its evidence categories, with an interval over
    users: [d, lo, hi] in share points (claims.count_claim reads them).

    before, after (T, N, C): each user's shares under task t's query without and with its tuned prompt
    (modality_attention with per_user); evidence[t]: the category columns of task t's evidence. A user's
    task-specific shift is the shift minus that user's mean shift over the T tasks (a shift every prompt shares
    says nothing about the task); d is its sum over the evidence columns, averaged over users, and the interval
    comes from resampling the users (the same resamples for every task)."""
    if before.shape != after.shape or before.ndim != 3 or len(evidence) != len(before):
        raise ValueError(f"need before and after (T, N, C) and T evidence lists: {before.shape}, {after.shape}")
    shift = after - before
    specific = shift - shift.mean(0, keepdims=True)  # (T, N, C)
    per_user = np.stack([specific[t][:, cols].sum(1) for t, cols in enumerate(evidence)])  # (T, N)
    rng = np.random.default_rng(seed)
    resamples = rng.integers(0, per_user.shape[1], size=(n_boot, per_user.shape[1]))
    out = []
    for t in range(len(per_user)):
        d = float(per_user[t].mean())
        out.append([d, *metrics.interval(per_user[t][resamples].mean(1), d)])
    return out
