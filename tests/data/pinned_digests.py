"""Digests of the synthetic world and of UserU, pinned for tests/test_useru_pinned.py: every machine must build these
bytes (UserU version 5.1: topic scores from log_count, no platform log; see the datasheet's Changes).

    .venv/bin/python tests/data/pinned_digests.py > tests/data/pinned_digests.json

A digest is the first 16 hex digits of the sha256 of the rows, one `json.dumps(row, sort_keys=True)` line each. The
default world's UserU digest equals that of the pairs a machine with AVX-512 built at d4e855c
(../shared/evidence/another_machine_d4e855c/userU_pairs.jsonl.gz), whose log1p happened to round as log_count does.
The clustered facets of the second dataset read MiniLM vectors, which are not bitwise across CPUs; only the
hashing encoder's smoke pairs are pinned.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_useru_pinned import CATALOGUE, catalogue_pairs, clustered_pairs, digest, world_rows  # noqa: E402

from qa_helpers.series import config  # noqa: E402


def pinned() -> dict:
    """The smoke profile's worlds and pairs (every variant the fast tests check) and the default profile's world
    version 2 with its UserU (the slow test)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {"written_by": f"tests/data/pinned_digests.py at commit {commit}", "world": {}, "catalogue": {}}
    runs = [("smoke", version, label) for version in (2, 1) for label in CATALOGUE if f"world {version}" in label]
    for name, version, label in runs + [("default", 2, "world 2")]:
        key = f"{name}, world {version}"
        if key not in out["world"]:
            records, truth = world_rows(config.load(name, world_version=version))
            out["world"][key] = {"records": digest(records), "ground_truth": digest(truth)}
        rows = catalogue_pairs(name, CATALOGUE[label])
        out["catalogue"][f"{name}, {label}"] = {"pairs": digest(rows), "n_pairs": len(rows)}
    out["clustered"] = clustered_pairs(Path(tempfile.mkdtemp()))
    return out


if __name__ == "__main__":
    print(json.dumps(pinned(), indent=1))
