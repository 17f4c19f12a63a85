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
# # 04 · Downstream evaluation against baselines and the oracle (paper §4.2, Tables 2 and 5)
#
# The paper judges a user embedding by linear probing: freeze it, fit a logistic regression per task, report
# AUC and KS. We do the same on our ten tasks, for Q-Anchor and for baselines rebuilt on our world, and we add
# what real data cannot give: the **oracle**, the best score any method could reach.
#
# **In:** the world (notebook 01) and the pretrained model (notebook 03), both rebuilt from their caches if
# missing. **Out:** the AUC and KS tables, mean AUC with intervals, gaps to the oracle, the matched vs
# mismatched query check; four figures and `metrics_04_downstream_evaluation.json`.

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

from qa_helpers import backbones, baselines, config, evaluation, metrics, pipeline, plots, tasks, text_encoder
from qa_helpers.figures import save_figure, use_style
from qa_helpers.recorder import MetricsRecorder
from qa_helpers.train import split_pairs

cfg = config.load(PROFILE, **({} if SEED is None else {"seed": SEED}))
use_style()
rec = MetricsRecorder("04_downstream_evaluation", cfg)
w, pairs = pipeline.world_and_userU(cfg)
table = pipeline.text_table(w)
users = pipeline.user_tensors(cfg, w.downstream, table)
labels, probs = w.labels, w.probs
print(f"{len(users)} downstream users; positives per task: {dict(zip(tasks.TASK_NAMES, labels.sum(0).tolist()))}")

# %% [markdown]
# ## 1 The protocol
#
# > "we assess representation via linear probing" with AUC and KS (paper §4.2).
#
# Per task, downstream users are split in half, stratified by that task's label (seed fixed); a standardised
# logistic regression is fitted on one half and scored on the other; 95% intervals come from a stratified
# bootstrap of the test users. An MLP probe is a secondary check. KS is max(TPR - FPR) over thresholds.
#
# Each task has one query, worded unlike the UserU questions the model was pretrained on:

# %%
splits = evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size)
pd.DataFrame({"query": {t.name: t.query for t in tasks.TASKS}})

# %% [markdown]
# ## 2 The rows
#
# | row | what it is | paper's counterpart |
# |---|---|---|
# | Oracle | the stored label probability | none (the ceiling) |
# | Handcrafted + GBDT | counts, part-of-day histograms, amounts, tabular; gradient-boosted trees | "Business SOTA" (Table 11) |
# | MiniLM (profile text) | all-MiniLM-L6-v2 on a text description of the profile | general text embeddings |
# | MiniLM (query + profile text) | the same with the task query in front | instruction-aware embeddings |
# | SmolLM2 as is | last hidden state of `profile + query` from SmolLM2-135M-Instruct | Qwen2.5-0.5B-Instruct |
# | Sequence contrastive (no LLM) | pooled event vectors -> MLP, trained on UserU with the same loss | MSDP / One4all / CPC |
# | Q-Anchor, one generic query | our model asked the same question for every task: a static embedding | FOUND |
# | Q-Anchor w/o pretraining | the same architecture, random weights | "w/o pretrain" (Table 3) |
# | Q-Anchor (Base) | the pretrained model with each task's query | Q-Anchor (Base) |
#
# The general text and LLM rows are costly on a CPU, so they run on a random subset of `baseline_users`
# downstream users (all users in the full profile); section 4 compares every row on that subset too.

# %%
rows = evaluation.evaluate_oracle(probs, labels, splits, cfg.bootstrap, cfg.seed)
handcrafted = baselines.handcrafted_features(w.downstream, cfg.n_tabular)
rows += evaluation.evaluate_gbdt("Handcrafted + GBDT", handcrafted, labels, splits, cfg.bootstrap, cfg.seed)
print(f"handcrafted features: {handcrafted.shape[1]} columns")

# %%
minilm = text_encoder.MiniLMEncoder()
profile_text = baselines.text_embeddings(w.downstream, minilm)
print("example description:", baselines.serialize(w.downstream[0])[:300], "...")

# %%
train_pairs, _ = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
pretrain_users = pipeline.user_tensors(cfg, w.pretrain, table)
seq_model, seq_history = baselines.train_sequence_contrastive(
    pretrain_users, train_pairs, backbones.train_tokenizer(pipeline.tokenizer_corpus(train_pairs), cfg.tokenizer_vocab),
    cfg.emb_dim, steps=cfg.seq_baseline_steps, seed=cfg.seed)
with torch.no_grad():
    seq_emb = seq_model.user(baselines.SequenceContrastive.user_features(users)).numpy()
print(f"sequence-contrastive baseline: loss {np.mean(seq_history[:10]):.3f} -> {np.mean(seq_history[-10:]):.3f}")

# %%
model, _ = pipeline.pretrained_model(cfg)
queries = [t.query for t in tasks.TASKS]
base_levels = pipeline.representation_levels(model, users, queries)          # kept for section 6
base_emb = base_levels["embedding"] / np.linalg.norm(base_levels["embedding"], axis=-1, keepdims=True)
static_emb = pipeline.embed_queries(model, users, [tasks.GENERIC_QUERY])[0]
torch.manual_seed(cfg.seed)
untrained = pipeline.new_model(cfg, train_pairs, pretrain_users)
untrained_levels = pipeline.representation_levels(untrained, users, queries)
untrained_emb = untrained_levels["embedding"] / np.linalg.norm(untrained_levels["embedding"], axis=-1, keepdims=True)

embedding_rows = {
    "MiniLM (profile text)": profile_text,
    "Sequence contrastive (no LLM)": seq_emb,
    "Q-Anchor, one generic query": static_emb,
    "Q-Anchor w/o pretraining": lambda k: untrained_emb[k],
    "Q-Anchor (Base)": lambda k: base_emb[k],
}
for probe in evaluation.PROBES:
    for name, feats in embedding_rows.items():
        rows += evaluation.evaluate(name, feats, labels, splits, probe, cfg.bootstrap, cfg.seed)

# %% [markdown]
# ## 3 Results on all downstream users

# %%
auc = evaluation.table(rows, "auc", probe="linear", with_ci=True)
auc.round(4)

# %%
ks = evaluation.table(rows, "ks", probe="linear", with_ci=True)
ks.round(4)

# %% [markdown]
# The MLP probe as a secondary column (mean over tasks):

# %%
df = pd.DataFrame(rows)
avg = df[df.task == "Avg"].pivot_table(index="method", columns="probe", values=["auc", "ks"], sort=False)
avg.round(4)

# %%
fig, data = plots.mean_scores(rows, "auc")
save_figure(fig, "04_mean_auc", cfg, data)
fig, data = plots.mean_scores(rows, "ks")
save_figure(fig, "04_mean_ks", cfg, data)

# %%
auc_plain = evaluation.table(rows, "auc", probe="linear")
fig, data = plots.gap_to_oracle(auc_plain)
save_figure(fig, "04_gap_to_oracle", cfg, data)

# %% [markdown]
# ## 4 The costly rows, on a subset of users
#
# Every row again, on the same `baseline_users` users and their own stratified split, now with the
# query-prefixed text embedding and SmolLM2 used as is.

# %%
rng = np.random.default_rng(cfg.seed)
subset = np.arange(len(users)) if not cfg.baseline_users else np.sort(
    rng.choice(len(users), size=min(cfg.baseline_users, len(users)), replace=False))
sub_splits = evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size, users=subset)
sub_records = [w.downstream[i] for i in subset]


def on_subset(values: np.ndarray) -> np.ndarray:
    """Features computed for the subset only, placed in a full-size matrix (other rows are never read)."""
    full = np.zeros((len(users),) + values.shape[1:], dtype=np.float32)
    full[subset] = values
    return full


query_text = np.stack([on_subset(baselines.text_embeddings(sub_records, minilm, q)) for q in queries])
smollm = backbones.smollm2(lora=False)
llm_states = np.stack([on_subset(x) for x in baselines.llm_last_token(sub_records, smollm, queries)])
del smollm

sub_rows = evaluation.evaluate_oracle(probs, labels, sub_splits, cfg.bootstrap, cfg.seed)
sub_rows += evaluation.evaluate_gbdt("Handcrafted + GBDT", handcrafted, labels, sub_splits, cfg.bootstrap, cfg.seed)
sub_rows += evaluation.evaluate("MiniLM (query + profile text)", lambda k: query_text[k], labels, sub_splits,
                                "linear", cfg.bootstrap, cfg.seed)
sub_rows += evaluation.evaluate("SmolLM2 as is (profile + query)", lambda k: llm_states[k], labels, sub_splits,
                                "linear", cfg.bootstrap, cfg.seed)
for name, feats in embedding_rows.items():
    sub_rows += evaluation.evaluate(name, feats, labels, sub_splits, "linear", cfg.bootstrap, cfg.seed)
sub_auc = evaluation.table(sub_rows, "auc", with_ci=True)
print(f"{len(subset)} users, {len(sub_splits[0][1])} scored per task; tasks with few positives are noisy "
      f"(positives in each test split: {[int(labels[te, k].sum()) for k, (_, te) in enumerate(sub_splits)]})")
sub_auc.round(4)

# %%
evaluation.table(sub_rows, "ks", with_ci=True).round(4)

# %% [markdown]
# ## 5 Does the query matter? Matched vs mismatched queries
#
# If the embedding is really anchored on the query, the embedding asked task a's question should serve task a
# better than another task's question does. Rows: the query asked; columns: the labels probed (linear probe,
# same splits).

# %%
def probe_auc(X: np.ndarray, k: int) -> float:
    train, test = splits[k]
    return metrics.auc(labels[test, k], evaluation.probe_scores(X[train], labels[train, k], X[test], "linear", cfg.seed))


match = np.array([[probe_auc(base_emb[a], b) for b in range(len(queries))] for a in range(len(queries))])
fig, data = plots.query_match_matrix(match, list(tasks.TASK_NAMES))
save_figure(fig, "04_query_match", cfg, data)
diag, off = np.diag(match), (match.sum(1) - np.diag(match)) / (len(match) - 1)
best_query = [tasks.TASK_NAMES[int(match[:, b].argmax())] for b in range(len(queries))]
pd.DataFrame({"matched query AUC": diag, "mean over the other queries": match.sum(0) / len(match),
              "best query for these labels": best_query}, index=tasks.TASK_NAMES).round(4)

# %% [markdown]
# ## 6 Where is the user information? (a diagnostic)
#
# If Q-Anchor is not ahead of simpler rows, where is the information lost? For the pretrained and the
# untrained model we probe three levels with each task's query: the mean of the encoder's prefix tokens
# (before the LLM), the raw hidden state at `<USER_EMB>`, and its projection (the embedding).

# %%
levels = {}
for name, reps in (("pretrained", base_levels), ("untrained", untrained_levels)):
    levels[f"{name}: prefix"] = [probe_auc(reps["prefix"], k) for k in range(len(queries))]
    levels[f"{name}: hidden"] = [probe_auc(reps["hidden"][k], k) for k in range(len(queries))]
    levels[f"{name}: embedding"] = [probe_auc(reps["embedding"][k], k) for k in range(len(queries))]
levels = pd.DataFrame(levels, index=tasks.TASK_NAMES).T
levels["Avg"] = levels.mean(1)
levels.round(3)

# %% [markdown]
# ## Results vs paper
#
# The paper's ordering (Table 2, mean AUC): general LLM 0.635 < general text embeddings 0.651-0.749 <
# sequence models (MSDP, One4all, CPC) about 0.77 < FOUND 0.783 < Q-Anchor (Base) 0.810 < Prompt Tuned 0.823.
# The cell below checks the paper's claims on our numbers; the notes after it read the committed default-profile
# run.

# %%
A = auc_plain["Avg"]
K = evaluation.table(rows, "ks", probe="linear")["Avg"]
claims = {
    "Q-Anchor (Base) above the general text embedding (AUC)": bool(A["Q-Anchor (Base)"] > A["MiniLM (profile text)"]),
    "Q-Anchor (Base) above the static embedding of the same model (AUC)": bool(
        A["Q-Anchor (Base)"] > A["Q-Anchor, one generic query"]),
    "Q-Anchor (Base) above the no-LLM sequence model (AUC)": bool(A["Q-Anchor (Base)"] > A["Sequence contrastive (no LLM)"]),
    "pretraining matters: Base above w/o pretraining (AUC)": bool(A["Q-Anchor (Base)"] > A["Q-Anchor w/o pretraining"]),
    "Q-Anchor (Base) above handcrafted + GBDT (AUC)": bool(A["Q-Anchor (Base)"] > A["Handcrafted + GBDT"]),
    "matched query beats the mean mismatched query (AUC, tasks)": int((diag > off).sum()),
}
summary = pd.DataFrame({"mean AUC": A, "mean KS": K}).sort_values("mean AUC", ascending=False)
display(summary.round(4))
pd.Series(claims, name="holds on our world").to_frame()

# %% [markdown]
# **Reading the committed default-profile run** (a 2-layer, 128-wide Qwen2 trained from scratch for 600 steps
# of 32 pairs on 2 CPU cores, against the paper's pretrained 0.5B model, 50k steps of 2,048):
#
# - *Q-Anchor above the static embedding, and pretraining matters*: **not reproduced**. Base reaches mean AUC
#   0.659, below the same model asked one generic question (0.667) and the untrained model (0.664); all three
#   differences are well inside the bootstrap intervals (about +-0.014).
# - *Q-Anchor above general text embeddings*: weakly. 0.659 against 0.639 for MiniLM on the profile text, a gap
#   about the width of the intervals; on the 200-user subset, with the query prepended, 0.572 against 0.552.
# - *Q-Anchor above user-sequence models*: **no**, the reverse. Handcrafted counts with gradient-boosted trees
#   (0.737) and the no-LLM sequence-contrastive model (0.730) are far ahead. The events come from a fixed
#   catalogue, so counting them already carries most of the evidence (notebook 01, section 6).
# - *The query matters*: not shown. The matched query beats the average mismatched one on 5 of 10 tasks.
# - The oracle (0.848) leaves a large gap for every method; on the hard tasks (Active, Concert, Promo) nobody
#   is far from chance, as in the paper.
# - The subset table (200 users) ranks the rows the same way, with intervals too wide to separate most of them;
#   SmolLM2 used as is is weakest (0.484), as the paper's Qwen2.5-0.5B-Instruct row is.
#
# **Why** (section 6): the user information is in the encoder's prefix tokens (probe on their mean: 0.707), but
# it thins out on the way to the embedding: 0.685 at the raw `<USER_EMB>` state and 0.660 after the projection.
# Pretraining does not add to it: Forest falls from 0.80 (prefix) to 0.64 (hidden) to 0.60 (embedding), while the
# untrained model keeps 0.77 at the hidden state. Our UserU answers are short template sentences about counts of
# one topic's events, and in-batch negatives are mostly answers to other topics, so the contrastive task is solved
# largely by recognising the query's topic (notebook 03: in-batch recall@1 0.90 but 0.48 within a topic; two
# users under one query have cosine 0.95, higher than one user under two queries, 0.84). The anchor learns the
# query far more than the user. What would change this (not tried here, so as not to tune the world to the claim):
# answers that describe the user's behaviour qualitatively as the paper's do, a pretrained backbone (the full
# profile uses SmolLM2 with LoRA), and a training budget closer to the paper's.

# %%
rec.log(rows=rows, subset_rows=sub_rows, subset_users=len(subset), claims=claims, levels=levels.to_dict(orient="index"),
        mean_auc=A.to_dict(), mean_ks=K.to_dict(), query_match=match, matched_beats_mismatched=int((diag > off).sum()),
        seq_baseline_loss=[float(np.mean(seq_history[:10])), float(np.mean(seq_history[-10:]))])
print("metrics written to", rec.save())
