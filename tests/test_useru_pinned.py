"""The synthetic world and its UserU are the bytes pinned in tests/data/pinned_digests.json (written by
tests/data/pinned_digests.py), on whatever machine the tests run: the world's records and ground truth, the
catalogue's pairs on both worlds, and the second dataset's clustered-facet pairs under the hashing encoder. A change
to either is a new version of the world or of UserU, written into the datasheet's Changes first, and the digests are
rewritten with it."""

import hashlib
import json
from pathlib import Path

import pytest

from qa_helpers.cli import your_logs
from qa_helpers.method import sentence_encoder
from qa_helpers.method.spec import DatasetSpec
from qa_helpers.series import artifacts, config
from qa_helpers.synthetic import example_logs, world
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru import builder

PINNED = json.loads((Path(__file__).parent / "data" / "pinned_digests.json").read_text())
CATALOGUE = {"world 2": {}, "world 1": {"world_version": 1}, "world 2, uqa_low_topics 3": {"uqa_low_topics": 3}}


def digest(rows: list[dict]) -> str:
    """The first 16 hex digits of the sha256 of the rows, one sorted-keys JSON line each."""
    h = hashlib.sha256()
    for r in rows:
        h.update((json.dumps(r, sort_keys=True) + "\n").encode())
    return h.hexdigest()[:16]


def world_rows(cfg) -> tuple[list[dict], list[dict]]:
    """The profile's world records (pretraining, its future, downstream) and its ground-truth rows."""
    w = artifacts.world(cfg)
    return w.pretrain + w.pretrain_future + w.downstream, world._ground_truth_rows(w)


def catalogue_pairs(profile: str, overrides: dict) -> list[dict]:
    cfg = config.load(profile, **overrides)
    return pairs_of(artifacts.world(cfg), cfg)


def pairs_of(w: world.World, cfg) -> list[dict]:
    """The catalogue's UserU pairs of world `w`, built with the profile's settings."""
    rows, _ = builder.build(
        w.pretrain,
        w.pretrain_future,
        catalogue_facets(cfg.world_version),
        cfg.seed,
        cfg.uqa_topics_per_user,
        cfg.draft_error_rate,
        cfg.window_days,
        k_low=cfg.uqa_low_topics,
    )
    return rows


def clustered_pairs(folder: Path) -> dict[str, str]:
    """Digests of the second dataset's UserU on facets clustered from hashing-encoder vectors (smoke profile):
    uqa_low_topics 0 and 2 with D_future, and without future records."""
    cfg = config.load("smoke")
    data = example_logs.write(folder, cfg.own_logs_users, cfg.seed)
    spec = DatasetSpec.load(folder / "spec.json")
    out = {}
    for low in (0, 2):
        built = your_logs.pretraining_data(
            data.records,
            data.future_records,
            spec,
            config.load("smoke", uqa_low_topics=low),
            sentence_encoder.text_cache("hashing-64"),
            cfg.own_logs_facets,
        )
        out[f"smoke, hashing-64 low={low}"] = digest(built["pairs"])
    rows, _ = builder.build(
        data.records, None, built["facets"], 3, 10, 0.25, spec.window_days, modalities=spec.event_modalities
    )
    out["smoke, hashing-64 nofuture"] = digest(rows)
    return out


@pytest.mark.parametrize("version", [2, 1])
def test_the_smoke_world_is_pinned(version):
    records, truth = world_rows(config.load("smoke", world_version=version))
    assert {"records": digest(records), "ground_truth": digest(truth)} == PINNED["world"][f"smoke, world {version}"]


@pytest.mark.parametrize("label", CATALOGUE)
def test_the_smoke_worlds_pairs_are_pinned(label):
    rows = catalogue_pairs("smoke", CATALOGUE[label])
    assert {"pairs": digest(rows), "n_pairs": len(rows)} == PINNED["catalogue"][f"smoke, {label}"]


def test_the_second_datasets_clustered_pairs_are_pinned(tmp_path):
    assert clustered_pairs(tmp_path) == PINNED["clustered"]


@pytest.mark.slow
def test_the_default_world_and_its_userU_are_pinned():
    """The series' own world and UserU (about a minute to build, cached for `make reproduce`)."""
    cfg = config.load("default")
    records, truth = world_rows(cfg)
    assert {"records": digest(records), "ground_truth": digest(truth)} == PINNED["world"]["default, world 2"]
    rows, _ = artifacts.useru_pairs(cfg, artifacts.world(cfg))
    assert {"pairs": digest(rows), "n_pairs": len(rows)} == PINNED["catalogue"]["default, world 2"]
