"""The committed sample (data_samples/) and the generated tables of its datasheet (data_samples/README.md).

`python -m qa_helpers sample` regenerates both. Each table sits between `<!-- BEGIN name -->` and
`<!-- END name -->` markers in the README, so a test can recompute every number and compare.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..method.metrics import auc, ks
from ..method.schema import atomic_write_text, read_jsonl, write_jsonl
from ..synthetic import catalog, interests, scenarios, tasks, traits, world
from ..synthetic.useru_catalogue import catalogue_facets
from ..useru import builder
from . import config

SAMPLE_DIR = config.REPO_ROOT / "data_samples"
SAMPLE_PROFILE = config.load("default", seed=0, n_pretrain_users=25, n_downstream_users=25)
POPULATION_USERS = 100_000  # users drawn (traits and labels only) to measure base rates and the oracle
POPULATION_SEED = 1


def population_task_stats(
    n: int = POPULATION_USERS, seed: int = POPULATION_SEED, world_version: int = 1
) -> dict[str, dict]:
    """Base rate and oracle AUC/KS per task on `n` fresh users (no events needed: labels come from traits, and in
    world version 2 from interests too)."""
    rng = np.random.default_rng(seed)
    probs = tasks.label_probabilities(*interests.draw_future(n, rng, world_version == 2))
    labels = tasks.draw_labels(probs, rng)
    return {
        t: {
            "base_rate": float(labels[:, k].mean()),
            "oracle_auc": auc(labels[:, k], probs[:, k]),
            "oracle_ks": ks(labels[:, k], probs[:, k]),
        }
        for k, t in enumerate(tasks.TASK_NAMES)
    }


def latent_population(
    n: int, seed: int, world_version: int, suite: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(state (n, d), probs (n, T), labels (n, T)) of `n` fresh users, no events: the future window's latent state
    as World.latent_state gives it, the oracle's label probabilities and labels drawn from them; the ten tasks', or
    with `suite` the long-tail scenarios' (scenarios.py)."""
    future, x = interests.draw_future(n, np.random.default_rng(seed), world_version == 2)
    if suite:
        probs, labels = scenarios.labels(future, x, seed)
    else:
        probs = tasks.label_probabilities(future, x)
        labels = tasks.draw_labels(probs, np.random.default_rng([seed, 1]))
    return interests.latent_state(future, x), probs, labels


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _loadings(entry) -> str:
    return ", ".join(f"{k} {v:+.1f}" for k, v in entry.loadings.items()) or "none (distractor)"


def _render_traits() -> str:
    corr = traits.correlation_matrix()
    rows = []
    for i, name in enumerate(traits.TRAITS):
        partners = [
            f"{traits.TRAITS[j]} {corr[i, j]:+.2f}" for j in range(traits.N_TRAITS) if j != i and corr[i, j] != 0
        ]
        rows.append([f"`{name}`", traits.DESCRIPTIONS[name], ", ".join(partners) or "-"])
    return _table(["trait", "drives", "correlated with"], rows)


def _render_modalities() -> str:
    rows = []
    for m in catalog.EVENT_MODALITIES:
        example = catalog.ENTRIES[m][0].texts[0]
        rows.append(
            [
                m,
                catalog.MODALITY_LABELS[m],
                f"{catalog.BASE_EVENTS_PER_90_DAYS[m]:g}",
                f"{catalog.ACTIVITY_EXPONENT[m]:g}",
                f"{catalog.MISSING_RATE[m]:.0%}",
                len(catalog.ENTRIES[m]),
                f"`{example}`",
            ]
        )
    rows.append(
        [
            "tabular",
            catalog.MODALITY_LABELS["tabular"],
            "1 row",
            "-",
            f"{catalog.MISSING_RATE['tabular']:.0%}",
            f"{len(world.TABULAR_FEATURES)} informative + noise",
            "`" + ", ".join(world.TABULAR_FEATURES[:4]) + ", ...`",
        ]
    )
    return _table(
        ["modality", "what", "mean events / 90 d", "activity exponent", "missing", "entries", "example"], rows
    )


def _render_entries() -> str:
    parts = []
    for m in catalog.EVENT_MODALITIES:
        rows = [
            [e.key, e.facet, _loadings(e), f"{e.base:+.1f}", e.hours, f"{e.late:g}", len(e.texts)]
            for e in catalog.ENTRIES[m]
        ]
        parts.append(
            f"**{m}**\n\n" + _table(["entry", "facet", "trait loadings", "base", "hours", "late", "texts"], rows)
        )
    return "\n\n".join(parts)


def _render_tasks(stats: dict[str, dict]) -> str:
    rows = []
    for t in tasks.TASKS:
        s = stats[t.name]
        rows.append(
            [
                t.name,
                t.domain,
                ", ".join(t.evidence),
                t.mechanism,
                f"{t.slope:g}",
                f"{t.base_rate:.0%}",
                f"{s['base_rate']:.3f}",
                f"{s['oracle_auc']:.3f}",
                f"{s['oracle_ks']:.3f}",
            ]
        )
    return _table(
        [
            "task",
            "domain",
            "evidence (by design)",
            "mechanism",
            "slope b",
            "design base rate",
            "base rate",
            "oracle AUC",
            "oracle KS",
        ],
        rows,
    )


def _render_interests(n: int = POPULATION_USERS, seed: int = POPULATION_SEED) -> str:
    """World version 2's interests, facet by facet: the trait that pulls them and the share of `n` fresh users
    holding each."""
    held = interests.sample(traits.sample(n, np.random.default_rng(seed)), np.random.default_rng([seed, 2])) > 0
    share = held.mean(0)
    rows = []
    for facet in catalog.FACETS:
        items = [i for i in interests.INTERESTS if i.facet == facet]
        listed = ", ".join(f"{i.name} {share[interests.INDEX[i.name]]:.1%}" for i in items)
        rows.append([facet, f"`{interests.FACET_TRAIT[facet]}`", listed])
    return _table(["facet", "pulled by", "interests (share of users holding each)"], rows)


def _render_tasks_v2(stats: dict[str, dict]) -> str:
    """World version 2's task scores: the interests each hinges on, and the oracle on fresh users."""
    rows = []
    for t in tasks.TASKS:
        s = stats[t.name]
        hinges = ", ".join(f"{name} x{w:g}" for name, w in tasks.V2_INTERESTS[t.name]) or "none (broad)"
        conj = tasks.V2_CONJUNCTIONS.get(t.name)
        conj_text = f"{conj[0]} x {conj[1]} (x{conj[2]:g})" if conj else "-"
        rows.append(
            [t.name, hinges, conj_text, f"{s['base_rate']:.3f}", f"{s['oracle_auc']:.3f}", f"{s['oracle_ks']:.3f}"]
        )
    header = ["task", "interests (weight on strength)", "conjunction", "base rate", "oracle AUC", "oracle KS"]
    return _table(header, rows)


def _sample_stats(folder: Path = SAMPLE_DIR) -> dict:
    """Per-modality event statistics of the sample's users (pretraining and downstream together)."""
    records = read_jsonl(folder / "users_pretrain.jsonl") + read_jsonl(folder / "users_downstream.jsonl")
    out = {"users": len(records)}
    for m in catalog.EVENT_MODALITIES:
        n = np.array([len(r["events"].get(m, [])) for r in records])
        out[m] = {
            "mean": float(n.mean()),
            "median": float(np.median(n)),
            "max": int(n.max()),
            "missing": float((n == 0).mean()),
        }
    out["tabular"] = {"missing": float(np.mean([r.get("tabular") is None for r in records]))}
    return out


def _render_sample(stats: dict) -> str:
    rows = [
        [m, f"{stats[m]['mean']:.1f}", f"{stats[m]['median']:.0f}", stats[m]["max"], f"{stats[m]['missing']:.0%}"]
        for m in catalog.EVENT_MODALITIES
    ]
    rows.append(["tabular", "-", "-", "-", f"{stats['tabular']['missing']:.0%}"])
    return f"{stats['users']} users.\n\n" + _table(["modality", "mean events", "median", "max", "no events"], rows)


def _render_useru(stats: dict) -> str:
    rows = [[k, v if isinstance(v, int) else f"{v:.2f}"] for k, v in stats.items()]
    return _table(["UserU statistic", "value"], rows)


def build_sample_useru(folder: Path = SAMPLE_DIR) -> tuple[list[dict], dict]:
    cfg = SAMPLE_PROFILE
    return builder.build(
        read_jsonl(folder / "users_pretrain.jsonl"),
        read_jsonl(folder / "future_pretrain.jsonl"),
        catalogue_facets(cfg.world_version),  # UserU version 5.1 on world version 2
        seed=cfg.seed,
        k=cfg.uqa_topics_per_user,
        error_rate=cfg.draft_error_rate,
        window_days=cfg.window_days,
        k_low=cfg.uqa_low_topics,
    )


def render_blocks(folder: Path = SAMPLE_DIR) -> dict[str, str]:
    """Every generated table of the datasheet, recomputed from the code and the sample in `folder`."""
    return {
        "traits": _render_traits(),
        "modalities": _render_modalities(),
        "entries": _render_entries(),
        "tasks": _render_tasks(population_task_stats()),
        "interests": _render_interests(),
        "tasks_v2": _render_tasks_v2(population_task_stats(world_version=2)),
        "sample": _render_sample(_sample_stats(folder)),
        "userU": _render_useru(build_sample_useru(folder)[1]),
    }


def update_readme(readme: Path, blocks: dict[str, str]) -> None:
    text = readme.read_text()
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", flags=re.S)
        if not pattern.search(text):
            raise ValueError(f"{readme} has no '<!-- BEGIN {name} -->' ... '<!-- END {name} -->' block")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    atomic_write_text(readme, text)


def write_sample(folder: Path = SAMPLE_DIR) -> None:
    """Regenerate the sample world, its UserU pairs, and the datasheet tables."""
    w = world.generate(SAMPLE_PROFILE)
    world.save(w, folder, SAMPLE_PROFILE)
    rows, stats = build_sample_useru(folder)
    write_jsonl(folder / "userU.jsonl", rows)
    update_readme(folder / "README.md", render_blocks(folder))
    print(json.dumps(stats, indent=1))
