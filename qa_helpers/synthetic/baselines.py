"""Baselines of notebook 04 (the paper's Table 2 rows, rebuilt for our world).

- `handcrafted_features`: per-modality counts, catalogue-entry counts, part-of-day histograms, amount statistics,
  tabular columns; fed to gradient-boosted trees (the production-style "Business SOTA"). On all 90 days of
  events, or (`capped_records`) on only the K_m most recent events per modality that every learned model sees.
- `serialize`: a user's profile as a short natural-language description, for general text models.
- `text_embeddings`: all-MiniLM-L6-v2 on that description, optionally with the task query in front.
- `llm_last_token`: a general LLM as is (SmolLM2-135M-Instruct): last hidden state of `profile + query`, the
  profile encoded once per user and its KV cache shared by all queries.
- `SequenceContrastive`: no LLM: mean-pooled event vectors per modality through an MLP, trained on UserU with the
  same contrastive loss against a bag-of-tokens answer tower; a static (query-free) user embedding.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..method import losses
from ..method.backbones import kv_cache
from ..method.layout import pad_right
from ..method.user_tensors import UserTensors
from ..useru.facts import daypart
from . import catalog
from .features import entry_counts, tabular_matrix
from .useru_catalogue import item_name

DAYPARTS = ("morning", "afternoon", "evening", "night")


def handcrafted_features(records: list[dict], n_tabular: int, interest_facets: bool = False) -> np.ndarray:
    """(n_users, d) features a production team would compute, without cross-field conjunctions; on world version 2
    (`interest_facets`) interest events count per category field (see features.entry_counts)."""
    cols = []
    for m in catalog.EVENT_MODALITIES:
        counts, _ = entry_counts(records, m, interest_facets)
        cols += [counts, counts.sum(1, keepdims=True)]
        parts = np.zeros((len(records), len(DAYPARTS) + 1))
        for u, rec in enumerate(records):
            evs = rec.get("events", {}).get(m, [])
            for ev in evs:
                parts[u, DAYPARTS.index(daypart(ev["hour"]))] += 1
            parts[u, -1] = len({ev["day"] for ev in evs})  # active days
        cols.append(parts)
    amounts = np.zeros((len(records), 4))
    for u, rec in enumerate(records):
        a = np.log1p([ev["amount"] for ev in rec.get("events", {}).get("bill", [])])
        if len(a):
            amounts[u] = [a.sum(), a.mean(), a.max(), a.std()]
    tab, present = tabular_matrix(records, n_tabular)
    return np.column_stack(cols + [amounts, tab, present])


def serialize(record: dict, top: int = 2) -> str:
    """A short description of a profile: per modality its count and most frequent items, then tabular values."""
    labels = {"bill": "Payments", "mini": "Mini programs", "spm": "Pages", "app": "Apps", "search": "Searches"}
    parts = []
    for m in catalog.EVENT_MODALITIES:
        evs = record.get("events", {}).get(m, [])
        if not evs:
            continue
        counts = Counter(item_name(m, ev["text"]) for ev in evs)
        items = ", ".join(f"{name} x{n}" for name, n in counts.most_common(top))
        extra = f", {sum(ev['amount'] for ev in evs):.0f} yuan in total" if m == "bill" else ""
        parts.append(f"{labels[m]}: {len(evs)} ({items}{extra}).")
    if record.get("tabular") is not None:
        parts.append("Profile: " + ", ".join(f"{v:.1f}" for v in record["tabular"][:8]) + ".")
    return " ".join(parts)


def text_embeddings(records: list[dict], encoder, query: str | None = None, batch_size: int = 64) -> np.ndarray:
    """(n_users, d) general text embeddings of the serialised profiles, with `query` prepended if given."""
    texts = [(f"{query} " if query else "") + serialize(r) for r in records]
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths per batch: less padding
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for i in tqdm(range(0, len(texts), batch_size), desc="text embeddings", mininterval=2.0):
        idx = order[i : i + batch_size]
        out[idx] = encoder.encode([texts[j] for j in idx])
    return out


@torch.no_grad()
def llm_last_token(records: list[dict], backbone, queries: list[str], max_profile_tokens: int = 128) -> np.ndarray:
    """(n_users, n_queries, hidden) last hidden state of `profile Question: query` from an LLM as is.

    The profile is encoded once per user; its KV cache is expanded (views, no copy) over all queries, which are
    right-padded so each query's last real token is read.
    """
    tok, decoder = backbone.tokenizer, backbone.decoder().eval()
    q_ids = tok([f" Question: {q} Answer:" for q in queries], add_special_tokens=False)["input_ids"]
    q, q_mask = pad_right(q_ids, tok.pad_token_id)
    q_mask = q_mask.long()
    last = q_mask.sum(1) - 1
    out = np.zeros((len(records), len(queries), backbone.hidden_size), dtype=np.float32)
    for u, rec in enumerate(tqdm(records, desc="LLM last token", mininterval=2.0)):
        p = tok("User profile. " + serialize(rec), add_special_tokens=False, return_tensors="pt")["input_ids"]
        p = p[:, :max_profile_tokens]
        cache = decoder(input_ids=p, use_cache=True).cache
        n = len(queries)
        shared = kv_cache(
            [(layer.keys.expand(n, -1, -1, -1), layer.values.expand(n, -1, -1, -1)) for layer in cache.layers]
        )
        mask = torch.cat([torch.ones(n, p.shape[1], dtype=torch.long), q_mask], 1)
        hidden = decoder(input_ids=q, attention_mask=mask, cache=shared).last_hidden_state
        out[u] = hidden[torch.arange(n), last].numpy()
    return out


class SequenceContrastive(nn.Module):
    """A user tower over pooled event vectors and an answer tower over token embeddings, trained contrastively."""

    def __init__(self, d_user: int, vocab_size: int, emb_dim: int, hidden: int = 256):
        super().__init__()
        self.user = nn.Sequential(
            nn.LayerNorm(d_user), nn.Linear(d_user, hidden), nn.GELU(), nn.Linear(hidden, emb_dim)
        )
        self.tokens = nn.EmbeddingBag(vocab_size, hidden, mode="mean")
        self.answer = nn.Sequential(nn.GELU(), nn.Linear(hidden, emb_dim))

    @staticmethod
    def user_features(users: UserTensors) -> torch.Tensor:
        """(n_users, 5 * (d_enc + 1) + F + 1): per modality the mean event vector and log count; tabular."""
        cols = []
        for m in catalog.EVENT_MODALITIES:
            mask = users.mask[m].unsqueeze(-1).float()
            vecs = users.table.vectors[users.text_ids[m]]
            cols += [(vecs * mask).sum(1) / mask.sum(1).clamp(min=1), torch.log1p(mask.sum(1))]
        tab = users.tabular
        tab = (tab - tab.mean(0)) / tab.std(0).clamp(min=1e-6)
        return torch.cat(cols + [tab * users.tabular_mask.unsqueeze(-1), users.tabular_mask.float().unsqueeze(-1)], 1)

    def encode_answers(self, token_ids: list[list[int]]) -> torch.Tensor:
        flat = torch.tensor([t for ids in token_ids for t in ids], dtype=torch.long)
        offsets = torch.tensor([0] + list(np.cumsum([len(ids) for ids in token_ids])[:-1]), dtype=torch.long)
        return self.answer(self.tokens(flat, offsets))


def sequence_embeddings(
    pretrain_users: UserTensors,
    train_pairs: list[dict],
    users: UserTensors,
    tokenizer,
    sampler,
    emb_dim: int,
    steps: int,
    seed: int,
) -> tuple[np.ndarray, list[float]]:
    """The no-LLM baseline at Q-Anchor's budget: trained on Q-Anchor's pairs with its batches (`sampler`, a
    batches.PairSampler) for its `steps`, with the tiny backbone's tokenizer for its answer tower; returns the
    static embeddings of `users` (N, emb_dim) and the training losses. `seed`: its initialisation."""
    model, history = train_sequence_contrastive(
        pretrain_users, train_pairs, tokenizer, emb_dim, steps=steps, seed=seed, sampler=sampler
    )
    with torch.no_grad():
        return model.user(SequenceContrastive.user_features(users)).numpy(), history


def train_sequence_contrastive(
    users: UserTensors,
    pairs: list[dict],
    tokenizer,
    emb_dim: int,
    steps: int = 300,
    batch_size: int = 256,
    lr: float = 2e-3,
    tau: float = 0.07,
    margin: float = 0.1,
    seed: int = 0,
    sampler=None,
) -> tuple[SequenceContrastive, list[float]]:
    """Train the no-LLM baseline on UserU pairs with the code-variant contrastive loss (duplicate answers never
    negatives, as for Q-Anchor); returns it and its losses. `sampler(step)` gives each batch's pair indices (for
    example Q-Anchor's batches.PairSampler, so both see the same batches); without it, `batch_size` pairs are
    drawn uniformly at every step."""
    torch.manual_seed(seed)
    feats = SequenceContrastive.user_features(users)
    row = {uid: i for i, uid in enumerate(users.user_ids)}
    answers = [
        ids or [tokenizer.eos_token_id]
        for ids in tokenizer([p["answer"] for p in pairs], add_special_tokens=False)["input_ids"]
    ]
    model = SequenceContrastive(feats.shape[1], len(tokenizer), emb_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    history = []
    for step in tqdm(range(steps), desc="sequence-contrastive baseline", mininterval=2.0):
        idx = (
            sampler(step)
            if sampler is not None
            else rng.choice(len(pairs), size=min(batch_size, len(pairs)), replace=False)
        )
        u = model.user(feats[[row[pairs[i]["user_id"]] for i in idx]])
        v = model.encode_answers([answers[i] for i in idx])
        loss, _ = losses.contrastive_loss(
            u, v, tau, margin, variant="code", duplicates=losses.duplicate_answers([pairs[i]["answer"] for i in idx])
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return model.eval(), history
