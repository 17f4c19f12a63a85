"""Plot functions of the series. Each returns (Figure, data): `data` holds the plotted numbers for the sidecar."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import MaxNLocator, NullLocator
from scipy.stats import spearmanr

from ..method import diagnostics
from ..synthetic import catalog, tasks, traits
from .outputs import PALETTE


def events_per_modality(records: list[dict]):
    """Histogram (log-log) of events per user for each event modality: the heavy tail."""
    fig, axes = plt.subplots(1, len(catalog.EVENT_MODALITIES), figsize=(16, 3.2), sharey=True)
    data = {}
    for ax, m in zip(axes, catalog.EVENT_MODALITIES):
        n = np.array([len(r["events"].get(m, [])) for r in records])
        bins = np.unique(np.round(np.logspace(0, np.log10(max(n.max(), 2) + 1), 20)))
        ax.hist(n[n > 0], bins=bins, color="C0")
        ax.set(xscale="log", yscale="log", title=m, xlabel="events per user (90 days)")
        data[m] = {
            "mean": float(n.mean()),
            "median": float(np.median(n)),
            "p99": float(np.percentile(n, 99)),
            "max": int(n.max()),
            "share_without": float((n == 0).mean()),
        }
        ax.text(
            0.97,
            0.95,
            f"mean {n.mean():.0f}\nmedian {np.median(n):.0f}\nnone {np.mean(n == 0):.0%}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize="small",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    axes[0].set_ylabel("users")
    fig.suptitle("Events per user and modality (log-log): a heavy tail, and some users without a modality")
    fig.tight_layout()
    return fig, data


def _facet_styles(names: list[str]) -> dict[str, dict]:
    """A distinct colour per facet (up to 24), as scatter keywords: tab20's dark shades, then its light ones but the
    pale grey (dots), then tab20b's darkest (diamonds, set apart from tab20's darks). Black stays for 'unknown'."""
    tab20 = plt.get_cmap("tab20").colors
    dots = tab20[0::2] + tab20[1:14:2] + tab20[17::2]
    styles = [{"color": c, "marker": "o"} for c in dots]
    styles += [{"color": c, "marker": "D", "s": 12} for c in plt.get_cmap("tab20b").colors[0::4]]
    if len(names) > len(styles):
        raise ValueError(f"{len(names)} facets, only {len(styles)} distinct colours")
    return dict(zip(names, styles))


def _facet_legend(ax, ncol: int) -> None:
    """The facet legend outside the axes, on the right, so it never covers data."""
    ax.legend(ncol=ncol, bbox_to_anchor=(1.01, 1), loc="upper left", title="facet", markerscale=1.5, borderaxespad=0)


def user_timeline(record: dict, window_days: int = 90):
    """One user's 90 days: every event as a dot at (day + hour / 24, modality), coloured by facet."""
    fig, ax = plt.subplots(figsize=(14, 4.2))
    styles = _facet_styles(sorted(catalog.FACETS))
    jitter = np.random.default_rng(0)
    points, data = {}, {}
    for row, m in enumerate(catalog.EVENT_MODALITIES):
        evs = record["events"].get(m, [])
        data[m] = len(evs)
        for ev in evs:
            entry = catalog.lookup(m, ev["text"])
            points.setdefault(entry.facet if entry else "unknown", []).append(
                (ev["day"] + ev["hour"] / 24, row + jitter.uniform(-0.2, 0.2))
            )
    for facet in sorted(points):
        style = {"s": 14, "color": "k", "marker": "o"} | styles.get(facet, {})
        ax.scatter(*np.array(points[facet]).T, label=facet, **style)
    ax.set_yticks(range(len(catalog.EVENT_MODALITIES)), catalog.EVENT_MODALITIES)
    ax.set(
        xlim=(0, window_days),
        xlabel="day of the window (hour as fraction)",
        title=f"User {record['user_id']}: one 90-day timeline across modalities",
    )
    _facet_legend(ax, ncol=2)
    fig.tight_layout()
    return fig, data


def task_rates(stats: dict[str, dict]):
    """Base rate and oracle AUC/KS per task."""
    names = list(tasks.TASK_NAMES)
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
    rho = np.array(
        [
            [spearmanr(future_traits[:, i], probs[:, k]).statistic for k in range(len(tasks.TASKS))]
            for i in range(traits.N_TRAITS)
        ]
    )
    fig, ax = plt.subplots(figsize=(9, 6.5))
    sns.heatmap(
        rho,
        ax=ax,
        cmap="vlag",
        center=0,
        vmin=-1,
        vmax=1,
        annot=True,
        fmt=".2f",
        annot_kws={"size": "x-small"},
        xticklabels=tasks.TASK_NAMES,
        yticklabels=traits.TRAITS,
    )
    ax.set_title("Which traits drive which task (Spearman rho, trait vs oracle probability)")
    fig.tight_layout()
    return fig, {"traits": list(traits.TRAITS), "tasks": list(tasks.TASK_NAMES), "rho": rho.round(4)}


def premise_gaps(rows_by_panel: dict[str, list[dict]], methods: list[str]):
    """Per task, the probe AUC of each of `methods` (the oracle, the full latent state, its task-agnostic summary;
    premise.check's rows), one panel per world and task set, in a grid of two columns: bars per task for a few
    tasks; for a suite of many scenarios, each method's AUC per scenario, the scenarios sorted by what the summary
    loses against the full state (the size gap), and each method's mean as a dashed line."""
    n = len(rows_by_panel)
    cols = min(n, 2)
    fig, axes = plt.subplots((n + 1) // 2, cols, figsize=(6.8 * cols, 3.9 * ((n + 1) // 2)), squeeze=False)
    data = {}
    for ax, (panel, rows) in zip(axes.flat, rows_by_panel.items()):
        table = {(r["method"], r["task"]): r["auc"] for r in rows}
        names = list(dict.fromkeys(r["task"] for r in rows if r["task"] != "Avg")) + ["Avg"]
        data[panel] = {m: {t: round(table[m, t], 4) for t in names} for m in methods}
        if len(names) <= 13:
            x = np.arange(len(names))
            width = 0.8 / len(methods)
            for j, m in enumerate(methods):
                ax.bar(x + (j - (len(methods) - 1) / 2) * width, [table[m, t] for t in names], width, label=m)
            ax.set_xticks(x, names, rotation=45)
            ax.axvline(len(names) - 1.5, color="grey", lw=0.8)
        else:
            full, summary = methods[1], methods[2]
            order = sorted(names[:-1], key=lambda t: table[full, t] - table[summary, t])
            x = np.arange(len(order))
            for m in methods:
                (line,) = ax.plot(x, [table[m, t] for t in order], marker=".", lw=0.8, label=m)
                ax.axhline(table[m, "Avg"], color=line.get_color(), ls="--", lw=0.8)
            ax.set_xlabel(f"{len(order)} scenarios, by the summary's loss (right: the most lost); dashed: mean")
            ax.set_xticks([])
        ax.set(ylim=(0.45, 1.02), title=panel)
        ax.set_ylabel("probe AUC (test half)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="lower left", fontsize="small")
    fig.suptitle("Can one task-agnostic vector of the embedding's size serve every scenario? The true state 3 ways")
    fig.tight_layout()
    return fig, data


def evidence_map(aucs: np.ndarray, designed: dict[str, tuple[str, ...]]):
    """Tasks x modalities probe AUC, with the datasheet's designed strongest modality boxed."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sns.heatmap(
        aucs,
        ax=ax,
        cmap="mako",
        vmin=0.45,
        vmax=1.0,
        annot=True,
        fmt=".2f",
        xticklabels=catalog.MODALITIES,
        yticklabels=tasks.TASK_NAMES,
    )
    for k, task in enumerate(tasks.TASK_NAMES):
        j = catalog.MODALITIES.index(designed[task][0])
        ax.add_patch(plt.Rectangle((j, k), 1, 1, fill=False, edgecolor="orange", lw=2.5))
    ax.set_title(
        "Where the evidence lives: probe AUC from one modality's counts\n(orange: the datasheet's strongest modality)"
    )
    fig.tight_layout()
    return fig, {"tasks": list(tasks.TASK_NAMES), "modalities": list(catalog.MODALITIES), "auc": aucs.round(4)}


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


def _segment_colors(names: list[str]) -> dict[str, tuple]:
    palette = sns.color_palette(PALETTE, 10)
    colors = {"USER": palette[3], "query": palette[7], "<USER_EMB>": palette[6], "soft prompt": palette[8]}
    for i, m in enumerate(catalog.MODALITIES):
        colors[f"MODALITY:{m}"] = palette[1]
        colors[f"events:{m}"] = sns.color_palette("Set2", 6)[i]
    return {n: colors.get(n, "grey") for n in names}


def token_layout(segments: list[tuple[str, int, int]], n_query: int, masks: np.ndarray, user_ids: list[str]):
    """The sequence as coloured blocks (top) and, below, which prefix positions each user attends (missing data)."""
    blocks = list(segments) + [
        ("query", segments[-1][2], segments[-1][2] + n_query),
        ("<USER_EMB>", segments[-1][2] + n_query, segments[-1][2] + n_query + 1),
    ]
    colors = _segment_colors([b[0] for b in blocks])
    fig, (a1, a2) = plt.subplots(
        2,
        1,
        figsize=(15, 2.2 + 0.22 * len(user_ids)),
        sharex=True,
        gridspec_kw={"height_ratios": [1, max(2, 0.35 * len(user_ids))]},
    )
    for name, start, end in blocks:
        a1.barh(0, end - start, left=start, color=colors[name], edgecolor="white")
        label = name.replace("events:", "").replace("MODALITY:", "")
        if end - start >= 4 or name in ("USER", "<USER_EMB>"):
            a1.text(
                (start + end) / 2,
                0,
                label if not name.startswith("MODALITY") else "",
                ha="center",
                va="center",
                fontsize="small",
                rotation=0 if end - start >= 4 else 90,
            )
    mod_start = segments[1][1]
    a1.text(mod_start + 3, 0.55, "6 modality tokens", ha="center", fontsize="small")
    a1.set(yticks=[], title="Token layout: [USER] [6 x MODALITY] [events per modality] Query: ... <USER_EMB>")
    a2.imshow(masks, aspect="auto", cmap="Greys", interpolation="nearest", extent=(0, masks.shape[1], len(user_ids), 0))
    a2.set_yticks(np.arange(len(user_ids)) + 0.5, user_ids, fontsize="x-small")
    a2.set(xlabel="position", title="Attended prefix positions per user (black); blank = padding or a missing modality")
    for _, start, _ in segments[7:]:
        a2.axvline(start, color="C3", lw=0.6)
    a2.set_xlim(0, blocks[-1][2])
    fig.tight_layout()
    return fig, {"segments": [list(s) for s in blocks], "attended_per_user": dict(zip(user_ids, masks.sum(1)))}


def text_space(vectors: np.ndarray, facets: list[str]):
    """PCA of event-text vectors coloured by facet: does the frozen encoder already group related events?"""
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=0).fit_transform(vectors)
    fig, ax = plt.subplots(figsize=(10, 6.5))
    names = sorted(set(facets))
    styles = _facet_styles([f for f in names if f != "unknown"])
    for f in names:
        sel = np.array([x == f for x in facets])
        ax.scatter(xy[sel, 0], xy[sel, 1], label=f, **({"s": 16, "color": "k", "marker": "o"} | styles.get(f, {})))
    _facet_legend(ax, ncol=2)
    ax.set(xlabel="PC 1", ylabel="PC 2", title="Event texts in all-MiniLM-L6-v2 space (PCA), coloured by facet")
    fig.tight_layout()
    return fig, {"pca": xy.round(4), "facets": facets}


def pretraining_curves(history: list[dict]):
    """Losses, and the pretraining-side diagnostics over training (diagnostics.py): retrieval under one question
    against chance, the query-swap and prefix-shuffle tests, the variance shares and the cosine between users, the
    user nats (how much of the held-out loss needs the user) and how far each module's weights moved."""
    steps = np.array([h["step"] for h in history])
    evals = [h for h in history if "exact_recall@1" in h]
    es = [h["step"] for h in evals]
    fig, axes = plt.subplots(2, 3, figsize=(18, 8))
    axes = axes.ravel()
    for key, color in (("cl", "C0"), ("ntp", "C1")):
        y = np.array([h[key] for h in history])
        axes[0].plot(steps, y, color=color, alpha=0.25)
        k = max(1, len(y) // 30)
        axes[0].plot(
            steps[k - 1 :],
            np.convolve(y, np.ones(k) / k, mode="valid"),
            color=color,
            label={"cl": "contrastive", "ntp": "next-token"}[key],
        )
    axes[0].set(xlabel="step", ylabel="loss", title="Pretraining losses (smoothed)")
    axes[0].legend()
    for key, color, label in (
        ("exact_recall@1", "C2", "trained wording"),
        ("held_out_recall@1", "C4", "held-out wording"),
    ):
        axes[1].plot(es, [h[key] for h in evals], "o-", color=color, label=label)
    if evals:
        axes[1].axhline(evals[0]["exact_chance@1"], color="grey", ls="--", lw=0.8, label="chance")
    axes[1].set(xlabel="step", ylabel="recall@1", ylim=(0, 1), title="Which user? Retrieval under one question")
    axes[1].legend()
    for key, color, label in (
        ("exact_query_swap_win", "C2", "query swap, trained wording"),
        ("held_out_query_swap_win", "C4", "query swap, held-out wording"),
        ("prefix_shuffle_win", "C5", "prefix shuffle"),
    ):
        axes[2].plot(es, [h[key] for h in evals], "o-", color=color, label=label)
    axes[2].axhline(0.5, color="grey", ls="--", lw=0.8, label="chance")
    axes[2].set(
        xlabel="step", ylabel="share of wins", ylim=(0.4, 1.02), title="Does the right question / user fit the answer?"
    )
    axes[2].legend()
    for key, color, label in (
        ("user_share", "C0", "user share"),
        ("query_share", "C1", "query share"),
        ("interaction_share", "C7", "interaction share"),
        ("cos_same_query_other_user", "C3", "cos, two users, one question"),
    ):
        axes[3].plot(es, [h[key] for h in evals], "o-", color=color, label=label)
    axes[3].set(xlabel="step", ylim=(0, 1), title="Embedding spread (held-out users x 24 questions)")
    axes[3].legend()
    if evals and "user_nats" in evals[0]:
        axes[4].plot(es, [h["user_nats"] for h in evals], "o-", color="C0", label="user nats (shuffled - true)")
        axes[4].plot(es, [h["heldout_loss"] for h in evals], "o--", color="C7", label="held-out contrastive loss")
        axes[4].axhline(0, color="grey", ls="--", lw=0.8, label="the user does not matter")
        axes[4].legend()
    axes[4].set(xlabel="step", ylabel="nats", title="How much of the held-out loss needs the user?")
    groups = sorted({k.split("/", 1)[1] for h in evals for k in h if k.startswith("weight_change/")})
    for i, group in enumerate(groups):
        axes[5].plot(es, [h[f"weight_change/{group}"] for h in evals], "o-", color=f"C{i}", label=group)
    if groups:
        axes[5].set_yscale("log")
        axes[5].legend()
    axes[5].set(xlabel="step", ylabel="||w - w0|| / ||w0||", title="How far each module's weights moved")
    fig.tight_layout()
    keys = ("step", *diagnostics.REPORTED, *(f"weight_change/{g}" for g in groups))
    return fig, {
        "step": steps,
        "cl": [h["cl"] for h in history],
        "ntp": [h["ntp"] for h in history],
        "masked_share": [h["masked_share"] for h in history],
        "eval": [{k: h[k] for k in keys if k in h} for h in evals],
    }


def mean_scores(rows: list[dict], metric: str = "auc", title: str | None = None):
    """Mean over tasks of `metric` per method (linear probe, GBDT and the oracle): a dot at the estimate, a line
    over its 95% bootstrap interval and the value printed past the interval's upper end; the axis fits the intervals."""
    avg = [r for r in rows if r["task"] == "Avg" and r["probe"] in ("linear", "gbdt", "none")]
    avg = sorted(avg, key=lambda r: r[metric])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(avg) + 1.2))
    y = np.arange(len(avg))
    vals = np.array([r[metric] for r in avg])
    # a percentile interval need not contain the point estimate in small samples: widen it to the estimate
    lo = np.minimum([r[f"{metric}_lo"] for r in avg], vals)
    hi = np.maximum([r[f"{metric}_hi"] for r in avg], vals)
    colors = ["C3" if r["method"] == "Oracle" else "C0" if r["method"].startswith("Q-Anchor") else "C7" for r in avg]
    ax.hlines(y, lo, hi, colors=colors, lw=2)
    ax.scatter(vals, y, color=colors, s=40, zorder=3)
    span = max(hi.max() - lo.min(), 1e-3)
    for yi, v, h in zip(y, vals, hi):
        ax.text(h + 0.02 * span, yi, f"{v:.3f}", va="center", fontsize="small")
    ax.set_yticks(y, [r["method"] for r in avg])
    ax.grid(axis="y", visible=False)
    ax.set(
        xlim=(lo.min() - 0.05 * span, hi.max() + 0.18 * span),
        ylim=(-0.6, len(avg) - 0.4),
        xlabel=f"mean {metric.upper()} over the 10 tasks (95% bootstrap interval)",
        title=title or f"Downstream {metric.upper()}: every method on the same users, split and probe",
    )
    fig.tight_layout()
    return fig, {r["method"]: {k: r[k] for k in (metric, f"{metric}_lo", f"{metric}_hi")} for r in avg}


def gap_to_oracle(auc_table, oracle: str = "Oracle"):
    """Heatmap of the oracle's AUC minus each method's, per task (how much each leaves on the table)."""
    gap = auc_table.loc[oracle] - auc_table.drop(index=oracle)
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(gap) + 1.5))
    sns.heatmap(gap, ax=ax, cmap="rocket_r", vmin=0, annot=True, fmt=".2f", annot_kws={"size": "x-small"})
    ax.set(title="Gap to the oracle (oracle AUC - method AUC); 0 = as good as possible", xlabel="", ylabel="")
    fig.tight_layout()
    return fig, {"gap": gap.round(4).to_dict(orient="index")}


def query_match_matrix(aucs: np.ndarray, names: list[str]):
    """AUC of the embedding asked task a's query (rows) probed on task b's labels (columns)."""
    fig, ax = plt.subplots(figsize=(8, 6.5))
    sns.heatmap(
        aucs,
        ax=ax,
        cmap="mako",
        annot=True,
        fmt=".2f",
        annot_kws={"size": "x-small"},
        xticklabels=names,
        yticklabels=names,
        vmin=0.5,
    )
    ax.set(
        xlabel="labels of task",
        ylabel="embedding asked the query of task",
        title="Matched (diagonal) vs mismatched queries, Q-Anchor (Base)",
    )
    fig.tight_layout()
    return fig, {"tasks": names, "auc": aucs.round(4)}


def prompt_losses(losses: np.ndarray, names: list[str], window: int = 20):
    """Prototype loss per task against the step (moving average over `window` steps)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    w = max(1, min(window, len(losses) // 5 or 1))
    kernel = np.ones(w) / w
    data = {}
    for t, name in enumerate(names):
        smooth = np.convolve(losses[:, t], kernel, mode="valid")
        ax.plot(np.arange(w, len(losses) + 1), smooth, label=name)
        data[name] = {"first": float(losses[:w, t].mean()), "last": float(losses[-w:, t].mean())}
    ax.set(xlabel="step", ylabel=f"prototype loss (mean of {w} steps)", title="Soft prompt tuning: Eq. 7 per task")
    ax.legend(ncol=2)
    fig.tight_layout()
    return fig, data


def prompt_sweeps(tokens: dict, steps: dict, base: dict, paper: dict):
    """Gain in mean AUC and KS over Q-Anchor (Base) against the number of prompt tokens and of tuning steps.

    tokens / steps: {x: {"auc": .., "ks": ..}} for our runs; base: {"auc": .., "ks": ..}; where these also hold
    "auc_lo", "auc_hi", "ks_lo", "ks_hi" (the 95% interval of each mean), each run's interval is drawn as an error
    bar and Base's as a band around 0. paper: {"tokens": {x: {auc, ks}}, "steps": {..}, "base": {auc, ks}}
    (Tables 9, 10, 2)."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    data = {}
    for col, (axis_name, ours, theirs) in enumerate(
        (("prompt tokens", tokens, paper["tokens"]), ("tuning steps", steps, paper["steps"]))
    ):
        for row, metric in enumerate(("auc", "ks")):
            ax, key = axes[2 * col + row], f"{metric}_vs_{axis_name.replace(' ', '_')}"
            xs = sorted(ours)
            gain = np.array([ours[x][metric] - base[metric] for x in xs])
            err = None
            if f"{metric}_lo" in ours[xs[0]]:
                lo = np.array([ours[x][f"{metric}_lo"] for x in xs]) - base[metric]
                hi = np.array([ours[x][f"{metric}_hi"] for x in xs]) - base[metric]
                err = np.clip([gain - lo, hi - gain], 0, None)
                data[f"{key}_95"] = dict(zip([str(x) for x in xs], np.round(np.c_[lo, hi], 4).tolist()))
            if f"{metric}_lo" in base:
                ax.axhspan(
                    base[f"{metric}_lo"] - base[metric],
                    base[f"{metric}_hi"] - base[metric],
                    color="0.88",
                    zorder=0,
                    label="Base, 95% interval",
                )
            ax.errorbar(xs, gain, yerr=err, fmt="o-", capsize=3, label="ours (mean over tasks, 95% interval)")
            pxs = sorted(theirs)
            ax.plot(pxs, [theirs[x][metric] - paper["base"][metric] for x in pxs], "s--", color="C7", label="paper")
            ax.axhline(0, color="k", lw=0.8)
            ax.set(
                xlabel=axis_name, ylabel=f"mean {metric.upper()} minus Base", title=f"{metric.upper()} vs {axis_name}"
            )
            if axis_name == "prompt tokens":
                ax.set_xscale("log", base=2)
                ax.set_xticks(xs, [str(x) for x in xs])
                ax.xaxis.set_minor_locator(NullLocator())
            data[key] = dict(zip([str(x) for x in xs], np.round(gain, 4)))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    fig.suptitle("Soft prompt tuning: gain over the untuned model (Tables 9 and 10)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig, data


def attention_shift(
    before: np.ndarray,
    after: np.ndarray,
    task_names: list[str],
    categories: list[str],
    evidence: dict[str, tuple[str, ...]],
):
    """Heatmap of the change (percentage points) in <USER_EMB>'s prefix-attention share per category, tasks x
    categories, after tuning; the datasheet's evidence modalities of each task are boxed."""
    shift = 100 * (after - before)
    fig, ax = plt.subplots(figsize=(9, 6))
    lim = max(np.abs(shift).max(), 1e-6)
    sns.heatmap(
        shift,
        ax=ax,
        cmap="vlag",
        center=0,
        vmin=-lim,
        vmax=lim,
        annot=True,
        fmt=".1f",
        annot_kws={"size": "x-small"},
        xticklabels=categories,
        yticklabels=task_names,
        cbar_kws={"label": "attention share after - before (pp)"},
    )
    for r, name in enumerate(task_names):
        for c, cat in enumerate(categories):
            if cat in evidence[name]:
                ax.add_patch(plt.Rectangle((c, r), 1, 1, fill=False, edgecolor="k", lw=1.5))
    ax.set(
        title="Where <USER_EMB> looks after prompt tuning (boxed: the task's evidence modalities)", xlabel="", ylabel=""
    )
    fig.tight_layout()
    return fig, {"shift_pp": dict(zip(task_names, np.round(shift, 3).tolist())), "categories": list(categories)}


def packed_mask(mask: np.ndarray, blocks: list[tuple[str, int]]):
    """The block attention mask of the packed multi-query pass: rows attend to columns where the mask is 0."""
    allowed = (np.asarray(mask) == 0).astype(float)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(allowed, cmap="Greens", vmin=0, vmax=1.3)
    edges, names = np.cumsum([n for _, n in blocks]), [b for b, _ in blocks]
    for e in edges[:-1]:
        ax.axhline(e - 0.5, color="k", lw=0.8)
        ax.axvline(e - 0.5, color="k", lw=0.8)
    centers = edges - np.array([n for _, n in blocks]) / 2 - 0.5
    ax.set_xticks(centers, names)
    ax.set_yticks(centers, names)
    ax.set(
        xlabel="key (attended to)",
        ylabel="query position",
        title="Packed queries: each block sees the prefix and itself",
    )
    fig.tight_layout()
    return fig, {"allowed": allowed.astype(int), "blocks": blocks}


def serving_speedups(runs: dict[str, list[dict]]):
    """Speed-up over full recompute against n_q for each path, with the theoretical prefill-token ratio."""
    cols = min(3, len(runs))
    rows_of_panels = -(-len(runs) // cols)
    height = 4 * rows_of_panels + 0.6
    fig, axes = plt.subplots(rows_of_panels, cols, figsize=(5 * cols, height), squeeze=False)
    for ax in axes.flat[len(runs) :]:
        fig.delaxes(ax)
    data = {}
    for ax, (name, rows) in zip(axes.flat, runs.items()):
        n_q = [r["n_q"] for r in rows]
        ax.plot(n_q, [r["theoretical_speedup"] for r in rows], "k--", label="theory: n(Lp+Lq)/(Lp+n Lq)")
        for path, style in (("packed", "o-"), ("batched", "s-"), ("sequential", "^-")):
            ax.plot(n_q, [r[f"{path}_speedup"] for r in rows], style, label=path)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="queries per user n_q", ylabel="speed-up over full recompute (x)", title=name)
        data[name] = [
            {k: r[k] for k in ("n_q", "theoretical_speedup", "packed_speedup", "batched_speedup", "sequential_speedup")}
            for r in rows
        ]
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    fig.suptitle("Serving many queries per user from one prefix: speed-up over full recompute (median time per user)")
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1))
    return fig, data


def embedding_maps(
    maps: dict[str, dict[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    method: str,
    scores: dict[str, dict[str, float]] | None = None,
):
    """2-D maps of users, one row per task and one column per variant, positives drawn on top in colour.

    maps[task][variant]: (n, 2); labels[task]: (n,) 0/1; scores[task][variant]: a separation score for the title."""
    tasks_, variants = list(maps), list(next(iter(maps.values())))
    fig, axes = plt.subplots(
        len(tasks_), len(variants), figsize=(4.6 * len(variants), 4.2 * len(tasks_)), squeeze=False
    )
    data = {}
    for r, task in enumerate(tasks_):
        y = np.asarray(labels[task]).astype(bool)
        for c, variant in enumerate(variants):
            ax, xy = axes[r, c], np.asarray(maps[task][variant])
            ax.scatter(*xy[~y].T, s=4, color="0.75", label="negative", rasterized=True)
            ax.scatter(*xy[y].T, s=9, color="C3", label="positive")
            title = f"{task} · {variant}"
            if scores:
                title += f"\nkNN AUC {scores[task][variant]:.3f}"
            ax.set(title=title, xticks=[], yticks=[])
            data[f"{task}/{variant}"] = {"n": int(len(xy)), "positives": int(y.sum())}
    axes[0, 0].legend(markerscale=2)
    label = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}.get(method, method)
    fig.suptitle(f"{label} of downstream test users' embeddings, coloured by task label")
    fig.tight_layout()
    return fig, data


def separation_bars(scores: dict[str, dict[str, dict[str, float]]], names: list[str]):
    """Per task, the class separation of each variant: scores[variant][task] = {"silhouette": .., "knn_auc": ..}."""
    fig, axes = plt.subplots(1, 2, figsize=(15, 3.8))
    variants = list(scores)
    width = 0.8 / len(variants)
    data = {}
    for ax, metric, floor in ((axes[0], "silhouette", 0.0), (axes[1], "knn_auc", 0.5)):
        for j, v in enumerate(variants):
            vals = [scores[v][n][metric] for n in names]
            ax.bar(np.arange(len(names)) + (j - (len(variants) - 1) / 2) * width, vals, width, label=v)
            data[f"{metric}/{v}"] = dict(zip(names, np.round(vals, 4)))
        ax.axhline(floor, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(names)), names, rotation=30)
        ax.set(
            ylabel={"silhouette": "balanced cosine silhouette", "knn_auc": "kNN AUC (k = 15)"}[metric],
            title={"silhouette": "Silhouette of the two classes", "knn_auc": "Neighbourhood purity as an AUC"}[metric],
        )
        ax.legend()
    fig.tight_layout()
    return fig, data


def query_moves(xy: np.ndarray, query_names: list[str], n_users: int, method: str = "pca"):
    """Users embedded under every task query: xy (Q * n_users, 2), query-major, a 2-D `method` projection
    ("pca", "tsne" or "umap"); each user's points are joined."""
    pts = np.asarray(xy).reshape(len(query_names), n_users, 2)
    fig, ax = plt.subplots(figsize=(8.5, 6))
    for i in range(n_users):
        ax.plot(*pts[:, i].T, color="0.85", lw=0.6, zorder=1)
    for q, name in enumerate(query_names):
        ax.scatter(*pts[q].T, s=14, label=name, zorder=2, color=f"C{q % 10}")
    axis = {"pca": "PC", "tsne": "t-SNE", "umap": "UMAP"}.get(method, method)
    ax.set(
        title=f"The same users under {len(query_names)} task queries (lines join one user's points)",
        xlabel=f"{axis} 1",
        ylabel=f"{axis} 2",
    )
    ax.legend(title="query", bbox_to_anchor=(1.01, 1), loc="upper left", borderaxespad=0)
    fig.tight_layout()
    return fig, {"queries": list(query_names), "users": int(n_users)}


def _compact(x: float) -> str:
    """A short tick label: 1228 -> '1.23k', 2_100_000 -> '2.1M'."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def scaling_curves(series: dict[str, tuple[list, list, list, list]], metric: str = "mean AUC"):
    """One panel per axis of scaling: series[axis] = (xs, means, lows, highs), the 95% intervals drawn as bars and
    each value printed above its interval, x on a log scale ticked at the measured points (Tables 7 and 8)."""
    fig, axes = plt.subplots(1, len(series), figsize=(5.5 * len(series), 3.8), squeeze=False)
    data = {}
    for ax, (axis_name, (xs, ys, lo, hi)) in zip(axes[0], series.items()):
        err = np.clip([np.subtract(ys, lo), np.subtract(hi, ys)], 0, None)
        ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3)
        for x, v, top in zip(xs, ys, np.maximum(hi, ys)):  # each value above its interval's upper cap
            ax.annotate(f"{v:.3f}", (x, top), textcoords="offset points", xytext=(0, 4), ha="center", fontsize="small")
        ax.set_xscale("log")
        ax.set_xticks(xs, [_compact(x) for x in xs])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.margins(x=0.15, y=0.12)
        ax.set(xlabel=f"{axis_name} (log scale)", ylabel=metric, title=f"{metric} against {axis_name}")
        data[axis_name] = {
            "x": [float(x) for x in xs],
            "y": [float(v) for v in ys],
            "lo": [float(v) for v in lo],
            "hi": [float(v) for v in hi],
        }
    fig.tight_layout()
    return fig, data
