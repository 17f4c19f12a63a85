"""Serving Q-Anchor embeddings from cached user prefixes (paper §3.2.4).

The query sits at the end of the sequence, so a user's prefix (hierarchical user tokens) is run through the LLM
once and its KV cache answers any number of queries, with or without a tuned soft prompt:

    prefixes = encode_prefixes(model, users)                  # PrefixState of every user, kept in memory
    emb = embed_users(model, prefixes, queries)              # (Q, N, emb_dim), unit norm
    emb = embed_users(model, users, queries, prompts)        # or stream: prefixes encoded chunk by chunk
    h = anchor_states_packed(model, *model.prefix(batch), queries)   # (B, Q, d): every query in ONE pass, no cache

`prompts` is one soft prompt (n, d) for every query or one per query (Q, n, d). The cached path repeats each
user's cache for the Q queries; the packed path lays the queries side by side after a single prefix with a
block attention mask and position ids that restart after the prefix, so no cache is copied at all.
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
    states = [model.encode_prefix(users.batch(list(range(i, min(i + batch_size, len(users))))).to(model.device))
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
                 else model.encode_prefix(source.batch(rows.tolist()).to(model.device)))
        u = F.normalize(model.project(model.anchor_states_cached(state, queries, prompts)), dim=-1)  # (B, Q, e)
        out[:, i:i + len(rows)] = u.transpose(0, 1).cpu().numpy()
    return out


def packed_layout(prefix_mask: torch.Tensor, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask and positions for `[prefix | q_1 | q_2 | ...]` in one pass, each query block seeing the prefix and itself.

    prefix_mask (B, Lp) bool; lengths: tokens of each query block. Returns an additive float mask (B, 1, T, T)
    (0 where attention is allowed, the dtype's minimum elsewhere: eager attention needs a float mask), position
    ids (B, T) that restart after the prefix for every block, and each block's last index (Q,)."""
    b, lp = prefix_mask.shape
    t = lp + sum(lengths)
    allowed = torch.zeros(b, t, t, dtype=torch.bool)
    causal = torch.ones(lp, lp, dtype=torch.bool).tril()
    allowed[:, :lp, :lp] = causal & prefix_mask.unsqueeze(1)
    n_prefix = prefix_mask.sum(1)
    pos = torch.zeros(b, t, dtype=torch.long)
    pos[:, :lp] = (prefix_mask.long().cumsum(1) - 1).clamp(min=0)
    last, start = [], lp
    for n in lengths:
        block = slice(start, start + n)
        allowed[:, block, :lp] = prefix_mask.unsqueeze(1)
        allowed[:, block, block] = torch.ones(n, n, dtype=torch.bool).tril()
        pos[:, block] = n_prefix.unsqueeze(1) + torch.arange(n)
        start += n
        last.append(start - 1)
    allowed |= torch.eye(t, dtype=torch.bool)        # a padded prefix slot sees itself (never read; avoids NaN)
    mask = torch.zeros(b, 1, t, t).masked_fill(~allowed.unsqueeze(1), torch.finfo(torch.float32).min)
    return mask, pos, torch.tensor(last)


def anchor_states_packed(model: QAnchor, prefix_tokens: torch.Tensor, prefix_mask: torch.Tensor,
                         queries: list[str], prompts: torch.Tensor | None = None) -> torch.Tensor:
    """<USER_EMB> hidden states (B, Q, d) of every user under every query from ONE forward pass, no KV cache:
    the queries are packed after the prefix (see packed_layout). prefix_tokens (B, Lp, d), prefix_mask (B, Lp)."""
    n_soft = 0 if prompts is None else prompts.shape[-2]
    suffix = model.suffix(list(queries), n_soft=n_soft)
    x = model.suffix_embeddings(suffix, prompts)                                   # (Q, Ls, d)
    lengths = (suffix.anchor + 1).tolist()                                         # each block ends at <USER_EMB>
    blocks = torch.cat([x[j, :n] for j, n in enumerate(lengths)])                  # (sum lengths, d)
    b = len(prefix_tokens)
    seq = torch.cat([prefix_tokens, blocks.unsqueeze(0).expand(b, -1, -1).to(prefix_tokens.dtype)], 1)
    mask, pos, last = packed_layout(prefix_mask.cpu(), lengths)
    hidden = model.backbone.decoder()(inputs_embeds=seq, attention_mask=mask.to(seq.device, seq.dtype),
                                      position_ids=pos.to(seq.device)).last_hidden_state
    return hidden[:, last]


def anchor_states_uncached(model: QAnchor, batch, queries: list[str], prompts: torch.Tensor | None = None
                           ) -> torch.Tensor:
    """The reference (B, Q, d): one plain forward over prefix + suffix per query, nothing reused."""
    out = []
    for j, q in enumerate(queries):
        prompt = None if prompts is None else (prompts[j] if prompts.dim() == 3 else prompts)
        suffix = model.suffix([q] * len(batch), n_soft=0 if prompt is None else len(prompt))
        hidden, lp = model.anchor_hidden(batch, suffix, prompt)
        out.append(hidden[torch.arange(len(batch)), lp + suffix.anchor.to(hidden.device)])
    return torch.stack(out, 1)


@torch.no_grad()
def representation_levels(model: QAnchor, users: UserTensors, queries: list[str], batch_size: int = 64,
                          progress: bool = True) -> dict:
    """Every user under every query, at three levels (to see where user information lives):

    'prefix' (n_users, d_llm): mean of the encoder's attended prefix tokens, before the LLM (query-free);
    'hidden' (n_queries, n_users, d_llm): the raw last hidden state at <USER_EMB>;
    'embedding' (n_queries, n_users, emb_dim): its projection, not normalised.
    """
    model.eval()
    n, d, e = len(users), model.backbone.hidden_size, model.settings["emb_dim"]
    out = {"prefix": np.zeros((n, d), np.float32), "hidden": np.zeros((len(queries), n, d), np.float32),
           "embedding": np.zeros((len(queries), n, e), np.float32)}
    for i in tqdm(range(0, n, batch_size), desc="embedding users", disable=not progress, mininterval=2.0):
        idx = list(range(i, min(i + batch_size, n)))
        batch = users.batch(idx)
        pre, mask = model.prefix(batch)
        out["prefix"][idx] = ((pre * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).numpy()
        h = model.anchor_states_cached(model.encode_prefix(batch), queries)     # (B, Q, d): prefix run once
        out["hidden"][:, idx] = h.transpose(0, 1).numpy()
        out["embedding"][:, idx] = model.project(h).transpose(0, 1).numpy()
    return out


def embed_queries(model: QAnchor, users: UserTensors, queries: list[str], batch_size: int = 64,
                  progress: bool = True) -> np.ndarray:
    """Unit-norm embeddings of every user under every query: (n_queries, n_users, emb_dim)."""
    emb = representation_levels(model, users, queries, batch_size, progress)["embedding"]
    return emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)
