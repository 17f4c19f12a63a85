"""What a chapter says about its own run, written from the numbers it recorded, so the prose cannot drift from
them: a different seed, profile or model changes the sentences with the numbers.

    readings.show(readings.prefix_length(105))     # in a notebook: the sentence as Markdown
    readings.serving(gate_rows, runs, incremental)  # notebook 06's reading, from the numbers it measured

Each function takes plain numbers (or a chapter's metrics dict) and returns Markdown; the paper's numbers come
from `paper.py`, the verdicts from the rule in `claims.py`.
"""

from __future__ import annotations

from ..synthetic.premise import NO_ROOM, READOUT_GAP, ROOM, SIZE_GAP, verdict
from . import paper


def show(markdown: str) -> None:
    """Display Markdown in a notebook (plain text elsewhere)."""
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def share(x: float) -> str:
    return f"{x:.0%}"


def oracle_range(oracle_auc: dict[str, float]) -> str:
    """Notebook 01: the oracle's per-task AUC range against the paper's best row (Table 2, Prompt Tuned)."""
    lo, hi = min(oracle_auc, key=oracle_auc.get), max(oracle_auc, key=oracle_auc.get)
    p = paper.PROMPT_TUNED_TASK_AUC
    p_lo, p_hi = min(p, key=p.get), max(p, key=p.get)
    return (
        f"The paper's best model (Q-Anchor, Prompt Tuned; Table 2) scores from {p[p_lo]:.2f} ({p_lo}) to "
        f"{p[p_hi]:.2f} ({p_hi}) AUC per task; on this world the oracle, a ceiling, ranges from "
        f"{oracle_auc[lo]:.2f} ({lo}) to {oracle_auc[hi]:.2f} ({hi})."
    )


def prefix_length(ours: int) -> str:
    """Notebook 02: our prefix length against the reference code's caps."""
    ratio = paper.PREFIX_TOKENS / ours
    compare = f"{ratio:.1f} times as long" if ratio >= 1 else f"{1 / ratio:.1f} times shorter"
    return (
        f"The prefix here is {ours} tokens; the reference code's caps give {paper.PREFIX_TOKENS} ({compare}). "
        "The profile's `event_caps` and `tabular_tokens` set it."
    )


def mask_at_init(at_init: dict[str, dict], init_cos: dict[str, float]) -> str:
    """Notebook 03: what the paper's joint mask and the code's per-block mask remove on a fresh model."""
    two_anchors, anchor_answer = init_cos.values()
    p, c = at_init["paper"], at_init["code"]
    loss_p, loss_c = (max(x["loss"], 0.0) + 0.0 for x in (p, c))  # a loss is >= 0; rounding can give -0.0
    return (
        f"At initialisation two users' anchors have a mean cosine of {two_anchors:.3f}, an anchor and its own "
        f"answer {anchor_answer:.3f}. A negative is dropped when it is more similar to the anchor than the "
        f"positive is, plus the margin: the paper's joint mask removes {share(p['masked_share'])} of the negatives "
        f"(contrastive loss {loss_p:.3f}), the reference code's per-block mask {share(c['masked_share'])} "
        f"(loss {loss_c:.3f}). A negative that is dropped contributes no gradient: the more a mask removes, "
        "the less the first steps can learn."
    )


def paper_ordering() -> str:
    """Notebook 04: the paper's ordering of the Table 2 rows by mean AUC."""
    t2 = paper.MEAN["Table 2"]
    return "The paper's ordering (Table 2, mean AUC): " + " < ".join(
        f"{name} {auc:.3f}" for name, auc in sorted(t2.items(), key=lambda kv: kv[1])
    )


def prompt_cost(n_users: int, encode_seconds: float, step_seconds: dict[str, float], batch: int) -> str:
    """Notebook 05: what encoding the prefix once saves per tuning step."""
    cached, full = step_seconds["cached prefix"], step_seconds["full forward"]
    verdict = (
        f"{share(cached / full)} of its cost, {full / cached:.1f}x faster"
        if cached < full
        else f"no faster ({cached / full:.1f}x the full forward's time): at this size the cache does not pay"
    )
    return (
        f"Encoding the prefixes of {n_users:,} users took {encode_seconds:.1f} s, once. A tuning step on "
        f"{batch} users then costs {cached * 1000:.1f} ms with the cached prefix against {full * 1000:.1f} ms "
        f"with a full forward: {verdict}."
    )


def tuning_budget(tune_seconds: dict, steps: int) -> str:
    """Notebook 05: the measured cost of the token sweep."""
    per_run = sum(tune_seconds.values()) / len(tune_seconds)
    return (
        f"Tuning the ten tasks' prompts for {steps} steps took {per_run:.0f} s per prompt length on average "
        f"({per_run / steps:.2f} s per step for the ten tasks together)."
    )


def masked_share(l_p: int, l_q: float, n_q: int) -> float:
    """Share of the causal attention pairs of the packed pass [prefix, q_1..q_n] that the block mask removes
    (a query block attends to the prefix and to itself only)."""
    total = (l_p + n_q * l_q) * (l_p + n_q * l_q + 1) / 2
    used = l_p * (l_p + 1) / 2 + n_q * (l_q * l_p + l_q * (l_q + 1) / 2)
    return 1 - used / total


def size(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:.0f} KiB"


def serving(
    gate: list[dict], runs: dict[str, list[dict]], incremental: dict, goal: float = 0.85, tolerance: float = 1e-4
) -> str:
    """Notebook 06: correctness, speed-ups against theory, memory and the incremental update, as measured."""
    worst = max(g["max |diff|"] for g in gate)
    least = min(g["min cosine"] for g in gate)
    equal = "equals" if worst < tolerance else f"does NOT equal (tolerance {tolerance:.0e})"
    lines = [
        f"- *Correctness*: every fast path {equal} the plain forward, with and without a soft prompt: max |diff| "
        f"{worst:.1e}, min cosine {least:.6f}.",
        "",
        "| run | L_p | theory at n_q = 10 | packed | batched | sequential | packed at the largest n_q | "
        "masked share of the packed attention there | cache per user, batched / sequential |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    met = 0
    for name, rows in runs.items():
        r10 = next(r for r in rows if r["n_q"] == 10)
        last = max(rows, key=lambda r: r["n_q"])
        met += r10["packed_fraction_of_theory"] >= goal
        cache = r10.get("cache_bytes_per_user", {})
        memory = f"{size(cache['batched'])} / {size(cache['sequential'])}" if cache.get("sequential") else "-"
        lines.append(
            f"| {name} | {r10['L_p']} | {r10['theoretical_speedup']:.1f}x | {r10['packed_speedup']:.1f}x "
            f"({share(r10['packed_fraction_of_theory'])}) | {r10['batched_speedup']:.1f}x "
            f"({share(r10['batched_fraction_of_theory'])}) | {r10['sequential_speedup']:.1f}x "
            f"({share(r10['sequential_speedup'] / r10['theoretical_speedup'])}) | "
            f"{share(last['packed_fraction_of_theory'])} at n_q = {last['n_q']} | "
            f"{share(masked_share(last['L_p'], last['L_q'], last['n_q']))} | {memory} |"
        )
    inc = incremental
    fresh, scratch = inc["events encoded (incremental)"], inc["events encoded (from scratch, same days)"]
    same = inc["same token masks every day"] and inc["max |diff| of prefix tokens (worst day)"] < 1e-5
    expired = (
        f"{inc['expired']:,} events left the window during the replay."
        if inc["expired"]
        else "No event left the window during the replay (the world's logs start on the window's first day); "
        "the tests exercise expiry with a shorter window."
    )
    lines += [
        "",
        f"- *Speed-up at n_q = 10*: the packed path reaches {share(goal)} of the theoretical token ratio on {met} of "
        f"{len(runs)} runs. Above 100% is possible: the theory counts tokens only, while full recompute also pays "
        "n_q separate calls on small batches, which the packed path pays once.",
        "- *At many queries*: the packed pass computes every causal pair of attention and the block mask discards "
        "the query-to-query ones; their share (the column above) grows with n_q L_q against L_p, and weighs most on "
        "a narrow model where attention is a large part of the work. Where the fraction of theory falls although "
        "the masked share is small, something else limits it (batch shapes, memory traffic).",
        f"- *Incremental update*: over {inc['days']} days, {inc['users']:,} users received {inc['new events']:,} new "
        f"events; the update encoded {fresh:,} events where re-encoding every profile each day encodes "
        f"{scratch:,} ({scratch / max(1, fresh):.0f}x as many), in {inc['encoder seconds (incremental)']:.1f} s "
        f"of encoder time against {inc['encoder seconds (from scratch)']:.1f} s. The prefix tokens "
        f"{'equal' if same else 'do NOT equal'} encoding from scratch every day (max |diff| "
        f"{inc['max |diff| of prefix tokens (worst day)']:.0e}). {expired}",
    ]
    return "\n".join(lines)


def ablation_effects(noise: float) -> str:
    """Notebook 08: the paper's ablation effects (Table 3, mean AUC below Base) against this run's noise, the median
    half-width of the paired differences' 95% intervals of the ablation claims."""
    t3 = paper.MEAN["Table 3"]
    drops = {k: t3["Q-Anchor (Base)"] - v for k, v in t3.items() if k.startswith("w/o")}
    visible = [k for k, d in sorted(drops.items(), key=lambda kv: -kv[1]) if d > noise]
    lo, hi = min(drops, key=drops.get), max(drops, key=drops.get)
    return (
        f"The paper's ablation effects range from {drops[lo]:.4f} ({lo}) to {drops[hi]:.4f} ({hi}) mean AUC below "
        f"Base (Table 3). The paired differences with Base have 95% intervals of median half-width {noise:.4f} "
        "here, so "
        + (
            f"{len(visible)} of the {len(drops)} paper effects ({', '.join(visible)}) are larger than this run's noise."
            if visible
            else f"none of the {len(drops)} paper effects is larger than this run's noise."
        )
    )


def premise(gaps_by_panel: dict[str, dict], size: int) -> str:
    """Notebook 01: per world and task set, the two premise gaps (premise.gaps) and the size gap's reading by
    premise.verdict."""
    lines = []
    for panel, g in gaps_by_panel.items():
        d, lo, hi = g[SIZE_GAP]
        r, r_lo, r_hi = g[READOUT_GAP]
        lines.append(
            f"- **{panel}:** reading every factor instead of the top {size} components gains {d:+.3f} mean AUC "
            f"[{lo:+.3f}, {hi:+.3f}], what one static vector of {size} numbers loses: **{verdict(g[SIZE_GAP])}**. "
            f"The oracle is {r:+.3f} [{r_lo:+.3f}, {r_hi:+.3f}] above a linear read-out of the full state: what a "
            "linear probe on these labelled users misses whatever the vector's size, which a query does not win back."
        )
    rule = (
        f"The rule (`premise.verdict`, on the size gap): room for a query when it is at least {ROOM} and its interval "
        f"excludes 0, no room under {NO_ROOM}, little room in between."
    )
    return "\n".join(lines + ["", rule])
