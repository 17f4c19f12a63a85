"""The paper's premise on latent states alone (no events, no model): does a task-agnostic summary of the true state
at the embedding's size lose against the full state (the size gap; and the oracle against the full state, the
read-out gap), on world version 1 (the control) and version 2, for the ten tasks or the long-tail suite?

Draws users' traits and interests as the world does, their labels from the oracle, and runs `premise.check` with
notebook 04's probe on a stratified half. Notebook 01 runs the same check on the series' own downstream users;
this script repeats it over seeds and population sizes in seconds, for the datasheet's *Changes*.

    python benchmarks/premise_check.py --seeds 0 1 --users 4000            # as notebook 04's splits
    python benchmarks/premise_check.py --seeds 5 --users 40000             # with ten times the labels
    python benchmarks/premise_check.py --seeds 0 1 --users 4000 --suite    # the long-tail scenario suite
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa_helpers.method.evaluation import task_splits
from qa_helpers.series import datasheet
from qa_helpers.series.outputs import provenance
from qa_helpers.synthetic import premise, scenarios, tasks

RESULTS = Path(__file__).resolve().parent / "results" / "premise_check.json"


def run(n: int, seed: int, world_version: int, size: int, n_boot: int, suite: bool = False) -> dict:
    state, probs, labels = datasheet.latent_population(n, seed, world_version, suite)
    names = scenarios.names(world_version) if suite else tasks.TASK_NAMES
    rows = premise.check(state, probs, labels, task_splits(labels, seed), size, n_boot, seed, names)
    means = {r["method"]: r["auc"] for r in rows if r["task"] == "Avg"}
    return {
        "world_version": world_version,
        "tasks": "long-tail suite" if suite else "ten tasks",
        "users": n,
        "seed": seed,
        "size": size,
        "factors": state.shape[1],
        "mean_auc": means,
        "gaps": premise.gaps(rows, size),
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--size", type=int, default=64, help="the embedding's size (the default profile's emb_dim)")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--suite", action="store_true", help="the long-tail scenario suite instead of the ten tasks")
    parser.add_argument("--out", type=Path, default=None, help=f"append the runs to this JSON list (e.g. {RESULTS})")
    args = parser.parse_args(argv)
    made, runs = provenance([__file__, *(sys.argv[1:] if argv is None else argv)]), []
    for seed in args.seeds:
        for version in (1, 2):
            r = {**run(args.users, seed, version, args.size, args.bootstrap, args.suite), **made}
            runs.append(r)
            gap, readout = r["gaps"][premise.SIZE_GAP], r["gaps"][premise.READOUT_GAP]
            print(
                f"world v{version} seed {seed} users {args.users} {r['tasks']}: size gap {gap[0]:+.4f} [{gap[1]:+.4f}, "
                f"{gap[2]:+.4f}]; read-out gap {readout[0]:+.4f}; mean AUC "
                + ", ".join(f"{k} {v:.3f}" for k, v in r["mean_auc"].items())
            )
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(old + runs, indent=1) + "\n")
        print("wrote", args.out)
    return runs


if __name__ == "__main__":
    main()
