"""Does a verdict of notebook 04 hang on one training run? Every claim of that chapter about a trained model, under
several training seeds (model initialisation and batches; the world, UserU, the downstream users and the probe
splits stay those of the profile). The chapter decides each claim over the seeds by claims.over_seeds.

    python benchmarks/seed_spread.py --profile default --seeds 1 2

For each seed: pretrain Base with `train_seed` (cached under artifacts/ like the series' model; the profile's own
seed is the model of notebooks 03-08, whose claims the chapter records itself), build the untrained model from the
same seed, train the sequence model at Q-Anchor's budget from the same seed, embed the long-tail suite's users under
each scenario's query; probe every row with notebook 04's protocol and record its claims, by the same names. The
rows that no seed changes (MiniLM's profile text, counts + GBDT) are scored once. Writes
benchmarks/results/seed_spread_<profile>.json (command, git hash, per seed the mean AUCs and the claims); notebook 04
reads it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from qa_helpers.method import evaluation, inference, sentence_encoder, user_tensors
from qa_helpers.method.batches import PairSampler, split_pairs
from qa_helpers.series import artifacts, chapter, claims, config, pipeline
from qa_helpers.series.config import REPO_ROOT
from qa_helpers.series.outputs import provenance
from qa_helpers.synthetic import baselines, tasks, world

BASE, UNTRAINED, GENERIC, SEQUENCE, TEXT, GBDT_CAPPED, GBDT = (
    "Q-Anchor (Base)",
    "Q-Anchor w/o pretraining",
    "Q-Anchor, one generic query",
    "Sequence contrastive (no LLM)",
    "MiniLM (profile text)",
    "Handcrafted + GBDT (capped events)",
    "Handcrafted + GBDT",
)
CLAIMS = (  # notebook 04's difference claims about trained models, by the chapter's own names
    ("pretraining matters: Base above the same model untrained", BASE, UNTRAINED),
    ("the query matters: Base above the same model asked one generic question", BASE, GENERIC),
    ("Base above a general text embedding of the profile", BASE, TEXT),
    ("Base above a user-sequence model trained on the same pairs and batches", BASE, SEQUENCE),
    ("Base above handcrafted features + GBDT on the events the models see", BASE, GBDT_CAPPED),
    ("Base above handcrafted features + GBDT on all 90 days", BASE, GBDT),
)
MATCH_CLAIM = "the matched query beats the mean of the other queries (tasks)"
SUITE_CLAIM = "long-tail suite: each scenario's own query above one generic query"


def fixed_rows(cfg: config.Profile) -> list[dict]:
    """The rows no training seed changes, on the ten tasks: MiniLM's profile text, counts + GBDT."""
    w = artifacts.world(cfg)
    splits = evaluation.task_splits(w.labels, cfg.seed, cfg.probe_test_size)
    by_category = cfg.world_version == 2
    handcrafted = baselines.handcrafted_features(w.downstream, cfg.n_tabular, by_category)
    capped = baselines.handcrafted_features(
        user_tensors.capped_records(w.downstream, world.spec(cfg, cfg.event_caps)), cfg.n_tabular, by_category
    )
    text = baselines.text_embeddings(w.downstream, sentence_encoder.MiniLMEncoder(alone=False))
    names = {"task_names": tasks.TASK_NAMES}
    rows = evaluation.evaluate(TEXT, text, w.labels, splits, "linear", cfg.bootstrap, cfg.seed, **names)
    for name, X in ((GBDT_CAPPED, capped), (GBDT, handcrafted)):
        rows += evaluation.evaluate_gbdt(name, X, w.labels, splits, cfg.bootstrap, cfg.seed, **names)
    return rows


def one_seed(cfg: config.Profile, seed: int, fixed: list[dict]) -> dict:
    """Every row and claim of one training seed."""
    # the profile's own seed is left unset, so that its model is the series' (cached by notebook 03)
    cfg = config.load(cfg.name, **{**_overrides(cfg), "train_seed": None if seed == cfg.seed else seed})
    w, pairs = artifacts.world_and_useru(cfg)
    table = artifacts.text_table(w, cfg)
    users = pipeline.user_tensors(cfg, w.downstream, table)
    pretrain_users = pipeline.user_tensors(cfg, w.pretrain, table)
    train_pairs, _ = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
    splits = evaluation.task_splits(w.labels, cfg.seed, cfg.probe_test_size)
    queries = [t.query for t in tasks.TASKS]
    model, _ = artifacts.pretrained_model(cfg)
    torch.manual_seed(cfg.init_seed)
    untrained = pipeline.new_model(cfg, train_pairs, pretrain_users)
    emb = {
        BASE: inference.embed(model, users, queries, batch_size=64),
        UNTRAINED: inference.embed(untrained, users, queries, batch_size=64),
        GENERIC: inference.embed(model, users, [tasks.GENERIC_QUERY], batch_size=64)[:, 0],
        SEQUENCE: baselines.sequence_embeddings(
            pretrain_users,
            train_pairs,
            users,
            pipeline.tiny_tokenizer(cfg, train_pairs),
            PairSampler.for_settings(train_pairs, pipeline.pretrain_settings(cfg)),
            cfg.emb_dim,
            cfg.pretrain_steps,
            cfg.init_seed,
        )[0],
    }
    rows = list(fixed)
    for name, e in emb.items():
        feats = (lambda k, e=e: e[:, k]) if e.ndim == 3 else e  # (users, queries, e)
        rows += evaluation.evaluate(
            name, feats, w.labels, splits, "linear", cfg.bootstrap, cfg.seed, task_names=tasks.TASK_NAMES
        )
    _, match_differences = evaluation.query_match(emb[BASE], w.labels, splits, cfg.bootstrap, cfg.seed)
    suite = chapter.suite(cfg, w)
    on_suite = users.subset(suite.users.tolist())
    suite_base = suite.full_size(inference.embed(model, on_suite, suite.queries, path="packed", batch_size=16))
    suite_rows = []
    for name, feats in ((BASE, lambda k: suite_base[:, k]), (GENERIC, emb[GENERIC])):
        suite_rows += evaluation.evaluate(
            name, feats, suite.labels, suite.splits, "linear", cfg.bootstrap, cfg.seed, task_names=suite.names
        )
    return {
        "mean_auc": {name: claims.mean_with_interval(rows, name) for name in (*emb, TEXT, GBDT_CAPPED, GBDT)},
        "suite_mean_auc": {name: claims.mean_with_interval(suite_rows, name) for name in (BASE, GENERIC)},
        "claims": [claims.compare(claim, rows, above, below) for claim, above, below in CLAIMS]
        + [
            claims.count_claim(MATCH_CLAIM, match_differences),
            claims.compare(SUITE_CLAIM, suite_rows, BASE, GENERIC),
        ],
    }


def _overrides(cfg: config.Profile) -> dict:
    """The settings of `cfg` that differ from its named profile's."""
    base = config.load(cfg.name).to_dict()
    return {k: v for k, v in cfg.to_dict().items() if k != "name" and v != base[k]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="training seeds besides the series'")
    args = parser.parse_args()
    cfg = config.load(args.profile)
    start = time.perf_counter()
    fixed = fixed_rows(cfg)
    per_seed = {str(s): one_seed(cfg, s, fixed) for s in args.seeds}
    means = {
        name: [per_seed[s]["mean_auc"][name][0] for s in per_seed] for name in (BASE, UNTRAINED, GENERIC, SEQUENCE)
    }
    out = {
        **provenance(),
        "profile": cfg.name,
        "world_version": cfg.world_version,
        "seeds": per_seed,
        "series_seed": cfg.seed,
        # the series' model's cache key: notebook 04 combines these seeds with its own run only under the same recipe
        "pretrain_key": artifacts.key(cfg, "pretrain"),
        "spread": {
            name: {"min": min(v), "max": max(v), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else None}
            for name, v in means.items()
        },
        "seconds": time.perf_counter() - start,
    }
    path = REPO_ROOT / "benchmarks" / "results" / f"seed_spread_{cfg.name}.json"
    path.write_text(json.dumps(out, indent=1))
    for s, r in per_seed.items():
        print(f"seed {s}: " + ", ".join(f"{n} {m[0]:.3f}" for n, m in r["mean_auc"].items()))
        for c in r["claims"]:
            print(f"  {c['claim']}: {c['verdict']} ({claims.ours(c)})")
    print("written to", path)


if __name__ == "__main__":
    main()
