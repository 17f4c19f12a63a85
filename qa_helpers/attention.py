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
) -> np.ndarray:
    """Share of <USER_EMB>'s prefix attention per category (`categories(model)`: user token, then modalities).

    Returns (Q, C), or (n_layers, Q, C) with `per_layer`; averaged over heads and users (and layers)."""
    model.eval()
    owner = np.array(modality_of_position(model.config.spec, model.config.tabular_tokens))
    lp = len(owner)
    onehot = torch.tensor(np.stack([owner == c for c in categories(model)], 1), dtype=torch.float32)  # (Lp, C)
    n = len(prefixes.length)
    total = None
    with eager_attention(model):
        for i in range(0, n, batch_size):
            state = prefixes.select(torch.arange(i, min(i + batch_size, n)))
            _, attn = model.anchor_states_cached(state, queries, prompts, output_attentions=True)
            on_prefix = attn[..., :lp].mean(3)  # (layers, B, Q, Lp): head mean
            on_prefix = on_prefix / on_prefix.sum(-1, keepdim=True)
            part = (on_prefix @ onehot).sum(1)  # (layers, Q, C)
            total = part if total is None else total + part
    shares = (total / n).numpy()
    return shares if per_layer else shares.mean(0)
