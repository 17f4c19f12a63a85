"""The record of recipes tried: key numbers of a run, seeds grouped into recipes, and the seed-band rule."""

import json

import numpy as np
import pytest

from qa_helpers.series import config, recipes


def _run(name, group, recall, nats, r2, failed=False):
    diag = {"exact_recall@1": recall, "exact_chance@1": 0.05, "user_nats": nats}
    return {
        "name": name,
        "group": group,
        "seconds_per_step": 0.4,
        "evals": [{"exact_recall@1": recall, "user_share": 0.5}],
        "on_userU": {"v3": diag, "v4": diag},
        "facet_readout": {"prefix mean": [0.5, 0.5], "hidden at <USER_EMB>": [0.4, 0.3], "embedding": [r2, 0.1]},
        "error": "RuntimeError: diverged" if failed else None,
    }


RUNS = [
    _run("base s0", "base", 0.20, 0.50, 0.26),
    _run("base s1", "base", 0.22, 0.48, 0.27),
    _run("base s2", "base", 0.21, 0.52, 0.25),
    _run("better", "better", 0.30, 0.51, 0.40),
    _run("broken", "broken", 0.0, 0.0, 0.0, failed=True),
    {"name": "old", "seconds_per_step": 0.7, "evals": [{"exact_recall@1": 0.15}], "error": None},
]


def test_key_numbers_read_every_place_and_leave_what_a_run_lacks_empty():
    numbers = recipes.key_numbers(RUNS[0])
    assert numbers["recall@1 (v3 pairs)"] == 0.20 and numbers["facet R2: embedding"] == 0.26
    assert numbers["s/step"] == 0.4 and numbers["user share"] == 0.5
    old = recipes.key_numbers(RUNS[-1])
    assert old["own recall@1"] == 0.15 and np.isnan(old["user nats (v3 pairs)"])


def test_summary_averages_the_seeds_of_a_recipe_and_skips_failed_runs():
    table = recipes.summary(RUNS)
    assert list(table.index) == ["base", "better", "old"]  # failed runs stay in the file, out of the means
    assert table.loc["base", "seeds"] == 3 and table.loc["base", "recall@1 (v3 pairs)"] == pytest.approx(0.21)
    assert table.loc["base", "sd recall@1 (v3 pairs)"] == pytest.approx(0.01)


def test_compare_calls_a_change_only_beyond_the_base_seed_band():
    calls = recipes.compare(RUNS, "better", "base")["call"]
    assert calls["recall@1 (v3 pairs)"] == "up"  # +0.09 against a band of 2 x 0.01
    assert calls["user nats (v3 pairs)"] == "within the noise"  # +0.01 against 2 x 0.02
    assert calls["facet R2: embedding"] == "up"
    # a base run under one seed only: the variant's own seeds give the band
    reverse = recipes.compare(RUNS + [_run("other", "other", 0.25, 0.50, 0.26)], "base", "better")
    assert reverse["call"]["recall@1 (v3 pairs)"] == "down" and set(reverse["band of"]) == {"base"}
    assert reverse["noise band"]["recall@1 (v3 pairs)"] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="two seeds"):
        recipes.compare(RUNS + [_run("other", "other", 0.25, 0.50, 0.26)], "other", "better")


def test_the_committed_record_is_readable_and_every_recipe_has_a_command():
    records = recipes.load()
    assert records and all(r["command"].startswith("python benchmarks/recipe_search.py") for r in records)
    assert len(recipes.summary(records)) == len({recipes.group_of(r) for r in records if not r.get("error")})
    json.dumps(records)


def test_the_chosen_recipe_is_the_default_profile_and_every_search_step_was_run():
    """The default profile trains what the record says was chosen: every run of recipes.CHOSEN used the default
    profile's settings (its training seed aside), it ran under more than one seed, and every (variant, base) pair
    notebook 03 compares names recorded recipes."""
    records = [r for r in recipes.load() if not r.get("error")]
    chosen = [r for r in records if recipes.group_of(r) == recipes.CHOSEN]
    assert len({r["settings"]["train_seed"] for r in chosen}) >= 2
    default = json.loads(json.dumps(config.load("default").to_dict()))  # tuples as the record holds them
    # the settings that decide the pretrained model (downstream budgets aside)
    recipe = {k for stage in ("world", "userU", "pretrain") for k in config.CACHED_BY[stage]} - {"train_seed"}
    for run in chosen:
        differ = {k for k, v in run["settings"].items() if k in recipe and default.get(k) != v}
        assert not differ, f"{run['name']} used {differ} other than the default profile's"
    groups = {recipes.group_of(r) for r in records}
    assert {name for step in recipes.STEPS for name in step} | {recipes.STARTING} <= groups
