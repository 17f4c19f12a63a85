"""Embedding at scale on CPU: many synthetic users through `python -m qa_helpers embed`, single process (peak RSS
and users/s) and as a Ray Data job on a local cluster (users/s), with the default profile's pretrained model.

    .venv/bin/python benchmarks/embed_at_scale.py                       # 100,000 users; Ray on 20,000
    .venv/bin/python benchmarks/embed_at_scale.py --users 2000 --ray-users 1000 --out /tmp/small.json

The users are drawn from the synthetic world's generator in chunks of 5,000 (other seeds than the profile's
world) and written to one JSONL file; each timed command runs in its own process under /usr/bin/time -v.
Writes benchmarks/results/embed_at_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from qa_helpers.cli.batch_embedding import read_embeddings
from qa_helpers.series import artifacts, config
from qa_helpers.series.outputs import command_line, provenance, relative_path
from qa_helpers.synthetic import tasks, world

GENERATE_CHUNK = 5000


def write_users(path: Path, n: int, cfg: config.Profile) -> None:
    """n synthetic users as JSONL, generated GENERATE_CHUNK at a time (memory stays flat)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for k, start in enumerate(range(0, n, GENERATE_CHUNK)):
            size = min(GENERATE_CHUNK, n - start)
            seeds = np.random.SeedSequence([cfg.seed, 1000 + k])
            pop = world.generate_population(f"x{k:03d}_", size, cfg, seeds, desc=f"users {start:,}+")
            for rec in pop["records"]:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    tmp.rename(path)


def timed(args: list[str], env: dict | None = None) -> dict:
    """Run `python -m qa_helpers ARGS` under /usr/bin/time -v (with `env` added to the environment): wall seconds,
    peak RSS (GiB), users/s it printed; the command is recorded with paths relative to the repository."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "qa_helpers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})},
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    rate = float(re.search(r"\(([\d.]+) users/s\)", done.stdout).group(1))
    return {"command": command_line(["-m", "qa_helpers", *args]), "wall_seconds": wall,
            "peak_rss_gib": peak_kb / 2**20, "users_per_second": rate}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--ray-users", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=config.REPO_ROOT / "benchmarks" / "results" / "embed_at_scale.json")
    args = parser.parse_args()

    cfg = config.load("default")
    model = artifacts.model_folder(cfg) / "model"
    if not model.exists():
        artifacts.pretrained_model(cfg)  # trains and caches the default model (minutes)
    work = cfg.artifacts_path() / "benchmarks"
    work.mkdir(parents=True, exist_ok=True)
    records = work / f"users_{args.users}.jsonl"
    if not records.exists():
        write_users(records, args.users, cfg)
    subset = work / f"users_{args.users}_first_{args.ray_users}.jsonl"
    with open(records, encoding="utf-8") as src, open(subset, "w", encoding="utf-8") as dst:
        for _, line in zip(range(args.ray_users), src):
            dst.write(line)
    queries = work / "task_queries.txt"
    queries.write_text("\n".join(t.query for t in tasks.TASKS) + "\n")
    common = ["--model", str(model), "--queries", str(queries), "--chunk-size", str(args.chunk_size)]

    single = timed(["embed", str(records), *common, "--out", str(work / "embeddings.parquet")])
    single_subset = timed(["embed", str(subset), *common, "--out", str(work / "embeddings_subset.parquet")])
    ray_out = work / "embeddings_ray"
    ray_run = timed(["embed", str(subset), *common, "--out", str(ray_out), "--ray", "--workers", str(args.workers)])
    ids_a, _, a = read_embeddings(work / "embeddings_subset.parquet")
    ids_b, _, b = read_embeddings(ray_out)
    order = [ids_b.index(u) for u in ids_a]
    result = {
        **provenance(),
        "cores": os.cpu_count(),
        "users": args.users,
        "queries": len(tasks.TASKS),
        "chunk_size": args.chunk_size,
        "model": relative_path(model),
        "single_process": single,
        "single_process_on_ray_subset": {**single_subset, "users": args.ray_users},
        "ray": {**ray_run, "users": args.ray_users, "workers": args.workers},
        "ray_equals_single_process_max_abs_diff": float(np.abs(a - b[order]).max()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
