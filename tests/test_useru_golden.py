"""UserU's pairs are byte-identical to those of the two builders it was merged from (the catalogue's userU.py and the
catalogue-free userU_from_records.py of commit d4e855c): digests the old code wrote (tests/data/useru_golden.py) of
the synthetic world's pairs and of the second dataset's clustered-facet pairs, so no number of the series moved."""

import hashlib
import json
from pathlib import Path

import pytest

from qa_helpers.cli import your_logs
from qa_helpers.method import sentence_encoder
from qa_helpers.method.spec import DatasetSpec
from qa_helpers.series import artifacts, config
from qa_helpers.synthetic import example_logs
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru import builder

GOLDEN = json.loads((Path(__file__).parent / "data" / "useru_golden.json").read_text())
CATALOGUE = {"world 2": {}, "world 1": {"world_version": 1}, "world 2, uqa_low_topics 3": {"uqa_low_topics": 3}}


def digest(rows: list[dict]) -> str:
    """The first 16 hex digits of the sha256 of the pairs, one sorted-keys JSON line each."""
    h = hashlib.sha256()
    for r in rows:
        h.update((json.dumps(r, sort_keys=True) + "\n").encode())
    return h.hexdigest()[:16]


def catalogue_pairs(profile: str, overrides: dict) -> list[dict]:
    cfg = config.load(profile, **overrides)
    w = artifacts.world(cfg)
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


@pytest.mark.parametrize("label", CATALOGUE)
def test_the_smoke_worlds_pairs_are_the_old_builders(label):
    rows = catalogue_pairs("smoke", CATALOGUE[label])
    want = GOLDEN["catalogue"][f"smoke, {label}"]
    assert (digest(rows), len(rows)) == (want["pairs"], want["n_pairs"])


def test_the_second_datasets_clustered_pairs_are_the_old_builders(tmp_path):
    cfg = config.load("smoke")
    data = example_logs.write(tmp_path, cfg.own_logs_users, cfg.seed)
    spec = DatasetSpec.load(tmp_path / "spec.json")
    for low in (0, 2):
        built = your_logs.pretraining_data(
            data.records,
            data.future_records,
            spec,
            config.load("smoke", uqa_low_topics=low),
            sentence_encoder.text_cache("hashing-64"),
            cfg.own_logs_facets,
        )
        assert digest(built["pairs"]) == GOLDEN["clustered"][f"smoke, hashing-64 low={low}"]["pairs"]
    rows, _ = builder.build(
        data.records, None, built["facets"], 3, 10, 0.25, spec.window_days, modalities=spec.event_modalities
    )
    assert digest(rows) == GOLDEN["clustered"]["smoke, hashing-64 nofuture"]["pairs"]


@pytest.mark.slow
def test_the_default_profiles_pairs_are_the_old_builders():
    """The series' own UserU (about 45 s to build the default world and its pairs, cached for `make reproduce`)."""
    cfg = config.load("default")
    rows, _ = artifacts.useru_pairs(cfg, artifacts.world(cfg))
    want = GOLDEN["catalogue"]["default, world 2"]
    assert (digest(rows), len(rows)) == (want["pairs"], want["n_pairs"])
