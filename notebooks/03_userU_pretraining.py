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
# # 03 · UserU pretraining: dual towers, margin-masked contrastive loss and next-token prediction (paper §3.2.2, Eq. 3-6)
#
# The anchor tower reads `[user tokens] Query: q <USER_EMB>` and takes the hidden state at `<USER_EMB>`; the
# semantic tower reads the answer text alone and takes its last token. Both share the LLM and one projection
# head. A contrastive loss pulls each user-query embedding towards its answer and away from the other answers,
# queries and users in the batch; a next-token loss makes the anchor pass also generate the answer.
#
# A pretraining task can be solved without learning the user: if the question gives the answer away, or if the
# other answers in a batch are about other topics, recognising the question is enough. This chapter shows how our
# recipe closes those shortcuts and measures, on held-out pretraining users and without any downstream label,
# whether the embedding carries the user, the query, or both.
#
# **In:** the world and UserU pairs of notebook 01. **Out:** the pretrained model (cached under
# `artifacts/<profile>/qanchor-<key>/`, loaded by the later notebooks), its losses and diagnostics over training,
# the record of every recipe tried; one figure and `metrics_03_userU_pretraining.json`.

# %% [markdown]
# **You need:** chapters 01-02; softmax and cross-entropy; the idea of a contrastive loss (see [InfoNCE](GLOSSARY.md#contrastive-loss) in the glossary).
#
# **You will learn:** Eq. 3-6: the dual-tower contrastive loss with its margin mask and the next-token term, computed by hand on a batch of four; how to tell, without any downstream label, whether an embedding carries the user or only the question.
#
# **Run time:** the set-up cell prints how long this notebook took on its last recorded run, per profile (`smoke` in `make test`, `default` in `make reproduce`, `full` on a GPU).

# %% [markdown]
# ## 0 Setup

# %% tags=["parameters"]
PROFILE = "default"
SEED = None  # None: the profile's seed

# %%
import resource
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import display

from qa_helpers.method import diagnostics, losses
from qa_helpers.method.batches import PairSampler, split_pairs
from qa_helpers.series import artifacts, chapter, config, pipeline, plots, readings, recipes
from qa_helpers.series.outputs import save_figure
from qa_helpers.synthetic import baselines, catalog, world
from qa_helpers.synthetic.useru_catalogue import TOPIC_BY_KEY, catalogue_facets
from qa_helpers.useru.facts import facet_shares
from qa_helpers.useru.visibility import answer_visibility, fact_reader_recall

ch = chapter.setup("03_userU_pretraining", PROFILE, SEED)
cfg, rec, w, pairs = ch.cfg, ch.rec, ch.world, ch.pairs
train_pairs, eval_pairs = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
print(
    f"{len(pairs):,} UserU pairs: {len(train_pairs):,} to train on, {len(eval_pairs):,} held out "
    f"({len({p['user_id'] for p in eval_pairs})} whole users, for the diagnostics)"
)

# %% [markdown]
# ## 1 What a pair asks, and what it answers
#
# > "Is the user price-conscious?" -> "The user demonstrates steady purchasing activity across various product
# > categories, often timing purchases around sales events..." (paper, Fig. 2)
#
# The paper's question carries no answer; the answer describes the user. Ours do the same (UserU version 2, see
# the datasheet's *Changes*): a question names a topic, never the user's item, and every user who has the topic
# is asked the same question; the answer says where the user stands against the other users, when, with what,
# growing or fading. Each topic has three wordings, drawn at random per pair, and a fourth, held-out wording with
# other words for the domain that is never trained on: the diagnostics ask it to see whether the model understands
# a question it has not seen.

# %%
topic = TOPIC_BY_KEY["takeout/timing"]
display(
    pd.Series(
        {**{f"trained wording {i}": q for i, q in enumerate(topic.wordings)}, "held-out wording": topic.held_out},
        name=topic.key,
    ).to_frame()
)
same_topic = [p for p in train_pairs if p["topic"] == topic.key][:4]
pd.DataFrame(same_topic)[["user_id", "query", "answer"]]

# %% [markdown]
# ## 2 The objective
#
# Write $u_i = u_{i,q}$ for user $i$'s embedding under its question (the anchor tower) and $v_i = v_{a_i}$ for
# its answer's (the semantic tower), $\mathrm{sim}$ for cosine similarity and $\tau$ for the temperature. The
# contrastive loss (paper Eq. 3-5) is InfoNCE over the batch of $B$ pairs:
#
# $$\mathcal{L}_{cl} = -\frac{1}{B}\sum_{i=1}^{B} \log \frac{\exp(s_i/\tau)}{Z_i}, \qquad s_i = \mathrm{sim}(u_i, v_i),$$
#
# where the normaliser sums the positive and three blocks of negatives: other answers (query-to-doc),
# other anchors (query-to-query) and, for the answer, other answers (doc-to-doc),
#
# $$Z_i = e^{s_i/\tau} + \sum_{j \ne i} m_{ij}\left[e^{\mathrm{sim}(u_i, v_j)/\tau} + e^{\mathrm{sim}(u_i, u_j)/\tau} + e^{\mathrm{sim}(v_i, v_j)/\tau}\right].$$
#
# Some "negatives" are not negative at all: another user may honestly deserve the same answer. The margin mask
# drops a pair $j$ that looks more like a positive than the positive does:
#
# $$m_{ij} = 0 \text{ if } \exists\, x \in \{u_j, v_j\}: \mathrm{sim}(u_i, x) > s_i + c_{margin}, \quad m_{ij} = 1 \text{ otherwise}.$$
#
# The reference code reads this differently: blocks query-to-query, query-to-doc and doc-to-query (no doc-to-doc),
# each with its own mask, $\mathbb{1}[\mathrm{sim} \le s_i + c_{margin}]$ entry by entry. `losses.py` has both,
# and a test checks each against an explicit loop. One more rule, ours: an answer that is word for word the
# anchor's own answer is never a negative (the margin mask cannot see it: an identical answer is never *more*
# similar than the positive).
#
# The anchor tower also writes the answer. The next-token loss (Eq. 6) is the usual language-model loss on the
# answer's $T$ tokens, read after the user tokens $e_i$ and the question $q_i$,
#
# $$\mathcal{L}_{ntp} = -\sum_{t=1}^{T} \log P(y_t \mid y_{<t}, e_i, q_i),$$
#
# averaged over the supervised tokens (`losses.ntp_loss`), and the objective is their sum,
# $\mathcal{L} = \mathcal{L}_{cl} + \mathcal{L}_{ntp}$ (`losses.total_loss`; the paper gives no weights).
#
# **The loss by hand, on a batch of 4.** Four anchors and their answers in three dimensions, each answer a noisy
# copy of its anchor; every quantity of Eq. 3-5 in turn, then the package's `contrastive_loss` on the same tensors.

# %%
torch.manual_seed(0)
u_toy = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)  # (4, 3) anchors u_i
v_toy = torch.nn.functional.normalize(u_toy + 0.8 * torch.randn(4, 3), dim=-1)  # (4, 3) answers v_i
tau, margin = cfg.tau, cfg.margin
qd, qq, dd = u_toy @ v_toy.T, u_toy @ u_toy.T, v_toy @ v_toy.T  # (4, 4) cosine blocks sim(u_i, v_j), ...
pos = qd.diag()  # (4,) s_i
not_self = ~torch.eye(4, dtype=torch.bool)
mask = not_self & (qd <= pos[:, None] + margin) & (qq <= pos[:, None] + margin)  # (4, 4) the margin mask m_ij
Z = torch.exp(pos / tau) + (mask * (torch.exp(qd / tau) + torch.exp(qq / tau) + torch.exp(dd / tau))).sum(1)  # (4,) Z_i
per_anchor = -(pos / tau - torch.log(Z))  # (4,) each anchor's term of L_cl
display(pd.DataFrame(qd.numpy(), index=[f"u_{i}" for i in range(4)], columns=[f"v_{j}" for j in range(4)]).round(3))
display(pd.DataFrame(mask.numpy(), index=[f"m_{i}j" for i in range(4)]).astype(int))
package_loss, package_stats = losses.contrastive_loss(u_toy, v_toy, tau, margin, "paper")
print(f"per anchor {per_anchor.numpy().round(3)}; mean by hand {per_anchor.mean():.5f}, package {package_loss:.5f}")
print(
    f"share of candidate negatives masked: by hand {1 - mask.sum() / not_self.sum():.3f}, package {package_stats['masked_share']:.3f}"
)

# %% [markdown]
# Now the same two masks on the first real batch of a fresh model:

# %%
torch.manual_seed(cfg.seed)
fresh = pipeline.pretrainer(cfg, artifacts.pretraining_data(cfg), resume=False)
first = fresh.global_batch(0)
with torch.no_grad():
    out = fresh.model.pretrain_forward(
        fresh.user_batch(first), [p["query"] for p in first], [p["answer"] for p in first]
    )
u, v = torch.nn.functional.normalize(out["u"], dim=-1), torch.nn.functional.normalize(out["v"], dim=-1)
duplicates = losses.duplicate_answers([p["answer"] for p in first])
at_init = {}
for variant in ("paper", "code"):
    loss, stats = losses.contrastive_loss(out["u"], out["v"], cfg.tau, cfg.margin, variant, duplicates=duplicates)
    at_init[variant] = {"loss": float(loss), **stats}
off = ~torch.eye(len(u), dtype=torch.bool)
init_cos = {
    "mean cos(u_i, u_j), two anchors": float((u @ u.T)[off].mean()),
    "mean cos(u_i, v_i), anchor and its answer": float((u * v).sum(-1).mean()),
}
display(pd.Series(init_cos).round(3).to_frame("at initialisation"))
display(pd.DataFrame(at_init).T.round(4))
readings.show(readings.mask_at_init(at_init, init_cos))

# %% [markdown]
# The per-block mask of the reference code keeps the query-answer negatives whatever the anchors look like; this
# profile trains with `contrastive_variant` below. Notebook 08 trains without any mask (the *w/o Filter*
# ablation).

# %%
print("contrastive variant:", cfg.contrastive_variant, "| margin mask:", cfg.use_margin_mask)

# %% [markdown]
# ## 3 Batches that ask "which user?"
#
# The paper's global batch holds 2,048 pairs; with 72 topics, every topic recurs dozens of times in it, so an
# anchor meets many answers to its own topic and can only pick its own by knowing the user. Small uniform batches
# (`batch_size` pairs) hold few other pairs of an anchor's topic (first row below): recognising the topic solves
# them. Our batches
# (`batch_topics` > 0) draw a few topics and fill each with different users, plus a share `batch_future_share` of
# D_future pairs, whose question is the same for everyone. What one anchor competes with, averaged over 50 batches:

# %%
uniform_cfg = config.load(PROFILE, seed=cfg.seed, batch_topics=0)
uniform = pipeline.pretrainer(uniform_cfg, artifacts.pretraining_data(uniform_cfg), resume=False)
composition = {
    "uniform batches": pd.DataFrame([diagnostics.batch_composition(uniform.global_batch(s)) for s in range(50)]).mean(),
    f"this profile (batch_topics={cfg.batch_topics})": pd.DataFrame(
        [diagnostics.batch_composition(fresh.global_batch(s)) for s in range(50)]
    ).mean(),
}
del uniform
pd.DataFrame(composition).T.round(2)

# %% [markdown]
# ## 4 Reading a question it has never seen
#
# The paper's backbone is a pretrained LLM: it reads a new question (a downstream task's query) because it has
# read language before. The CPU default's backbone is a 2-layer Qwen2 trained from scratch on UserU text only, and
# most words of a new question have never passed through it. As a stand-in for that pretrained reading, the default
# profile adds the query's vector from the frozen sentence encoder (all-MiniLM-L6-v2, the one that already encodes
# the event texts) as one slot after the query's tokens (`query_encoder = "minilm"`, model.py). The full profile
# (SmolLM2-135M with LoRA) reads the query tokens alone, as the paper does. The held-out wordings measure, before
# any downstream label is seen, whether a question is understood.

# %%
print("query encoder:", cfg.query_encoder or "none (the LLM reads the query tokens alone)", "| backbone:", cfg.backbone)

# %% [markdown]
# ## 5 Where this recipe departs from the paper
#
# Every departure is a profile setting whose value `config.PAPER_SETTINGS` names as the paper's, so the paper's
# version runs by setting it back (`config.load(PROFILE, readout="anchor")`, say); section 8 records how each was
# judged. The settings this profile departs on, with the reason for each:

# %%
pd.DataFrame(
    [
        {"setting": k, "paper": paper, "this profile": ours, "why": why}
        for k, (paper, ours, why) in config.departures(cfg).items()
    ]
).set_index("setting")

# %% [markdown]
# ## 6 Pretrain
#
# AdamW with a cosine schedule and warmup, gradient clipping, in-batch negatives from the global batch. The LLM
# trains at `lr`, the encoder, the head and the query adapter at `lr x lr_modules`; the cosine decays to `lr_floor`
# of the peak. Every `eval_every` steps, the diagnostics run on the held-out users. The run is cached: re-running
# the notebook loads the model instead of training again.

# %%
fresh_users = fresh.users  # the pretraining users' tensors (their text table serves any user of this world)
del fresh
start = time.perf_counter()
model, history = artifacts.pretrained_model(cfg)
seconds = time.perf_counter() - start
train_seconds = sum(h["seconds"] for h in history)
print(
    f"{len(history)} steps of {cfg.batch_size} pairs took {train_seconds:.0f} s of training; this cell ran "
    f"{seconds:.0f} s (less when loaded)"
)
k = max(1, len(history) // 10)
losses_table = {
    "contrastive loss, first 10% of steps": sum(h["cl"] for h in history[:k]) / k,
    "contrastive loss, last 10%": sum(h["cl"] for h in history[-k:]) / k,
    "next-token loss, first 10%": sum(h["ntp"] for h in history[:k]) / k,
    "next-token loss, last 10%": sum(h["ntp"] for h in history[-k:]) / k,
    "negatives removed by the margin mask, last 10%": sum(h["masked_share"] for h in history[-k:]) / k,
    "candidates removed as duplicate answers, last 10%": sum(h["duplicate_share"] for h in history[-k:]) / k,
}
pd.Series(losses_table).round(4).to_frame("value")

# %% [markdown]
# ## 7 Does the embedding carry the user, the query, or both?
#
# Measured on the held-out pretraining users (`diagnostics.py`; no downstream label is read):
#
# | diagnostic | what it asks | chance / collapse |
# |---|---|---|
# | exact-query recall@1 | users asked the *same* question each find their own answer among the group's | 1 / group |
# | prefix shuffle | does user i's own prefix fit answer i better than another user's, same question? | 0.5 |
# | query swap | does the pair's own question fit its answer better than another topic's question? | 0.5 |
# | held-out wording | both again with a wording of each topic never trained on | as above |
# | user / query / interaction share | how the spread of (held-out users x 24 questions) embeddings splits | query share 1: the user is ignored |
# | cos, two users, one question | how alike two users look under the same question | 1: collapsed |
# | effective rank | how many directions the per-question-centred embeddings use | 1: collapsed |
# | facet read-out, own / other question | how much of each facet's share of a user's events a linear read-out finds in the embedding asked about that facet / about another facet | 0: nothing; own = other: the question does not steer |
# | user nats | the held-out contrastive loss (training-like batches) with each pair's prefix swapped for another user's of the same topic, minus the true loss: how much of the loss needs the user | 0: the question does all the work |
# | weight change | per module, how far its weights moved from where they started, relative to their size | 0: not trained |
#
# Three of them in symbols. **Exact-query recall@1**: in a group of $G$ held-out users asked the same question,
# the share whose embedding $u_i$ is closer to its own answer $v_i$ than to every other answer of the group
# (chance $1/G$). **Variance shares**: for embeddings $x_{qi}$ of $Q$ questions by $N$ users, with question means
# $\bar x_{q\cdot}$, user means $\bar x_{\cdot i}$ and grand mean $\bar x$, the total spread
# $\sum_{q,i}\lVert x_{qi} - \bar x\rVert^2$ splits into a query part $N\sum_q\lVert\bar x_{q\cdot} - \bar x\rVert^2$,
# a user part $Q\sum_i\lVert\bar x_{\cdot i} - \bar x\rVert^2$ and the interaction (the rest), each reported as a
# share of the total (`geometry.query_variance`). **Effective rank**: $\exp(-\sum_k p_k \log p_k)$ with
# $p_k = \sigma_k / \sum_j \sigma_j$ the normalised singular values of the per-question-centred embeddings
# (Roy and Vetterli 2007): between 1 (collapsed to a line) and the embedding size. **User nats**:
# $\bar{\mathcal{L}}_{cl}(\text{prefixes shuffled within each topic of a batch}) - \bar{\mathcal{L}}_{cl}$ over
# batches drawn as in training from the held-out pairs; a model blind to the user scores 0. **Weight change**:
# $\lVert w - w_0\rVert / \lVert w_0\rVert$ over a module's trainable weights.

# %%
fig, data = plots.pretraining_curves(history)
save_figure(fig, "03_pretraining_curves", cfg, data)
final = {k: v for k, v in history[-1].items() if k in data["eval"][-1]}
pd.Series(final).round(3).to_frame("held-out users, end of training")

# %% [markdown]
# How high could exact-query retrieval go? The answers are written from the whole 90-day record, while the prefix
# holds only the K_m most recent events of each modality (`event_caps`). The share of answer facts that come out
# the same from those capped events (levels measured against the capped population) bounds what any model of this
# prefix can recover; the rest it must guess from the recent events:

# %%
source = catalogue_facets(cfg.world_version)  # the catalogue's facets, as UserU asks them
visibility = answer_visibility(w.pretrain[:1000], world.spec(cfg, cfg.event_caps), source, cfg.uqa_topics_per_user)
pd.Series(visibility).round(3).to_frame("facts the prefix shows as the answer states them")

# %% [markdown]
# A rule that reads those capped events perfectly, computes each answer's facts from them and retrieves the answer
# of its group that agrees on the most facts, is the ceiling of exact-query retrieval for this prefix (on the
# D_uqa pairs of the same held-out users; D_future answers come from the future and have no such rule):

# %%
held_users = {p["user_id"] for p in eval_pairs}
reader = fact_reader_recall(
    [r for r in w.pretrain if r["user_id"] in held_users],
    w.pretrain,
    eval_pairs,
    world.spec(cfg, cfg.event_caps),
    source,
    cfg.diagnostic_group,
    cfg.seed,
)
pd.Series(
    {
        "fact reader recall@1": reader["recall@1"],
        "its chance": reader["chance@1"],
        "the model's exact-query recall@1 (D_uqa and D_future)": final["exact_recall@1"],
    }
).round(3).to_frame("value")

# %% [markdown]
# Retrieval says how well the embedding tells users apart; it does not say *what* it keeps of them. The facet
# read-out does: how much of each facet's share of a user's events (what the user is drawn to, apart from how
# active the user is) a linear read-out recovers, at three levels of the model (the mean of the encoder's prefix
# tokens before the LLM, the LLM's state at `<USER_EMB>`, the embedding), each asked the facet's own question and
# another facet's. As a reference, the no-LLM sequence model of notebook 04 (pooled event vectors through an MLP)
# trained on the same pairs with the same batches. On up to 1,000 downstream users' records, more than the held-out
# users give (no label is read):

# %%
readout_records = w.downstream[:1000]
readout_users = pipeline.user_tensors(cfg, readout_records, fresh_users.table)
shares = np.stack([facet_shares(r, source) for r in readout_records])
readout = diagnostics.facet_readout_by_level(model, readout_users, shares, source.bank.grid_questions(), cfg.seed)
answer_tokenizer = pipeline.tiny_tokenizer(cfg, train_pairs)
seq_model, _ = baselines.train_sequence_contrastive(
    fresh_users,
    train_pairs,
    answer_tokenizer,
    cfg.emb_dim,
    steps=cfg.pretrain_steps,
    seed=cfg.seed,
    sampler=PairSampler.for_settings(train_pairs, pipeline.pretrain_settings(cfg)),
)
with torch.no_grad():
    seq_emb = seq_model.user(baselines.SequenceContrastive.user_features(readout_users)).numpy()
readout["no-LLM sequence model (static)"] = diagnostics.facet_r2(
    np.repeat(seq_emb[:, None], len(catalog.FACETS), 1), shares, cfg.seed
)
pd.DataFrame(readout, index=["R^2, own question", "R^2, another facet's question"]).T.round(3)

# %% [markdown]
# ## 8 How the recipe was chosen
#
# Every variant tried, failures included, with the command that produced it, is in
# `benchmarks/results/recipe_variants.jsonl` (`python benchmarks/recipe_search.py --table`); runs of one recipe under
# several training seeds share a group. Each run is scored on pretraining-side numbers only, never a downstream label:
# exact-query recall and user nats on the held-out users that both UserU versions hold out, under each version's
# pairs (so recipes trained on either can be compared; user nats with the default profile's batches whatever the
# run trained with), and the facet read-out of the embedding on downstream users' records (no label read).
#
# **The rule** (`qa_helpers.series.recipes`): changes are tried one at a time on the current base recipe; a number moves
# when the difference of the means is larger than twice the standard deviation of that number over the base's own
# seeds (the spread of the same recipe, not a guessed band). A change joins the recipe when it moves one of
# those numbers up and none down; the combination is then run under three seeds.
#
# Two settings of the recipe came after a downstream look in earlier rounds, and are marked so in the record: the
# answer separator (the reference code's layout: `<USER_EMB>` predicts no token) and UserU version 3 (levels by
# share of activity; the datasheet's *Changes* gives the label-free reason). Both were then judged on the
# diagnostics like every other variant. Nothing in this round's search read a downstream label.
#
# The seed bands of the starting recipe and of each base, then the summary of every recipe tried (seed means):

# %%
records = recipes.load()
summary = recipes.summary(records)
shown = ["seeds", *recipes.CHOSEN_ON, "facet R2: prefix mean", "effective rank", "user share", "s/step"]
display(summary[[c for c in summary.columns if c.startswith("sd ")]].dropna(how="all").round(4))
summary[shown].round(3)

# %% [markdown]
# Each change against the base it was tried on (the base's seed band decides):

# %%
pd.concat(
    {f"{variant} vs {base}": recipes.compare(records, variant, base)["call"] for variant, base in recipes.STEPS}, axis=1
).T

# %% [markdown]
# The targets set for this recipe, all pretraining-side, checked on the numbers above (the notebook states no
# outcome by hand): exact-query recall at least ten times chance; user nats at least twice those of the recipe this
# round started from (`recipes.STARTING`, seed means on the same held-out pairs, under both UserU versions); and an
# embedding whose facet read-out is at least the prefix mean's, so that the read-out no longer throws away what the
# encoder hands the LLM.

# %%
start_row, chosen_row = summary.loc[recipes.STARTING], summary.loc[recipes.CHOSEN]
targets = {
    "exact-query recall@1 at least 10x chance (this model)": final["exact_recall@1"] >= 10 * final["exact_chance@1"],
    "user nats at least twice the starting recipe's, version-3 pairs (seed means)": chosen_row["user nats (v3 pairs)"]
    >= 2 * start_row["user nats (v3 pairs)"],
    "user nats at least twice the starting recipe's, version-4 pairs (seed means)": chosen_row["user nats (v4 pairs)"]
    >= 2 * start_row["user nats (v4 pairs)"],
    "the embedding's facet read-out at least the prefix mean's (this model)": readout["embedding"][0]
    >= readout["prefix mean"][0],
    "own question beats another topic's, held-out wording, above chance (0.5)": final["held_out_query_swap_win"] > 0.5,
    "cos of two users under one question below 0.8": final["cos_same_query_other_user"] < 0.8,
}
pd.Series(targets, name="met").to_frame()

# %% [markdown]
# When a target is missed, the cells above say why, in this order:
#
# - **Is the answer in the prefix at all?** The fact reader's recall is the ceiling for this prefix; the model's
#   exact-query recall is read against it, not against 1.0.
# - **Does the LLM carry what the encoder gives it?** In the facet read-out, the prefix mean is what the encoder
#   hands the LLM, the read-out state and the embedding what comes out. A fall from prefix to embedding is
#   information the LLM did not move to `<USER_EMB>`; the no-LLM sequence model, trained on the same pairs and
#   batches, shows how much a simpler pooled model keeps.
# - **Do the weights move?** The weight-change curves: a module that barely moves from its random start has not
#   been trained, whatever the loss says.
# - **Does the loss need the user?** The user nats: a loss that the question alone nearly solves teaches little
#   about the user.

# %% [markdown]
# ### The recipe on world version 2
#
# The search above ran on world version 1 (and on model version 6, whose text vectors differ from today's in the last
# bits). When the series moved to world version 2 (issue 21), the recipe was re-checked on the same pretraining-side
# numbers, never a downstream label, in its own record `benchmarks/results/recipe_variants_world2.jsonl` (the
# held-out pairs are other pairs, so no row is compared across the two files). There "v3 pairs" are UserU version 5
# with the top-10 rule and "v4 pairs" the same with 5 topics drawn at random, as above. First the recipe unchanged
# under three training seeds, which gives the band; then one change at a time against it:

# %%
records_v2 = recipes.load(recipes.RESULTS_WORLD2)
summary_v2 = recipes.summary(records_v2)
display(summary_v2[[c for c in summary_v2.columns if c.startswith("sd ")]].dropna(how="all").round(4))
display(summary_v2[shown].round(3))
tried = {
    f"{v} vs {b}": recipes.compare(records_v2, v, b)["call"] for v, b in recipes.STEPS_WORLD2 if v in summary_v2.index
}
display(pd.concat(tried, axis=1).T if tried else "no change recorded yet on world version 2")

# %% [markdown]
# ## Results vs paper
#
# | | paper | ours (this profile) |
# |---|---|---|
# | backbone | Qwen2.5-0.5B-Instruct + LoRA r64 / alpha 32 | the profile's `backbone`; default: a 2-layer Qwen2 (hidden 128) from scratch, all weights trained, plus the query's sentence vector; full: SmolLM2-135M + LoRA r64 / alpha 32 |
# | data | about 1.024e8 UserU pairs | the pairs printed above |
# | steps x batch | 50k x 2,048 on 64 A100s, random pairs | `pretrain_steps` x `batch_size`, topic-grouped (printed above); default on 2 CPU cores |
# | lr, schedule | 2e-4 AdamW, cosine | `lr` for the LLM, `lr x lr_modules` for the encoder, head and query adapter; AdamW, cosine with warmup to `lr_floor` of the peak, clip 1.0 |
# | tau, margin | not given (code: 0.07, 0.1) | 0.07, 0.1 |
# | mask | joint mask over qd, qq, dd (paper) / per block over qq, qd, dq (code) | both implemented, section 2; duplicate answers never negatives |
# | embedding | 128-d | `emb_dim` |
# | read-out, head, answer tower, event tokens, UserU topics | the state at `<USER_EMB>`, an MLP head, the answer's last token, texts alone, the top 10 | section 5 lists where this profile departs, with the reason for each |
#
# The paper reports no pretraining curves or diagnostics; what this chapter establishes is whether the embedding
# it hands to notebook 04 depends on the user as well as on the question (section 7).

# %%
rec.log(
    steps=len(history),
    batch_size=cfg.batch_size,
    batch_topics=cfg.batch_topics,
    batch_future_share=cfg.batch_future_share,
    query_encoder=cfg.query_encoder,
    train_pairs=len(train_pairs),
    eval_pairs=len(eval_pairs),
    at_init=at_init,
    init_cos=init_cos,
    composition={k: v.to_dict() for k, v in composition.items()},
    losses=losses_table,
    final_diagnostics=final,
    targets=targets,
    answer_visibility=visibility,
    fact_reader=reader,
    facet_readout=readout,
    seconds_per_step=train_seconds / len(history),
    variant=cfg.contrastive_variant,
    kernel_peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
)
print("metrics written to", rec.save())

# %% [markdown]
# ## Recap
#
# - Eq. 3-5: the anchor must pick its own answer among the batch's answers and anchors; the margin mask drops likely false negatives.
# - Eq. 6: the anchor tower also writes the answer (next-token prediction); the objective is their sum.
# - Batches that ask 'which user?' and pretraining-side diagnostics decide the recipe, never a downstream label.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to predict, then checks: write your guess in `PREDICTION` and run the cell. Run as it is (no prediction), the cell shows the outcome.

# %% [markdown]
# **Exercise 1.** In the batch of four (section 2), raise the temperature from `cfg.tau` to 1.0. Does the contrastive loss go up or down? Write higher or lower.

# %%
from qa_helpers.series import exercises

PREDICTION = None  # "higher" or "lower"
warm_loss, _ = losses.contrastive_loss(u_toy, v_toy, 1.0, margin, "paper")
exercises.check(
    PREDICTION,
    "higher" if warm_loss > package_loss else "lower",
    "A high temperature flattens the softmax: the positive stands out less from the negatives.",
)

# %% [markdown]
# **Exercise 2.** Set the margin to 2.0 (two cosines never differ by more than 2). What share of the toy batch's negatives does the paper's mask remove? Write a number.

# %%
PREDICTION = None  # a share between 0 and 1
_, wide = losses.contrastive_loss(u_toy, v_toy, cfg.tau, 2.0, "paper")
exercises.check(PREDICTION, round(wide["masked_share"], 3))

# %% [markdown]
# ---
#
# **Previous:** [02 · The hierarchical encoder](02_hierarchical_encoder.ipynb) · **Next:** [04 · Downstream evaluation](04_downstream_evaluation.ipynb) · [Glossary](GLOSSARY.md)
