"""Does Q-Anchor need the synthetic world's catalogue to build UserU? Catalogue-free UserU against the catalogue's.

    .venv/bin/python benchmarks/userU_without_catalogue.py --profile default      # ~10-15 min on 2 CPU cores
    .venv/bin/python benchmarks/userU_without_catalogue.py --profile smoke        # ~1 min, to debug

On the profile's synthetic world:

1. facets: the pretraining users' event texts are clustered (useru.clustered.find_facets, MiniLM vectors from
   the shared text cache, 24 facets = the catalogue's number, the profile's seed), and the found facets are
   compared with the catalogue's facet of each text by the adjusted Rand index (weighted k-means, the default,
   and unweighted). The recipe of the model (weighted, 24 facets) is the module's default, fixed before any
   downstream number is seen: the unweighted ARI is reported, never used to choose.
2. catalogue-free UserU from the pretraining records and their next-period records (useru.builder.build with
   clustered facets, the profile's k and draft error rate), split into train / held-out users as
   artifacts.pretraining_data splits the catalogue's, and a Q-Anchor pretrained on it with exactly the profile's
   recipe (cached under artifacts/<profile>/benchmarks/, resumed from a checkpoint); its final pretraining-side
   diagnostics.
3. the catalogue model: artifacts.pretrained_model (trained and cached there if missing).
4. both models' linear-probe AUC on the same downstream users and per-task splits, each task's own query
   (notebook 04's "Q-Anchor (Base)" row), with bootstrap intervals; the mean over the ten tasks, and the difference
   judged by claims.py's paired rule (the bootstrap interval of the difference over the same test users).
5. everything in benchmarks/results/userU_without_catalogue.json for the default profile (committed, read by
   notebook 09), in artifacts/<profile>/benchmarks/ for any other.

The two models' diagnostics are each measured on their own held-out users with their own questions and answers
(catalogue topics vs found facets), so they describe each model, not a like-for-like comparison; the downstream
AUCs are the like-for-like comparison.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import hashlib
import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from qa_helpers.method import evaluation, fingerprints, inference, sentence_encoder
from qa_helpers.method.batches import split_pairs
from qa_helpers.method.model import QAnchor
from qa_helpers.method.schema import atomic_write_text
from qa_helpers.method.train import Pretrainer
from qa_helpers.method.user_tensors import TextTable
from qa_helpers.series import artifacts, claims, config, pipeline
from qa_helpers.series.outputs import provenance, relative_path, to_jsonable
from qa_helpers.synthetic import catalog, tasks, world
from qa_helpers.useru import builder, clustered
from qa_helpers.useru.facts import facet_shares

NAME = "userU_without_catalogue"


def result_path(cfg) -> Path:
    """The committed result for the default profile (benchmarks/results/), the profile's cache for any other."""
    if cfg.name == "default":
        return config.REPO_ROOT / "benchmarks" / "results" / f"{NAME}.json"
    return cfg.artifacts_path() / "benchmarks" / f"{NAME}.json"


N_FACETS = len(catalog.FACETS)  # 24: as many facets as the catalogue has
WEIGHT_BY_COUNT = True  # find_facets' default; fixed before any downstream number (never chosen on AUC)
TEXT_ENCODER = "minilm"
CATALOGUE = "Q-Anchor (catalogue UserU)"
FREE = "Q-Anchor (catalogue-free UserU)"
DIAGNOSTICS = ("exact_recall@1", "exact_chance@1", "held_out_recall@1", "user_share", "query_share", "effective_rank")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- facets


def catalogue_facet_per_text(records: list[dict]) -> tuple[dict[str, str], int]:
    """Each event text's catalogue facet (catalog.lookup(modality, text).facet, 'unknown' if not in it); a text
    emitted in several modalities with different facets gets its most frequent one. Also: how many such texts."""
    seen: dict[str, Counter] = {}
    for rec in records:
        for modality, events in rec.get("events", {}).items():
            for ev in events:
                entry = catalog.lookup(modality, ev["text"])
                seen.setdefault(ev["text"], Counter())[entry.facet if entry else "unknown"] += 1
    truth = {t: min(c, key=lambda f: (-c[f], f)) for t, c in seen.items()}
    return truth, sum(len(c) > 1 for c in seen.values())


def facet_summary(facets: clustered.Facets, truth: dict[str, str], records: list[dict], top: int = 6) -> list[dict]:
    """The `top` largest found facets: name, texts, events, and the catalogue facet most of their events carry."""
    counts = Counter(ev["text"] for rec in records for evs in rec.get("events", {}).values() for ev in evs)
    out = []
    for i in range(min(top, facets.n_facets)):
        members = [t for t, lab in zip(facets.texts, facets.labels) if lab == i]
        by_cat = Counter()
        for t in members:
            by_cat[truth[t]] += counts[t]
        n_events = sum(by_cat.values())
        major, major_n = by_cat.most_common(1)[0]
        out.append(
            {
                "facet": facets.keys[i],
                "name": facets.names[i],
                "aliases": list(facets.aliases[i]),
                "texts": len(members),
                "events": n_events,
                "majority_catalogue_facet": major,
                "majority_share_of_events": major_n / n_events,
            }
        )
    return out


# ----------------------------------------------------------------------------- the catalogue-free model


def model_folder(cfg: config.Profile) -> Path:
    """artifacts/<profile>/benchmarks/userU_without_catalogue-<key>/: keyed by the catalogue model's pretraining
    key (world, UserU settings, recipe, code), the facet recipe, and the code of this script and of catalogue-free
    UserU (with what it imports): no version to bump."""
    payload = {
        "pretrain": artifacts.key(cfg, "pretrain"),
        "script": fingerprints.file_sha256(__file__),
        "n_facets": N_FACETS,
        "weight_by_count": WEIGHT_BY_COUNT,
        "text_encoder": TEXT_ENCODER,
        "useru": fingerprints.code_fingerprint(["useru.builder", "useru.clustered"]),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    return cfg.artifacts_path() / "benchmarks" / f"{NAME}-{digest}"


def free_model(cfg, w, facets, users, progress: bool) -> tuple[QAnchor, list[dict], dict, dict]:
    """The catalogue-free model, its history, its UserU stats and split sizes: loaded if cached, else built."""
    folder = model_folder(cfg)
    done = folder / "model" / "qanchor_config.json"
    saved = folder / "userU.json"
    if done.exists() and (folder / "history.json").exists() and saved.exists():
        log(f"catalogue-free model from cache: {relative_path(folder)}")
        info = json.loads(saved.read_text())
        history = json.loads((folder / "history.json").read_text())
        return QAnchor.from_pretrained(folder / "model", config.cache_root()), history, info["stats"], info["split"]
    future_texts = sorted({ev["text"] for r in w.pretrain_future for evs in r["events"].values() for ev in evs})
    cache = sentence_encoder.text_cache(TEXT_ENCODER, config.cache_root())
    facets_ext = replace(facets.extended(future_texts, cache.encode), modality_labels=catalog.MODALITY_LABELS)
    spec = world.spec(cfg, cfg.event_caps)
    t0 = time.perf_counter()
    pairs, stats = builder.build(
        w.pretrain,
        w.pretrain_future,
        facets_ext,
        cfg.seed,
        cfg.uqa_topics_per_user,
        cfg.draft_error_rate,
        cfg.window_days,
        k_low=cfg.uqa_low_topics,
        modalities=spec.event_modalities,
    )
    log(f"catalogue-free UserU: {len(pairs):,} pairs in {time.perf_counter() - t0:.0f} s")
    train, held = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
    held_users = {p["user_id"] for p in held}
    shares = {r["user_id"]: facet_shares(r, facets_ext) for r in w.pretrain if r["user_id"] in held_users}
    bank = facets_ext.bank
    split = {
        "train_pairs": len(train),
        "held_pairs": len(held),
        "held_users": len(held_users),
        "unseen_future_texts": len(facets_ext.texts) - len(facets.texts),
    }
    torch.manual_seed(cfg.seed)
    model = pipeline.new_model(cfg, train, users, spec, bank.all_questions(), TEXT_ENCODER)
    settings = pipeline.pretrain_settings(cfg)
    trainer = Pretrainer(
        model, users, train, held, settings, bank, folder / "checkpoints", pipeline.device(cfg), shares
    )
    latest = trainer.resume()
    if latest is not None:
        log(f"resuming the catalogue-free model from {latest.name}")
    history = trainer.run(progress=progress)
    trainer.model.save_pretrained(folder / "model")
    (folder / "history.json").write_text(json.dumps(history, indent=1))
    (folder / "facets.json").write_text(
        json.dumps(
            [
                {"facet": k, "name": n, "aliases": list(a), "texts": int(s)}
                for k, n, a, s in zip(
                    facets_ext.keys,
                    facets_ext.names,
                    facets_ext.aliases,
                    np.bincount(facets_ext.labels, minlength=facets_ext.n_facets),
                )
            ],
            indent=1,
        )
    )
    atomic_write_text(saved, json.dumps({"stats": stats, "split": split}, indent=1))
    return trainer.model.cpu(), history, stats, split


def final_diagnostics(history: list[dict]) -> dict:
    last = [h for h in history if "exact_recall@1" in h]
    if not last:
        return {}
    return {"step": last[-1]["step"], **{k: last[-1][k] for k in DIAGNOSTICS if k in last[-1]}}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seed", type=int, default=None, help="default: the profile's seed")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    cfg = config.load(args.profile, **({} if args.seed is None else {"seed": args.seed}))
    progress = not args.no_progress
    seconds: dict[str, float] = {}

    # 1 facets found in the records against the catalogue's
    t = time.perf_counter()
    w = artifacts.world(cfg)
    cache = sentence_encoder.text_cache(TEXT_ENCODER, config.cache_root())
    table = TextTable.build(w.pretrain + w.downstream, cache)  # as artifacts.text_table(w), one shared cache
    seconds["world_and_texts"] = time.perf_counter() - t
    t = time.perf_counter()
    truth, ambiguous = catalogue_facet_per_text(w.pretrain)
    found = {}
    for weighted in (True, False):
        f = clustered.find_facets(w.pretrain, cache.encode, N_FACETS, cfg.seed, weight_by_count=weighted)
        found[weighted] = (f, clustered.facet_agreement([truth[x] for x in f.texts], f.labels))
    facets = found[WEIGHT_BY_COUNT][0]
    seconds["facets"] = time.perf_counter() - t
    ari = {"weighted": found[True][1], "unweighted": found[False][1]}
    log(
        f"facets: {len(facets.texts)} unique texts, {N_FACETS} facets; ARI weighted {ari['weighted']:.3f}, "
        f"unweighted {ari['unweighted']:.3f} (model uses weighted)"
    )

    # 2 the catalogue-free model
    t = time.perf_counter()
    pretrain_users = pipeline.user_tensors(cfg, w.pretrain, table)
    free, free_history, free_stats, free_split = free_model(cfg, w, facets, pretrain_users, progress)
    seconds["catalogue_free_model"] = time.perf_counter() - t

    # 3 the catalogue model
    t = time.perf_counter()
    _, cat_stats = artifacts.useru_pairs(cfg, w)
    cat, cat_history = artifacts.pretrained_model(cfg, progress=progress)
    seconds["catalogue_model"] = time.perf_counter() - t

    # 4 downstream linear probes, same users and splits
    t = time.perf_counter()
    down = pipeline.user_tensors(cfg, w.downstream, table)
    labels = w.labels
    splits = evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size)
    queries = [task.query for task in tasks.TASKS]
    rows = []
    for name, model in ((CATALOGUE, cat), (FREE, free)):
        model.eval()
        emb = inference.representation_levels(model, down, queries, progress=False)["unit"]  # as notebook 04
        rows += evaluation.evaluate(
            name,
            lambda k, e=emb: e[:, k],
            labels,
            splits,
            "linear",
            cfg.bootstrap,
            cfg.seed,
            task_names=tasks.TASK_NAMES,
        )
    seconds["downstream"] = time.perf_counter() - t
    claim = claims.compare(
        "Q-Anchor pretrained on the catalogue's UserU has a higher mean AUC than on catalogue-free UserU",
        rows,
        CATALOGUE,
        FREE,
    )
    reading = {
        "reproduced": "the catalogue's UserU gives the higher mean AUC (the paired difference's interval is above 0)",
        "reversed": "catalogue-free UserU gives the higher mean AUC (the paired difference's interval is below 0)",
        "inside the noise": "the paired difference's interval holds 0: the two are not told apart at this number "
        "of downstream users",
        "no verdict": "a task's test split holds fewer than two positives",
    }[claim["verdict"]]
    per_task = []
    by = {(r["method"], r["task"]): r for r in rows}
    for task in list(tasks.TASK_NAMES) + ["Avg"]:
        a, b = by[(CATALOGUE, task)], by[(FREE, task)]
        entry = {
            "task": task,
            "n_test": a["n_test"],
            "n_pos": a["n_pos"],
            "catalogue": [a["auc"], a["auc_lo"], a["auc_hi"]],
            "catalogue_free": [b["auc"], b["auc_lo"], b["auc_hi"]],
            "difference": a["auc"] - b["auc"],  # the verdict is on the mean (the claim): per task, the estimate only
        }
        per_task.append(entry)

    elapsed = time.perf_counter() - start
    payload = {
        "notebook": NAME,
        "profile": cfg.name,
        "seed": cfg.seed,
        **provenance(),
        "elapsed_seconds": elapsed,
        "metrics": to_jsonable(
            {
                "recipe": {
                    "n_facets": N_FACETS,
                    "weight_by_count": WEIGHT_BY_COUNT,
                    "text_encoder": TEXT_ENCODER,
                    "note": "the model uses find_facets' default (count-weighted k-means, 24 facets = the "
                    "catalogue's number), fixed before any downstream AUC was seen; the unweighted ARI is "
                    "reported only, never used to choose",
                    "pretraining": "the profile's recipe for both models (pipeline.new_model, train.Pretrainer); "
                    "the catalogue-free tokenizer is trained on its own UserU text and question bank",
                },
                "facets": {
                    "unique_texts": len(facets.texts),
                    "texts_with_several_catalogue_facets": ambiguous,
                    "catalogue_facets": len(set(truth.values())),
                    "ari_weighted": ari["weighted"],
                    "ari_unweighted": ari["unweighted"],
                    "largest": facet_summary(facets, truth, w.pretrain),
                },
                "userU": {"catalogue": cat_stats, "catalogue_free": free_stats, "catalogue_free_split": free_split},
                "diagnostics": {
                    "catalogue": final_diagnostics(cat_history),
                    "catalogue_free": final_diagnostics(free_history),
                    "note": "each on its own held-out users and questions (not like for like)",
                },
                "downstream": {
                    "users": len(w.downstream),
                    "probe": "linear",
                    "bootstrap": cfg.bootstrap,
                    "per_task": per_task,
                    "rows": rows,
                },
                "claim": claim,
                "reading": reading,
                "seconds": seconds,
                "model_folder": relative_path(model_folder(cfg)),
            }
        ),
    }
    path = result_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")

    # the short table
    print()
    print(
        f"profile {cfg.name}, seed {cfg.seed}: facets ARI weighted {ari['weighted']:.3f} (used), "
        f"unweighted {ari['unweighted']:.3f}"
    )
    for name, hist in (("catalogue", cat_history), ("catalogue-free", free_history)):
        d = {k: float("nan") for k in DIAGNOSTICS} | final_diagnostics(hist)
        print(
            f"  {name:15s} step {d.get('step')}: exact recall@1 {d['exact_recall@1']:.3f} "
            f"(chance {d['exact_chance@1']:.3f}), user share {d['user_share']:.3f}, "
            f"effective rank {d['effective_rank']:.1f}"
        )
    print(f"\n{'task':12s} {'catalogue AUC [95%]':>26s} {'catalogue-free AUC [95%]':>28s} {'d':>7s}  verdict")
    for e in per_task:
        a, b = e["catalogue"], e["catalogue_free"]
        print(
            f"{e['task']:12s} {a[0]:8.3f} [{a[1]:.3f}, {a[2]:.3f}]   {b[0]:10.3f} [{b[1]:.3f}, {b[2]:.3f}]   "
            f"{e['difference']:+.3f}  {e.get('verdict', '-')}"
        )
    print(f"\nverdict (claims.py rule): {claim['verdict']}: {reading}")
    print(f"elapsed {elapsed:.0f} s; wrote {relative_path(path)}")


if __name__ == "__main__":
    main()
