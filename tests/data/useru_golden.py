"""Digests of the UserU pairs that the two builders of commit d4e855c (userU.py for the catalogue, userU_from_records.py
for clustered facets) built, checked by tests/test_useru_golden.py against the one builder of today: the pairs must
be byte-identical, so that no number of the series moves with the merge.

    git worktree add /tmp/before d4e855c && cd /tmp/before && make install \
        && .venv/bin/python <this file> smoke default > <repo>/tests/data/useru_golden.json

A digest is the first 16 hex digits of the sha256 of the pairs, one `json.dumps(pair, sort_keys=True)` line each.
"""

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from qa_helpers.spec import DatasetSpec

from qa_helpers import artifacts, config, example_logs, sentence_encoder, userU, your_logs
from qa_helpers import userU_from_records as UF

CATALOGUE = {"world 2": {}, "world 1": {"world_version": 1}, "world 2, uqa_low_topics 3": {"uqa_low_topics": 3}}


def digest(rows: list[dict]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update((json.dumps(r, sort_keys=True) + "\n").encode())
    return h.hexdigest()[:16]


def golden(profiles: list[str]) -> dict:
    out = {"written_by": "tests/data/useru_golden.py at commit d4e855c", "catalogue": {}, "clustered": {}}
    for name in profiles:
        for label, overrides in CATALOGUE.items():
            cfg = config.load(name, **overrides)
            w = artifacts.world(cfg)
            rows, stats = userU.build(
                w.pretrain,
                w.pretrain_future,
                cfg.seed,
                cfg.uqa_topics_per_user,
                cfg.draft_error_rate,
                cfg.window_days,
                k_low=cfg.uqa_low_topics,
                interests=cfg.world_version == 2,
            )
            out["catalogue"][f"{name}, {label}"] = {
                "pairs": digest(rows),
                "n_pairs": len(rows),
                "distinct_answers": stats["distinct_answers"],
            }
        cfg = config.load(name)
        folder = Path(tempfile.mkdtemp())
        data = example_logs.write(folder, cfg.own_logs_users, cfg.seed)
        spec = DatasetSpec.load(folder / "spec.json")
        encoder = "hashing-64" if name == "smoke" else cfg.text_encoder
        for low in (0, 2):
            built = your_logs.pretraining_data(
                data.records,
                data.future_records,
                spec,
                config.load(name, uqa_low_topics=low),
                sentence_encoder.text_cache(encoder),
                cfg.own_logs_facets,
            )
            out["clustered"][f"{name}, {encoder} low={low}"] = {
                "pairs": digest(built["pairs"]),
                "distinct_answers": built["stats"]["distinct_answers"],
            }
        rows, stats = UF.build(
            data.records, None, built["facets"], 3, 10, 0.25, spec.window_days, spec.event_modalities
        )
        out["clustered"][f"{name}, {encoder} nofuture"] = {
            "pairs": digest(rows),
            "distinct_answers": stats["distinct_answers"],
        }
    return out


if __name__ == "__main__":
    print(json.dumps(golden(sys.argv[1:]), indent=1))
