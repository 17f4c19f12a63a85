"""Try one pretraining recipe and record its pretraining-side diagnostics (never a downstream label).

    python benchmarks/recipe_search.py --name grouped-8x4 --steps 600 batch_topics=8 batch_future_share=0.125
    python benchmarks/recipe_search.py --name "today, seed 1" --group today train_seed=1    # another initialisation

Trains the default profile with the given overrides (key=value, Python literals) from scratch, evaluates the
diagnostics of qa_helpers.method.diagnostics on the held-out pretraining users every `eval_every` steps, then the facet
read-out at three levels of the model (prefix mean, read-out state, embedding) on 1,000 downstream users' records
(no label is read), and appends one JSON line (name, command, overrides, seconds, the diagnostics over training,
the read-out, and the diagnostics on the held-out users both UserU versions hold out) to the record of the run's
world version: benchmarks/results/recipe_variants_world2.jsonl on world version 2 (the default since issue 21),
recipe_variants.jsonl on world version 1 (`world_version=1`). Each is the table of every variant tried, failures
included (`python benchmarks/recipe_search.py --table [world_version=1]` prints it, one row per recipe, its
seeds averaged; qa_helpers.series.recipes holds the rule that compares a variant with its base).
"""

from __future__ import annotations

import argparse
import ast
import json
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from qa_helpers.method import diagnostics
from qa_helpers.method.batches import split_pairs
from qa_helpers.series import artifacts, config, pipeline, recipes
from qa_helpers.series.outputs import provenance
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru.facts import facet_shares

USERU_VERSIONS = {3: 0, 4: 5}  # UserU version -> uqa_low_topics (the datasheet's design value for version 4)


def common_held_out(overrides: dict) -> dict[int, list[dict]]:
    """Held-out pairs of UserU versions 3 and 4, restricted to the users both versions hold out: every variant is
    scored on both, whatever it trained on, so variants trained on different versions can be compared (their user
    nats with the default profile's batches, HeldOutLoss(), whatever batches the variant trains with: more users per
    topic in a batch would raise them by construction)."""
    held = {}
    for version, low in USERU_VERSIONS.items():
        cfg = config.load("default", **{**overrides, "uqa_low_topics": low})
        held[version] = split_pairs(artifacts.world_and_useru(cfg)[1], cfg.eval_pairs, cfg.seed)[1]
    users = set.intersection(*({p["user_id"] for p in pairs} for pairs in held.values()))
    return {version: [p for p in pairs if p["user_id"] in users] for version, pairs in held.items()}


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--note", default="")
    parser.add_argument("--group", default="", help="the recipe this run is a seed of (default: its name)")
    parser.add_argument("--table", action="store_true", help="print the table of every recorded variant and exit")
    parser.add_argument(
        "--results",
        default=None,
        help="the JSON-lines file the run is appended to (default: the record of the run's world version, "
        "recipes.results_for)",
    )
    parser.add_argument("overrides", nargs="*", help="Profile settings as key=value")
    args = parser.parse_args()
    overrides = parse_overrides(args.overrides)
    if args.steps:
        overrides["pretrain_steps"] = args.steps
    cfg = config.load("default", **overrides)
    results = Path(args.results) if args.results else recipes.results_for(cfg.world_version)
    if args.table:
        print(recipes.summary(recipes.load(results)).round(3).to_string())
        return
    torch.manual_seed(cfg.init_seed)
    data = artifacts.pretraining_data(cfg)
    trainer = pipeline.pretrainer(cfg, data, resume=False)
    start = time.perf_counter()
    error = None
    try:
        history = trainer.run()
    except Exception as exc:  # a failed variant is recorded too
        history, error = trainer.history, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    seconds = time.perf_counter() - start
    readout, on_userU = {}, {}
    if error is None:
        model = trainer.model.eval()
        records = artifacts.world(cfg).downstream[:1000]
        users = pipeline.user_tensors(cfg, records, data[0].table)
        source = catalogue_facets(cfg.world_version)  # world version 2: the interest topics too
        shares = np.stack([facet_shares(r, source) for r in records])
        levels = diagnostics.facet_readout_by_level(model, users, shares, source.bank.grid_questions(), cfg.seed)
        readout = {name: list(r2) for name, r2 in levels.items()}
        for version, pairs in common_held_out(overrides).items():
            settings = (cfg.diagnostic_group, cfg.diagnostic_grid_users, cfg.seed, data[3])
            report = diagnostics.diagnose(model, data[0], pairs, source.bank, *settings, loss=diagnostics.HeldOutLoss())
            on_userU[f"v{version}"] = report
    train_seconds = sum(h["seconds"] for h in history)
    evals = [
        {k: v for k, v in h.items() if k not in ("lr", "grad_norm", "seconds")}
        for h in history
        if "exact_recall@1" in h
    ]
    record = {
        "name": args.name,
        "group": args.group or args.name,
        "note": args.note,
        **provenance(),
        # on world version 2 the pairs are UserU version 5's (with or without low topics: on_userU's v3 and v4 keys)
        "userU_version": 5 if cfg.world_version == 2 else 4 if cfg.uqa_low_topics else 3,
        "code": artifacts.stage_fingerprint("pretrain"),
        "overrides": overrides,
        "settings": cfg.to_dict(),
        "steps": len(history),
        "seconds": seconds,
        "seconds_per_step": train_seconds / max(len(history), 1),
        "hardware": torch.cuda.get_device_name() if next(trainer.model.parameters()).is_cuda else "cpu",
        "evals": evals,
        "facet_readout": readout,
        "on_userU": on_userU,
        "error": error,
    }
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps({k: record[k] for k in ("name", "steps", "seconds", "seconds_per_step", "error")}))
    if evals:
        print(json.dumps({c: round(v, 4) for c, v in evals[-1].items() if isinstance(v, float)}))
        print(json.dumps(readout))


if __name__ == "__main__":
    main()
