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
# # 09 · Your own logs: validate, UserU without a catalogue, pretrain, embed, probe
#
# Notebooks 01-08 ran Q-Anchor on one synthetic payments app whose catalogue says what every event is about.
# A team with its own logs has neither our modalities nor our catalogue. This chapter takes a second, differently
# shaped dataset through the whole method with the package's commands, as such a team would:
#
# 1. describe the data in a small **spec** (its modalities, how many events of each the model reads, their
#    numeric fields, whether there is a tabular row) and **validate** the records against it;
# 2. build **UserU without a catalogue**: facets are clusters of the event texts in the frozen sentence encoder's
#    space, each named by its most central texts; topics are facet x aspect; answers say only what a record shows;
# 3. **pretrain**, **embed** every user under the task queries, and **probe** the embeddings against a counts +
#    gradient-boosted-trees baseline.
#
# **In:** nothing but code: the dataset is generated here (`qa_helpers.synthetic.example_logs`). **Out:** the commands and
# their outputs, the probe table, `metrics_09_your_own_logs.json`.

# %% [markdown]
# **You need:** chapters 01-04; a JSON Lines export of your own event logs (or the example dataset built here).
#
# **You will learn:** the dataset spec, validation, UserU without a catalogue, and the four commands that take your logs from records to probed embeddings.
#
# **Run time:** the set-up cell prints how long this notebook took on its last recorded run, per profile (`smoke` in `make test`, `default` in `make reproduce`, `full` on a GPU).

# %% [markdown]
# ## 0 Setup

# %% tags=["parameters"]
PROFILE = "default"
SEED = None  # None: the profile's seed

# %%
import json
import shlex
import time

import numpy as np
import pandas as pd
from IPython.display import display

from qa_helpers.cli import your_logs
from qa_helpers.cli.batch_embedding import read_embeddings
from qa_helpers.cli.main import main as qa_helpers_cli
from qa_helpers.method import schema
from qa_helpers.method.sentence_encoder import text_cache
from qa_helpers.method.spec import DatasetSpec
from qa_helpers.series import chapter, claims, config, readings
from qa_helpers.series.outputs import MetricsRecorder, use_style
from qa_helpers.synthetic import example_logs, world
from qa_helpers.useru import clustered

cfg = config.load(PROFILE, **({} if SEED is None else {"seed": SEED}))
use_style()
print(chapter.runtime_line("09_your_own_logs"))
rec = MetricsRecorder("09_your_own_logs", cfg)
work = cfg.artifacts_path() / "your_logs"
data, run = work / "data", work / "run"
started = time.perf_counter()


def command(*args: str) -> int:
    """Print a command as a user would type it, then run it (in this process: the same code as the shell)."""
    print("$ python -m qa_helpers " + " ".join(shlex.quote(str(a)) for a in args))
    code = qa_helpers_cli([str(a) for a in args])
    print(f"(exit code {code})")
    return code


print(f"profile {cfg.name}: {cfg.own_logs_users} users, {cfg.own_logs_steps} pretraining steps; files in {work}")

# %% [markdown]
# ## 1 A differently shaped dataset
#
# A streaming and reading service: four modalities with names of its own (`watch` and `listen` carry a duration
# in minutes, `read` and `query` carry text only), no tabular row, a 60-day window, and three labelled tasks about
# the next month. Its texts, genres and tasks share nothing with the payments world.

# %%
dataset = example_logs.write(data, cfg.own_logs_users, cfg.seed)
spec = DatasetSpec.load(data / "spec.json")
print((data / "spec.json").read_text())
first = dataset.records[0]
print(json.dumps({m: evs[:2] for m, evs in first["events"].items()}, indent=1)[:1200])

# %%
task_queries = json.loads((data / "tasks.json").read_text())
pd.DataFrame(
    {
        "query": task_queries,
        "positives": {t: float(dataset.labels[t].mean()) for t in task_queries},
    }
)

# %% [markdown]
# ## 2 Validate
#
# `validate` reads the file once and lists every problem with its line, user and field, so a team can fix its
# export in one pass. A clean file first, then a copy with four typical export bugs:

# %%
command("validate", data / "records.jsonl", "--spec", data / "spec.json")

# %%
lines = (data / "records.jsonl").read_text().splitlines()
broken = [json.loads(line) for line in lines[:5]]
broken[1]["events"]["watch"][0]["minutes"] = -4.0  # a negative duration
broken[2]["events"]["clicks"] = [{"day": 3, "hour": 9, "text": "opened the app"}]  # a modality the spec lacks
broken[3]["events"]["query"] = [{"day": 75, "hour": 9, "text": "jazz"}]  # after the 60-day window
broken.append(broken[0])  # the same user twice
schema.write_jsonl(work / "broken.jsonl", broken)
broken_exit = command("validate", work / "broken.jsonl", "--spec", data / "spec.json")

# %% [markdown]
# The same records read through the payments world's spec fail on every modality: the model's encoder, token
# layout and tensors are built from the spec, so a model trained on one product cannot read another's logs.

# %%
world_problems = list(schema.find_problems(dataset.records[:1], world.spec(cfg, cfg.event_caps), "records.jsonl"))
print("\n".join(world_problems))

# %% [markdown]
# ## 3 UserU without a catalogue
#
# The synthetic world's UserU asks about 24 facets its catalogue defines. Here the facets are found: the unique
# event texts are encoded by the profile's frozen sentence encoder (`text_encoder`: all-MiniLM-L6-v2 on the default;
# the smoke profile's word hashing groups by shared words only) and clustered with k-means, each text weighted by
# how often it occurs; a facet is named by its most central text. We ask for
# `own_logs_facets` facets (about the number of interest areas the service offers; a setting, not tuned on any
# label). Since the generator knows each text's true genre, we can score the clusters with the adjusted Rand index
# (ARI: 1 for the same partition, about 0 for a random one).

# %%
built = your_logs.pretraining_data(
    dataset.records,
    dataset.future_records,
    spec,
    cfg,
    text_cache(cfg.text_encoder, config.cache_root()),
    cfg.own_logs_facets,
)  # what `pretrain` builds before it trains (with the profile's text encoder, as `pretrain` does)
facets, pairs, userU_stats = built["facets"], built["pairs"], built["stats"]
history_texts = {ev["text"] for r in dataset.records for evs in r["events"].values() for ev in evs}
modality_of_text = {ev["text"]: m for r in dataset.records for m, evs in r["events"].items() for ev in evs}
found = [(t, f) for t, f in zip(facets.texts, facets.labels) if t in history_texts]  # the texts clustered
true_genre = [example_logs.genre_of(modality_of_text[t], t) for t, _ in found]
ari = clustered.facet_agreement(true_genre, [f for _, f in found])
pd.DataFrame(
    {
        "name (most central text)": facets.names,
        "texts": np.bincount([f for _, f in found], minlength=facets.n_facets),
        "most common true genre": [
            pd.Series([g for g, (_, f) in zip(true_genre, found) if f == k]).mode().iloc[0]
            for k in range(facets.n_facets)
        ],
    },
    index=facets.keys,
)

# %%
print(f"adjusted Rand index of the facets against the true genres: {ari:.3f}")

# %% [markdown]
# Topics are facet x aspect (habits, timing, trend), asked in three trained wordings and a held-out fourth. A
# drafter writes each answer as claims about what the record shows (the facet's share of the user's events
# against the population, the part of day, the trend, the modalities, a level for each numeric field), gets a
# share of them wrong on purpose, and a reflection step checks every claim against the record: wrong values are
# revised, unsupported claims dropped. Two of one user's pairs:

# %%
for p in [p for p in pairs if p["user_id"] == first["user_id"]][:2]:
    print(f"Q: {p['query']}\nA: {p['answer']}\n")
pd.Series(userU_stats).to_frame("UserU without a catalogue")

# %% [markdown]
# ## 4 Pretrain
#
# `pretrain` builds the same UserU on the fly, trains with the profile's recipe (`own_logs_steps` steps here),
# checkpoints (a rerun resumes, but only a run of the same records, settings and code; `--fresh`, used here so that
# the notebook never meets a run of older code, starts afresh), saves the model the Hugging Face way (`model/`:
# configuration with the spec, safetensors weights, the backbone folder with its tokenizer) and ends with a short
# report. Under `torchrun --nproc_per_node N` it runs on N processes.

# %%
command(
    "pretrain",
    "--records", data / "records.jsonl",
    "--future", data / "future.jsonl",
    "--spec", data / "spec.json",
    "--profile", cfg.name,
    "--steps", cfg.own_logs_steps,
    "--facets", cfg.own_logs_facets,
    "--out", run,
    "--fresh",
)  # fmt: skip
history = json.loads((run / "history.json").read_text())
final = {
    k: v for k, v in history[-1].items() if k in ("exact_recall@1", "exact_chance@1", "user_share", "effective_rank")
}
pd.Series(final).round(3).to_frame("held-out users, end of pretraining")

# %% [markdown]
# Exact-query retrieval asks, for a held-out user's question, whether the model's embedding picks that user's
# answer among the answers of a group of other users to the same question (chance: one over the group size).
# It needs no downstream label, so it is the side on which a team can judge a pretraining run before any task.

# %% [markdown]
# ## 5 Embed
#
# `embed` reads the records in chunks, so memory stays flat for any number of users, and writes one row per
# (user, query) to Parquet (or an .npy array with the user ids beside it). `--ray` runs the same per-chunk
# function as a Ray Data job over Parquet shards (see the README).

# %%
(work / "queries.txt").write_text("\n".join(task_queries.values()) + "\n")
command(
    "embed", data / "records.jsonl",
    "--model", run / "model",
    "--queries", work / "queries.txt",
    "--out", work / "embeddings.parquet",
)  # fmt: skip
user_ids, queries, emb = read_embeddings(work / "embeddings.parquet")
print(f"{len(user_ids)} users x {len(queries)} queries x {emb.shape[-1]} dimensions")

# %% [markdown]
# ## 6 Probe
#
# `probe` fits a linear probe per task on the embedding of the task's query (half the labelled users, stratified;
# scored on the other half) and, on the same split, gradient-boosted trees on counts a team would compute without
# any model: per modality the number of events, active days, recent events, part-of-day shares and numeric sums,
# and the counts of the 200 most frequent texts. AUC and KS come with 95% bootstrap intervals.

# %%
command(
    "probe", work / "embeddings.parquet",
    "--labels", data / "labels.csv",
    "--records", data / "records.jsonl",
    "--spec", data / "spec.json",
    "--tasks", data / "tasks.json",
    "--out", work / "probe.json",
)  # fmt: skip
rows = json.loads((work / "probe.json").read_text())
versus = claims.compare("Q-Anchor (linear probe) above counts + GBDT", rows, "Q-Anchor (linear probe)", "counts + GBDT")
(versus,) = claims.decided_over_seeds([versus])  # one training run: shown, not counted
readings.show(claims.reading([versus]))

# %% [markdown]
# ## 7 What transfers and what must be re-done
#
# | | transfers as is | re-done for new logs |
# |---|---|---|
# | code | the encoder, layout, losses, trainer, inference paths, commands | nothing: the spec drives them |
# | data | the record schema (day, hour, text, numeric fields) | the export to JSONL and its spec |
# | UserU | the aspects, answer style, reflection, D_future template | the facets (found by clustering the new texts) |
# | model | the sentence encoder of event texts and queries (frozen) | the encoder's adapters, the LLM, the head: pretraining |
# | downstream | the probe protocol and the claims rule | the labels and each task's query |
#
# A model pretrained on one product reads only that product's modalities (section 2); a new product is a new
# pretraining run, on its own users.
#
# ## 8 The synthetic world without its catalogue
#
# Does UserU need a catalogue? `benchmarks/userU_without_catalogue.py` pretrains notebook 03's model a second
# time, with the same recipe, on UserU built from clustered texts (24 facets, the catalogue's number, count-weighted
# k-means: fixed before any downstream number was seen), and probes both models on the same users and splits.
# It runs outside the series (two pretrainings); its committed result, with the command that produced it:

# %%
benchmark_file = config.REPO_ROOT / "benchmarks" / "results" / "userU_without_catalogue.json"
benchmark = json.loads(benchmark_file.read_text())["metrics"] if benchmark_file.exists() else None
if benchmark is None:
    print("not run yet: python benchmarks/userU_without_catalogue.py --profile default")
else:
    found = benchmark["facets"]
    print(
        f"facets found against the catalogue's {found['catalogue_facets']}: adjusted Rand index "
        f"{found['ari_weighted']:.3f} (count-weighted k-means, the recipe) and {found['ari_unweighted']:.3f} unweighted"
    )
    display(pd.DataFrame(benchmark["diagnostics"]).T.round(3))


def with_interval(v):
    return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"


if benchmark is not None:
    per_task = pd.DataFrame(benchmark["downstream"]["per_task"]).set_index("task")
    for side in ("catalogue", "catalogue_free"):
        per_task[side] = per_task[side].map(with_interval)
    display(per_task[["catalogue", "catalogue_free", "difference"]].round(3))
    display(pd.Series(benchmark["claim"]).to_frame("claim"))

# %%
seconds = time.perf_counter() - started
rec.log(
    n_users=len(dataset.records),
    spec=spec.to_dict(),
    validate_broken_exit_code=broken_exit,
    world_spec_problems=len(world_problems),
    facet_ari_vs_genres=ari,
    userU=userU_stats,
    pretraining_final=final,
    steps=len(history),
    rows=rows,
    mean_auc={m: claims.mean_with_interval(rows, m) for m in ("Q-Anchor (linear probe)", "counts + GBDT")},
    claims=[versus],
    seconds=seconds,
)
print(f"notebook ran in {seconds:.0f} s; metrics written to", rec.save())

# %% [markdown]
# ## Recap
#
# - A spec names the modalities, their caps and numeric fields; the encoder, layout and validator follow it.
# - UserU without a catalogue clusters event texts into facets and answers from the record alone.
# - validate, pretrain, embed and probe take your logs to probed embeddings from the command line.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to predict, then checks: write your guess in `PREDICTION` and run the cell. Run as it is (no prediction), the cell shows the outcome.

# %% [markdown]
# **Exercise 1.** Give one modality of the spec a cap of 0. Does loading the spec fail? Write yes or no.

# %%
from qa_helpers.method.spec import SpecError
from qa_helpers.series import exercises

PREDICTION = None  # "yes" or "no"
zero_cap = json.loads((data / "spec.json").read_text())
zero_cap["modalities"][0]["cap"] = 0
try:
    DatasetSpec.from_dict(zero_cap)
    failed = "no"
except SpecError as err:
    failed = "yes"
    print("SpecError:", err)
exercises.check(PREDICTION, failed)

# %% [markdown]
# **Exercise 2.** A record with one event on a day past the spec's window, and one with an hour of 25. How many problems does the validator list for that record? Write a number.

# %%
from qa_helpers.method import schema

PREDICTION = None  # a number of problems
m0 = spec.modalities[0].name
late = json.loads(json.dumps(dataset.records[0]))
late["events"][m0] = [
    {"day": spec.window_days + 5, "hour": 9, "text": "late event", **{f: 1.0 for f in spec.modalities[0].numeric}},
    {"day": 1, "hour": 25, "text": "odd hour", **{f: 1.0 for f in spec.modalities[0].numeric}},
]
found = schema.record_problems(late, spec)
print(found)
exercises.check(PREDICTION, len(found))

# %% [markdown]
# ---
#
# **Previous:** [08 · Ablations and scaling](08_ablations_and_scaling.ipynb) · **Next:** none (this is the last chapter) · [Glossary](GLOSSARY.md)
