"""Plot functions of the series. Each returns (Figure, data): `data` holds the plotted numbers for the sidecar."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from scipy.stats import spearmanr

from . import catalog as C
from . import tasks as TK
from . import traits as T


def events_per_modality(records: list[dict]):
    """Histogram (log-log) of events per user for each event modality: the heavy tail."""
    fig, axes = plt.subplots(1, len(C.EVENT_MODALITIES), figsize=(16, 3.2), sharey=True)
    data = {}
    for ax, m in zip(axes, C.EVENT_MODALITIES):
        n = np.array([len(r["events"].get(m, [])) for r in records])
        bins = np.unique(np.round(np.logspace(0, np.log10(max(n.max(), 2) + 1), 20)))
        ax.hist(n[n > 0], bins=bins, color="C0")
        ax.set(xscale="log", yscale="log", title=m, xlabel="events per user (90 days)")
        data[m] = {"mean": float(n.mean()), "median": float(np.median(n)), "p99": float(np.percentile(n, 99)),
                   "max": int(n.max()), "share_without": float((n == 0).mean())}
        ax.text(0.97, 0.95, f"mean {n.mean():.0f}\nmedian {np.median(n):.0f}\nnone {np.mean(n == 0):.0%}",
                transform=ax.transAxes, ha="right", va="top", fontsize=9,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    axes[0].set_ylabel("users")
    fig.suptitle("Events per user and modality (log-log): a heavy tail, and some users without a modality")
    fig.tight_layout()
    return fig, data


def user_timeline(record: dict, window_days: int = 90):
    """One user's 90 days: every event as a dot at (day + hour / 24, modality), coloured by facet."""
    fig, ax = plt.subplots(figsize=(14, 4.2))
    facets = sorted({e.facet for es in C.ENTRIES.values() for e in es})
    palette = dict(zip(facets, sns.color_palette("husl", len(facets))))
    shown, data = set(), {}
    jitter = np.random.default_rng(0)
    for row, m in enumerate(C.EVENT_MODALITIES):
        evs = record["events"].get(m, [])
        data[m] = len(evs)
        for ev in evs:
            entry = C.lookup(m, ev["text"])
            facet = entry.facet if entry else "unknown"
            ax.scatter(ev["day"] + ev["hour"] / 24, row + jitter.uniform(-0.2, 0.2),
                       s=14, color=palette.get(facet, "grey"), label=None if facet in shown else facet)
            shown.add(facet)
    ax.set_yticks(range(len(C.EVENT_MODALITIES)), C.EVENT_MODALITIES)
    ax.set(xlim=(0, window_days), xlabel="day of the window (hour as fraction)",
           title=f"User {record['user_id']}: one 90-day timeline across modalities")
    ax.legend(ncol=2, fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left", title="facet", markerscale=1.5)
    fig.tight_layout()
    return fig, data


def task_rates(stats: dict[str, dict]):
    """Base rate and oracle AUC/KS per task."""
    names = list(TK.TASK_NAMES)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 3.6))
    a1.bar(names, [stats[t]["base_rate"] for t in names], color="C0")
    a1.set(ylabel="base rate", title="Share of positive users per task")
    x = np.arange(len(names))
    a2.bar(x - 0.2, [stats[t]["oracle_auc"] for t in names], 0.4, label="oracle AUC")
    a2.bar(x + 0.2, [stats[t]["oracle_ks"] for t in names], 0.4, label="oracle KS")
    a2.set_xticks(x, names)
    a2.set(ylim=(0, 1.15), title="The ceiling: the oracle's AUC and KS")
    a2.axhline(0.5, color="grey", lw=0.8, ls="--")
    a2.legend(loc="upper center", ncol=2)
    for ax in (a1, a2):
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig, {t: stats[t] for t in names}


def trait_task_heatmap(future_traits: np.ndarray, probs: np.ndarray):
    """Spearman correlation between each (future) trait and each task's oracle probability."""
    rho = np.array([[spearmanr(future_traits[:, i], probs[:, k]).statistic for k in range(len(TK.TASKS))]
                    for i in range(T.N_TRAITS)])
    fig, ax = plt.subplots(figsize=(9, 6.5))
    sns.heatmap(rho, ax=ax, cmap="vlag", center=0, vmin=-1, vmax=1, annot=True, fmt=".2f", annot_kws={"size": 7},
                xticklabels=TK.TASK_NAMES, yticklabels=T.TRAITS)
    ax.set_title("Which traits drive which task (Spearman rho, trait vs oracle probability)")
    fig.tight_layout()
    return fig, {"traits": list(T.TRAITS), "tasks": list(TK.TASK_NAMES), "rho": rho.round(4)}


def evidence_map(aucs: np.ndarray, designed: dict[str, tuple[str, ...]]):
    """Tasks x modalities probe AUC, with the datasheet's designed strongest modality boxed."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sns.heatmap(aucs, ax=ax, cmap="mako", vmin=0.45, vmax=1.0, annot=True, fmt=".2f",
                xticklabels=C.MODALITIES, yticklabels=TK.TASK_NAMES)
    for k, task in enumerate(TK.TASK_NAMES):
        j = C.MODALITIES.index(designed[task][0])
        ax.add_patch(plt.Rectangle((j, k), 1, 1, fill=False, edgecolor="orange", lw=2.5))
    ax.set_title("Where the evidence lives: probe AUC from one modality's counts\n(orange: the datasheet's "
                 "strongest modality)")
    fig.tight_layout()
    return fig, {"tasks": list(TK.TASK_NAMES), "modalities": list(C.MODALITIES), "auc": aucs.round(4)}


def reflection_stats(stats: dict, topic_counts: dict[str, int]):
    """What the reflection step did to the drafted claims, and how often each aspect of topic was chosen."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 1.4]})
    kinds = ["claims_supported", "claims_revised", "claims_dropped"]
    a1.bar([k.split("_")[1] for k in kinds], [stats[k] for k in kinds], color=["C2", "C1", "C3"])
    a1.set(title=f"Reflection over {stats['claims_checked']} drafted claims", ylabel="claims")
    top = sorted(topic_counts.items(), key=lambda kv: -kv[1])[:15]
    a2.barh([k for k, _ in top][::-1], [v for _, v in top][::-1], color="C0")
    a2.set(title="Most often chosen D_uqa topics (top 15 of 72)", xlabel="users")
    fig.tight_layout()
    return fig, {"stats": stats, "topic_counts": topic_counts}
