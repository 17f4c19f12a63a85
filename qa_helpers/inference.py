"""Serving Q-Anchor embeddings from cached user prefixes (paper §3.2.4).

The query sits at the end of the sequence, so a user's prefix (hierarchical user tokens) is run through the LLM
once and its KV cache answers any number of queries, with or without a tuned soft prompt:

    prefixes = encode_prefixes(model, users)                  # PrefixState of every user, kept in memory
    emb = embed_users(model, prefixes, queries)              # (Q, N, emb_dim), unit norm
    emb = embed_users(model, users, queries, prompts)        # or stream: prefixes encoded chunk by chunk

`prompts` is one soft prompt (n, d) for every query or one per query (Q, n, d).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .model import PrefixState, QAnchor
from .user_tensors import UserTensors


@torch.no_grad()
def encode_prefixes(model: QAnchor, users: UserTensors, batch_size: int = 128, progress: bool = False) -> PrefixState:
    """Every user's prefix run through the LLM once: one PrefixState with len(users) rows.

    Memory: n_layers x 2 x (N, n_kv_heads, Lp, head_dim) floats (`prefix_bytes`)."""
    model.eval()
    states = [model.encode_prefix(users.batch(list(range(i, min(i + batch_size, len(users))))))
              for i in tqdm(range(0, len(users), batch_size), desc="encoding prefixes", disable=not progress,
                            mininterval=2.0)]
    return concat_prefixes(states)


def concat_prefixes(states: list[PrefixState]) -> PrefixState:
    """Stack PrefixStates of equal prefix length along the user axis."""
    from transformers import DynamicCache

    layers = zip(*[s.cache.layers for s in states])
    cache = DynamicCache(ddp_cache_data=[(torch.cat([l.keys for l in ls]), torch.cat([l.values for l in ls]))
                                         for ls in layers])
    return PrefixState(cache, torch.cat([s.mask for s in states]), torch.cat([s.length for s in states]))


def prefix_bytes(state: PrefixState) -> int:
    """Bytes held by a PrefixState's KV cache."""
    return sum(t.numel() * t.element_size() for layer in state.cache.layers for t in (layer.keys, layer.values))


@torch.no_grad()
def embed_users(model: QAnchor, source: UserTensors | PrefixState, queries: list[str],
                prompts: torch.Tensor | None = None, batch_size: int = 128, progress: bool = False) -> np.ndarray:
    """Unit-norm embeddings of every user under every query, (Q, N, emb_dim).

    `source` is either the users (each chunk's prefixes encoded here) or their already encoded prefixes."""
    model.eval()
    n = len(source.length) if isinstance(source, PrefixState) else len(source)
    out = np.zeros((len(queries), n, model.settings["emb_dim"]), np.float32)
    for i in tqdm(range(0, n, batch_size), desc="embedding users", disable=not progress, mininterval=2.0):
        rows = torch.arange(i, min(i + batch_size, n))
        state = (source.select(rows) if isinstance(source, PrefixState)
                 else model.encode_prefix(source.batch(rows.tolist())))
        u = F.normalize(model.project(model.anchor_states_cached(state, queries, prompts)), dim=-1)  # (B, Q, e)
        out[:, i:i + len(rows)] = u.transpose(0, 1).numpy()
    return out
