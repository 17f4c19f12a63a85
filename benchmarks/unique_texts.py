"""Text vectors in bounded memory: users whose event texts are nearly all unique (search queries, free text)
through `python -m qa_helpers embed`, beside the same users with the synthetic world's small vocabulary. Each case
runs in its own process under /usr/bin/time -v with an empty text store (QA_HELPERS_CACHE set to a fresh folder):
peak RSS, users/s, and the store's size on disk.

    .venv/bin/python benchmarks/unique_texts.py                      # 100,000 users per case
    .venv/bin/python benchmarks/unique_texts.py --users 2000 --out /tmp/unique.json

The model is the default recipe with the word-hashing text encoder (`text_encoder=hashing-384`, 30 pretraining
steps; its quality is not what is measured): on 2 cores MiniLM encodes about 120 texts a second, so ten million
new texts would take a day, and the benchmark would time MiniLM instead of the store. The goal (issue 22): peak
RSS under 2 GiB and the unique-text case's users/s within 20% of the small-vocabulary case's. Commands are
recorded relative to the repository. Writes benchmarks/results/unique_texts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from qa_helpers.series import artifacts, config
from qa_helpers.series.outputs import provenance, relative_path
from qa_helpers.synthetic import tasks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_at_scale import timed, write_users  # noqa: E402

MODEL_SETTINGS = {"text_encoder": "hashing-384", "pretrain_steps": 30, "eval_every": 0, "checkpoint_every": 30}


def with_unique_texts(src: Path, dst: Path) -> int:
    """Copy `src` with every event text made unique (its user, modality and position appended); returns the count
    of events."""
    n = 0
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for line in fin:
            rec = json.loads(line)
            for m, events in rec["events"].items():
                for j, ev in enumerate(events):
                    ev["text"] = f"{ev['text']} | ref {rec['user_id']}.{m}.{j}"
                    n += 1
            fout.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return n


def store_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=config.REPO_ROOT / "benchmarks" / "results" / "unique_texts.json")
    args = parser.parse_args()

    cfg = config.load("default", **MODEL_SETTINGS)
    model = artifacts.model_folder(cfg) / "model"
    if not model.exists():
        artifacts.pretrained_model(cfg)
    work = cfg.artifacts_path() / "benchmarks"
    work.mkdir(parents=True, exist_ok=True)
    small = work / f"users_{args.users}.jsonl"  # the same users as embed_at_scale.py's
    if not small.exists():
        write_users(small, args.users, cfg)
    unique = work / f"users_{args.users}_unique_texts.jsonl"
    events = with_unique_texts(small, unique)
    queries = work / "task_queries.txt"
    queries.write_text("\n".join(t.query for t in tasks.TASKS) + "\n")

    cases = {}
    for name, records in (("small vocabulary", small), ("unique texts", unique)):
        store = work / f"text_store_{name.replace(' ', '_')}"
        shutil.rmtree(store, ignore_errors=True)
        out = work / f"embeddings_{name.replace(' ', '_')}.parquet"
        command = ["embed", str(records), "--model", str(model), "--queries", str(queries), "--out", str(out)]
        command += ["--chunk-size", str(args.chunk_size), "--no-raw-text"]
        run = timed(command, {"QA_HELPERS_CACHE": str(store)})
        cases[name] = {**run, "store_mib": store_bytes(store) / 2**20}
    ratio = cases["unique texts"]["users_per_second"] / cases["small vocabulary"]["users_per_second"]
    result = {
        **provenance(),
        "cores": os.cpu_count(),
        "users": args.users,
        "events": events,
        "queries": len(tasks.TASKS),
        "chunk_size": args.chunk_size,
        "model": relative_path(model),
        "model_settings": MODEL_SETTINGS,
        "cases": cases,
        "unique_over_small_users_per_second": ratio,
        "goals": {
            "peak_rss_under_2_gib": all(c["peak_rss_gib"] < 2 for c in cases.values()),
            "throughput_within_20_percent": ratio >= 0.8,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(0 if all(main()["goals"].values()) else 1)  # a missed goal fails the run
