"""Does notebook 04's ordering hang on one initialisation? Base, the same model untrained, Base under one generic
query and the no-LLM sequence model, each under several training seeds (model initialisation and batches; the
world, UserU, the downstream users and the probe splits stay those of the profile).

    python benchmarks/seed_spread.py --profile default --seeds 0 1 2

For each seed: pretrain Base with `train_seed` (cached under artifacts/ like the series' model; the profile's own
seed is the model of notebooks 03-08), build the untrained model from the same seed, train the sequence model at
Q-Anchor's budget from the same seed; probe every row with notebook 04's protocol and record notebook 04's paired
claims for that seed. Writes benchmarks/results/seed_spread_<profile>.json (command, git hash, per seed the mean
AUC with its interval and the claims' verdicts); notebook 04 shows it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from qa_helpers.method import evaluation, inference
from qa_helpers.method.batches import PairSampler, split_pairs
from qa_helpers.series import artifacts, claims, config, pipeline
from qa_helpers.series.config import REPO_ROOT
from qa_helpers.series.outputs import provenance
from qa_helpers.synthetic import baselines, tasks

BASE, UNTRAINED, GENERIC, SEQUENCE = (
    "Q-Anchor (Base)",
    "Q-Anchor w/o pretraining",
    "Q-Anchor, one generic query",
    "Sequence contrastive (no LLM)",
)
CLAIMS = (  # notebook 04's claims about the rows that depend on the initialisation
    ("pretraining matters: Base above the same model untrained", BASE, UNTRAINED),
    ("the query matters: Base above the same model asked one generic question", BASE, GENERIC),
    ("Base above a user-sequence model trained on the same pairs and batches", BASE, SEQUENCE),
)


def one_seed(cfg: config.Profile, seed: int) -> dict:
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
    rows = []
    for name, e in emb.items():
        feats = (lambda k, e=e: e[:, k]) if e.ndim == 3 else e  # (users, queries, e)
        rows += evaluation.evaluate(
            name, feats, w.labels, splits, "linear", cfg.bootstrap, cfg.seed, task_names=tasks.TASK_NAMES
        )
    return {
        "mean_auc": {name: claims.mean_with_interval(rows, name) for name in emb},
        "claims": [claims.compare(claim, rows, above, below) for claim, above, below in CLAIMS],
    }


def _overrides(cfg: config.Profile) -> dict:
    """The settings of `cfg` that differ from its named profile's."""
    base = config.load(cfg.name).to_dict()
    return {k: v for k, v in cfg.to_dict().items() if k != "name" and v != base[k]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    cfg = config.load(args.profile)
    start = time.perf_counter()
    per_seed = {str(s): one_seed(cfg, s) for s in args.seeds}
    means = {
        name: [per_seed[s]["mean_auc"][name][0] for s in per_seed] for name in (BASE, UNTRAINED, GENERIC, SEQUENCE)
    }
    out = {
        **provenance(),
        "profile": cfg.name,
        "world_version": cfg.world_version,
        "seeds": per_seed,
        "spread": {name: {"min": min(v), "max": max(v), "sd": float(np.std(v, ddof=1))} for name, v in means.items()},
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
