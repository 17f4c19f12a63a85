"""Q-Anchor embeddings, one loop for every consumer (paper §3.2.4 for the serving paths): `embed`.

    emb = embed(model, users, queries)                       # (N, Q, emb_dim), unit norm: every user x every query
    emb = embed(model, records, queries)                     # the same from user records (validated, texts encoded)
    emb = embed(model, prefixes, queries, prompts)           # the same from prefixes encoded once (encode_prefixes)
    emb = embed(model, users, queries_per_user, pairs=True)  # (N, emb_dim): user i under queries[i]
    emb = embed(model, prefixes, queries, pairs=True, rows=r)  # (P, emb_dim): user r[k] under queries[k]
    h = embed(model, users, queries, level="hidden")         # (N, Q, d): the read-out states before the head
    h = anchor_states(model, batch, queries, path="packed")  # (B, Q, d) for one batch, with gradients

`path` says how the LLM is run; all three give the same numbers (tested):

- cached: the user's prefix (hierarchical user tokens) runs once and its KV cache serves every query;
- packed: the queries are laid side by side after a single prefix with a block attention mask and position ids
  that restart after the prefix, one forward pass and no cache copied;
- uncached: one plain forward over prefix + suffix per query, nothing reused (QAnchor.forward: the reference).

`prompts` is one soft prompt (n, d) for every query, or one per query (Q, n, d) (with `pairs`: one per user).

Every embedding this package returns or writes is laid out (N users, Q queries, e): `embed`, `representation_levels`,
the files `python -m qa_helpers embed` writes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import sentence_encoder
from .backbones import kv_cache
from .model import PrefixState, QAnchor, prefix_summary
from .schema import check_records
from .user_tensors import TextTable, UserBatch, UserTensors

PATHS = ("cached", "packed", "uncached")
LEVELS = ("embedding", "hidden")


@torch.no_grad()
def encode_prefixes(model: QAnchor, users: UserTensors, batch_size: int = 128, progress: bool = False) -> PrefixState:
    """Every user's prefix run through the LLM once: one PrefixState with len(users) rows.

    Memory: n_layers x 2 x (N, n_kv_heads, Lp, head_dim) floats (`prefix_bytes`)."""
    model.eval()
    states = [
        model.encode_prefix(users.batch(list(range(i, min(i + batch_size, len(users))))).to(model.device))
        for i in tqdm(range(0, len(users), batch_size), desc="encoding prefixes", disable=not progress, mininterval=2.0)
    ]
    return _concat_prefixes(states)


def _concat_prefixes(states: list[PrefixState]) -> PrefixState:
    """Stack PrefixStates of equal prefix length along the user axis."""
    layers = zip(*[s.cache.layers for s in states])
    cache = kv_cache(
        [(torch.cat([layer.keys for layer in ls]), torch.cat([layer.values for layer in ls])) for ls in layers]
    )
    return PrefixState(
        cache,
        torch.cat([s.mask for s in states]),
        torch.cat([s.length for s in states]),
        torch.cat([s.summary for s in states]),
    )


def prefix_bytes(state: PrefixState) -> int:
    """Bytes held by a PrefixState's KV cache."""
    return sum(t.numel() * t.element_size() for layer in state.cache.layers for t in (layer.keys, layer.values))


def anchor_states(
    model: QAnchor,
    users: UserBatch | PrefixState,
    queries: list[str],
    prompts: torch.Tensor | None = None,
    path: str = "cached",
    pairs: bool = False,
) -> torch.Tensor:
    """Read-out states at <USER_EMB> (model.read_out), with gradients: (B, Q, d) for every user of the batch under
    every query, or (B, d) with `pairs` (user i under queries[i]). `users` is a batch, or its encoded prefixes
    (cached path)."""
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; use one of {PATHS}")
    if isinstance(users, PrefixState) and path != "cached":
        raise ValueError(f"encoded prefixes serve the cached path only, not {path!r}")
    if pairs:
        if len(queries) != len(users.length if isinstance(users, PrefixState) else users):
            raise ValueError(f"pairs need one query per user: {len(queries)} queries")
        if path == "packed":
            raise ValueError("the packed path lays several queries after one prefix; pairs have one each")
        if path == "uncached":
            return model(users, list(queries), prompts, level="hidden")
        suffix = model.suffix(list(queries), n_soft=0 if prompts is None else prompts.shape[-2])
        state = users if isinstance(users, PrefixState) else model.encode_prefix(users)
        return model.suffix_states(state, suffix, model.suffix_embeddings(suffix, prompts))
    if path == "cached":
        state = users if isinstance(users, PrefixState) else model.encode_prefix(users)
        return model.anchor_states_cached(state, queries, prompts)
    if path == "packed":
        return anchor_states_packed(model, *model.encoder(users), queries, prompts)
    return _anchor_states_uncached(model, users, queries, prompts)


@torch.no_grad()
def embed(
    model: QAnchor,
    source: list[dict] | UserTensors | PrefixState,
    queries: list[str],
    prompts: torch.Tensor | None = None,
    *,
    pairs: bool = False,
    rows: list[int] | None = None,
    path: str = "cached",
    level: str = "embedding",
    batch_size: int = 128,
    progress: bool = False,
) -> np.ndarray:
    """Every user of `source` under every query, (N, Q, emb_dim) unit-norm embeddings. With `pairs`, one query per
    user instead, (P, emb_dim): user rows[k] of `source` under queries[k] (rows default to 0..N-1; prompts, if one
    per pair, (P, n, d)). level='hidden' gives the read-out states before the head instead ((N, Q, d) or (P, d)).

    `source` is the users as tensors (each chunk's prefixes encoded here), their records (validated against the
    model's spec; their event texts encoded by the model's sentence encoder, through its cache_dir's text cache if
    it has one, else in memory), or their already encoded prefixes (cached path); `batch_size` users (or pairs) at
    a time, in eval mode."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {LEVELS}")
    if isinstance(queries, str):
        raise TypeError(f"queries must be a list of strings, not one string: [{queries!r:.60}]")
    if not queries and not pairs:
        raise ValueError("no queries to embed under")
    if rows is not None and not pairs:
        raise ValueError("rows pick a user per query: they need pairs=True")
    if isinstance(source, list):
        check_records(source, model.config.spec)
        cache = sentence_encoder.text_cache(model.config.text_encoder, model.cache_dir)
        source = UserTensors.build(source, TextTable.build(source, cache), model.config.spec)
    n = len(source.length) if isinstance(source, PrefixState) else len(source)
    if pairs:
        rows = list(range(n)) if rows is None else list(rows)
        if len(queries) != len(rows):
            raise ValueError(f"pairs need one query per user row: {len(queries)} queries for {len(rows)} rows")
        if prompts is not None and prompts.dim() == 3 and len(prompts) != len(rows):
            raise ValueError(f"{len(prompts)} prompts for {len(rows)} pairs")
        if rows and not 0 <= min(rows) <= max(rows) < n:
            raise ValueError(f"rows must lie in [0, {n})")
    model.eval()
    width = model.config.emb_dim if level == "embedding" else model.backbone.hidden_size
    n_out = len(rows) if pairs else n
    out = np.zeros((n_out, width) if pairs else (n, len(queries), width), np.float32)
    for i in tqdm(range(0, n_out, batch_size), desc="embedding users", disable=not progress, mininterval=2.0):
        chunk = torch.arange(i, min(i + batch_size, n_out))
        users = torch.as_tensor([rows[k] for k in chunk]) if pairs else chunk
        part = source.select(users) if isinstance(source, PrefixState) else source.batch(users).to(model.device)
        chunk_queries, chunk_prompts = queries, prompts
        if pairs:
            chunk_queries = queries[i : i + len(chunk)]
            if prompts is not None and prompts.dim() == 3:
                chunk_prompts = prompts[i : i + len(chunk)]
        h = anchor_states(model, part, chunk_queries, chunk_prompts, path, pairs)  # (B, Q, d) or (B, d)
        if level == "embedding":
            h = F.normalize(model.head(h), dim=-1)
        out[i : i + len(chunk)] = h.cpu().numpy()
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
    allowed |= torch.eye(t, dtype=torch.bool)  # a padded prefix slot sees itself (never read; avoids NaN)
    mask = torch.zeros(b, 1, t, t).masked_fill(~allowed.unsqueeze(1), torch.finfo(torch.float32).min)
    return mask, pos, torch.tensor(last)


def anchor_states_packed(
    model: QAnchor,
    prefix_tokens: torch.Tensor,
    prefix_mask: torch.Tensor,
    queries: list[str],
    prompts: torch.Tensor | None = None,
) -> torch.Tensor:
    """Read-out states at <USER_EMB> (B, Q, d) of every user under every query from ONE forward pass, no KV cache:
    the queries are packed after the prefix (see packed_layout). prefix_tokens (B, Lp, d), prefix_mask (B, Lp)."""
    n_soft = 0 if prompts is None else prompts.shape[-2]
    suffix = model.suffix(list(queries), n_soft=n_soft)
    x = model.suffix_embeddings(suffix, prompts)  # (Q, Ls, d)
    lengths = (suffix.anchor + 1).tolist()  # each block ends at <USER_EMB>
    blocks = torch.cat([x[j, :n] for j, n in enumerate(lengths)])  # (sum lengths, d)
    b = len(prefix_tokens)
    seq = torch.cat([prefix_tokens, blocks.unsqueeze(0).expand(b, -1, -1).to(prefix_tokens.dtype)], 1)
    mask, pos, last = packed_layout(prefix_mask.cpu(), lengths)
    hidden = model.backbone.decoder()(
        inputs_embeds=seq, attention_mask=mask.to(seq.device, seq.dtype), position_ids=pos.to(seq.device)
    ).last_hidden_state
    summary = prefix_summary(hidden[:, : prefix_mask.shape[1]], prefix_mask)  # (B, d)
    return model.read_out(hidden[:, last], summary.unsqueeze(1))


def _anchor_states_uncached(
    model: QAnchor, batch, queries: list[str], prompts: torch.Tensor | None = None
) -> torch.Tensor:
    """The reference (B, Q, d): one plain forward over prefix + suffix per query, nothing reused."""
    out = []
    for j, q in enumerate(queries):
        prompt = None if prompts is None else (prompts[j] if prompts.dim() == 3 else prompts)
        out.append(model(batch, [q] * len(batch), prompt, level="hidden"))
    return torch.stack(out, 1)


@torch.no_grad()
def representation_levels(
    model: QAnchor, users: UserTensors, queries: list[str], batch_size: int = 64, progress: bool = True
) -> dict:
    """Every user under every query, at three levels (to see where user information lives):

    'prefix' (n_users, d_llm): mean of the encoder's attended prefix tokens, before the LLM (query-free);
    'hidden' (n_users, n_queries, d_llm): the read-out state at <USER_EMB> (model.read_out), before the head;
    'embedding' (n_users, n_queries, emb_dim): its projection, not normalised;
    'unit' (n_users, n_queries, emb_dim): the embedding normalised, as `embed` returns it.
    """
    # the head runs over query-major rows, as it always has, so the numbers do not move with the layout
    hidden = query_major(embed(model, users, queries, level="hidden", batch_size=batch_size, progress=progress))
    prefix = np.zeros((len(users), model.backbone.hidden_size), np.float32)
    for i in range(0, len(users), batch_size):
        pre, mask = model.encoder(users.batch(list(range(i, min(i + batch_size, len(users))))).to(model.device))
        prefix[i : i + len(pre)] = ((pre * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).cpu().numpy()
    embedding = model.head(torch.from_numpy(hidden).to(model.device))
    unit = F.normalize(embedding, dim=-1)
    return {"prefix": prefix} | {
        name: query_major(x)
        for name, x in (("hidden", hidden), ("embedding", embedding.cpu().numpy()), ("unit", unit.cpu().numpy()))
    }


def query_major(emb: np.ndarray) -> np.ndarray:
    """(A, B, e) -> (B, A, e), C-contiguous: between the public (N, Q, e) layout and the query-major rows some
    computations keep, so that their numbers do not depend on the layout."""
    return np.ascontiguousarray(np.asarray(emb).transpose(1, 0, 2))
