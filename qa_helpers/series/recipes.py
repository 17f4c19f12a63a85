"""The record of pretraining recipes tried, and the rule that picks one from pretraining-side numbers only.

Every run of `benchmarks/recipe_search.py` appends one JSON line to benchmarks/results/recipe_variants.jsonl: its
settings, the diagnostics over training, the facet read-out at three levels of the model (downstream users'
records, no label), and the diagnostics on the held-out users that both UserU versions hold out (`on_userU`), so
that recipes trained on either version are scored on the same pairs. Runs of one recipe under several training
seeds share a `group`.

    records = recipes.load()
    recipes.summary(records)                       # one row per recipe: the mean of its seeds, and their spread
    recipes.compare(records, "variant", "base")    # each key number's change against the base recipe's seed band

The rule: a key number of a variant differs from its base when the difference of their means is larger than the
base's noise band, twice the standard deviation of that number over the base's seeds (about 95% of one run's
noise, judged from the spread of the same recipe over seeds rather than a guessed tie band); when the base ran
under one seed only, the variant's own seeds give the band.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import REPO_ROOT

RESULTS = REPO_ROOT / "benchmarks" / "results" / "recipe_variants.jsonl"
# world version 2 (issue 21) keeps its own record: its held-out pairs are other pairs, so no row compares across files
RESULTS_WORLD2 = REPO_ROOT / "benchmarks" / "results" / "recipe_variants_world2.jsonl"
# the key numbers of a run: name -> path into its record (evals[-1]: the last evaluation on the run's own held-out
# users; on_userU: the held-out users both UserU versions hold out; facet_readout: downstream users, no label)
KEY = {
    "recall@1 (v3 pairs)": ("on_userU", "v3", "exact_recall@1"),
    "chance (v3)": ("on_userU", "v3", "exact_chance@1"),
    "recall@1 (v4 pairs)": ("on_userU", "v4", "exact_recall@1"),
    "chance (v4)": ("on_userU", "v4", "exact_chance@1"),
    "user nats (v3 pairs)": ("on_userU", "v3", "user_nats"),
    "user nats (v4 pairs)": ("on_userU", "v4", "user_nats"),
    "facet R2: prefix mean": ("facet_readout", "prefix mean", 0),
    "facet R2: read-out state": ("facet_readout", "hidden at <USER_EMB>", 0),
    "facet R2: embedding": ("facet_readout", "embedding", 0),
    "own recall@1": ("evals", -1, "exact_recall@1"),
    "own chance": ("evals", -1, "exact_chance@1"),
    "held-out query swap": ("evals", -1, "held_out_query_swap_win"),
    "user share": ("evals", -1, "user_share"),
    "effective rank": ("evals", -1, "effective_rank"),
    "moved: LLM": ("evals", -1, "weight_change/LLM"),
    "moved: encoder adapters": ("evals", -1, "weight_change/encoder adapters"),
    "moved: head": ("evals", -1, "weight_change/head"),
    "s/step": ("seconds_per_step",),
}
# the numbers a recipe is chosen on (higher is better), the rest describe it
CHOSEN_ON = (
    "recall@1 (v3 pairs)",
    "recall@1 (v4 pairs)",
    "user nats (v3 pairs)",
    "user nats (v4 pairs)",
    "facet R2: embedding",
)
STARTING = "v6-baseline"  # the recipe this round started from (model version 6: text vectors encoded alone)
CHOSEN = "C1"  # the default profile's recipe (config.PROFILES["default"]); a test checks its runs used its settings
STEPS = (
    ("N", "v6-baseline"),
    ("N + readout anchor+prefix", "N"),
    ("N + head residual", "N"),
    ("N + answer pooling mean", "N"),
    ("N + token embeddings from MiniLM", "N"),
    ("N + lr_modules 5", "N"),
    ("N + lr 1e-3", "N"),
    ("N + UserU v4", "N"),
    ("C1", "N"),
)  # (variant, base) pairs of the search, in order: notebook 03 shows each call
# the re-check on world version 2: the chosen recipe under three seeds, then one change at a time against its band
STEPS_WORLD2 = (("world2 C1 + UserU low topics 5", "world2 C1"),)
BAND_SDS = 2.0  # a difference is beyond the noise when larger than this many seed standard deviations of the base


def results_for(world_version: int) -> Path:
    """The record of the runs on one world version."""
    return {1: RESULTS, 2: RESULTS_WORLD2}[world_version]


def load(path: Path = RESULTS) -> list[dict]:
    """Every recorded run, oldest first."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def key_numbers(record: dict) -> dict[str, float]:
    """The KEY numbers of one run (NaN where the run predates them or failed)."""
    out = {}
    for name, path in KEY.items():
        value = record
        try:
            for step in path:
                value = value[step]
            out[name] = float(value)
        except (KeyError, IndexError, TypeError):
            out[name] = float("nan")
    return out


def group_of(record: dict) -> str:
    return record.get("group") or record["name"]


def summary(records: list[dict]) -> pd.DataFrame:
    """One row per recipe (group), in the order first tried: its number of seeds, the mean of every key number
    over its seeds, and the standard deviation of the chosen-on numbers where it has several seeds."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        if not r.get("error"):
            groups.setdefault(group_of(r), []).append(key_numbers(r))
    rows = []
    for group, runs in groups.items():
        frame = pd.DataFrame(runs)
        row = {"recipe": group, "seeds": len(runs), **frame.mean().to_dict()}
        if len(runs) > 1:
            row |= {f"sd {k}": frame[k].std(ddof=1) for k in CHOSEN_ON}
        rows.append(row)
    return pd.DataFrame(rows).set_index("recipe")


def compare(records: list[dict], variant: str, base: str) -> pd.DataFrame:
    """Each chosen-on number of recipe `variant` against recipe `base` (both groups): the means, the difference,
    the noise band (BAND_SDS x the seed standard deviation of the base, or of the variant when only it ran under
    two seeds or more; `band of` says whose) and the call: 'up', 'down' or 'within the noise'."""
    table = summary(records)
    banded = next((r for r in (base, variant) if table.loc[r, "seeds"] >= 2), None)
    if banded is None:
        raise ValueError(f"neither {base!r} nor {variant!r} ran under two seeds: no noise band")
    rows = []
    for k in CHOSEN_ON:
        a, b, band = table.loc[variant, k], table.loc[base, k], BAND_SDS * table.loc[banded, f"sd {k}"]
        d = a - b
        call = "within the noise" if not abs(d) > band else ("up" if d > 0 else "down")
        row = {"number": k, variant: a, base: b, "difference": d, "noise band": band, "band of": banded}
        rows.append({**row, "call": call})
    return pd.DataFrame(rows).set_index("number")
