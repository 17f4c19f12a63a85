"""Paper claims judged on our numbers by one stated rule, so a notebook's verdict follows from what it recorded.

The rule, for a claim "A is above B" (the paper's direction) where A and B are scored on the same test users:

- the **paired difference** d = a - b gets a 95% interval from the same bootstrap resamples of the test users for
  both (each resample scores A and B on the same users; `evaluation` draws them so), bias-corrected
  (metrics.interval);
- an interval above 0: **reproduced**; below 0: **reversed**; containing 0: **inside the noise**;
- **no verdict** when a task's test half holds fewer than two positives: an AUC on one positive says nothing.

For a count claim over tasks ("the matched query beats the others"), each task's own paired difference decides
that task: a win when its interval lies above 0, a loss when below, and otherwise the task is not counted (a shift
of a fraction of a point is not evidence either way). The wins are then tested against a fair coin over the
decided tasks (one-sided exact binomial at 5%): **reproduced** when that many wins or more has chance at most 5%,
**reversed** when that few or fewer has, **inside the noise** otherwise (and when no task is decided).

Under this rule a claim whose true difference is zero comes out reproduced or reversed with chance about 5%
(`CHANCE_PER_CLAIM`), so among n such claims about 0.05 n verdicts are expected by chance alone.

A claim about trained models is decided **over training seeds** (`over_seeds`): the same claim recorded on at least
MIN_SEEDS training runs (this run's and those of benchmarks/seed_spread.py). A difference claim's combined interval
is the seeds' mean difference plus or minus 1.96 standard errors, the error adding the spread between seeds (over
their number) to the test users' (from this run's interval: every seed is scored on the same users, so their noise
does not average out); the verdict is reproduced or reversed only when that interval excludes 0 **and** every
seed's difference has the same sign, otherwise inside the noise. A count claim keeps its verdict only when every
seed gives it. A claim about trained models seen on fewer seeds is shown with its single-run verdict but not
counted (`ONE_SEED`). A zero difference then passes both tests less often than 5%: the chance above is an upper
bound.

    c = difference_claim("Base above the generic query", (a, boot_a), (b, boot_b))    # estimates + paired samples
    c = compare("Base above the generic query", rows, "Q-Anchor (Base)", "Q-Anchor, one generic query")
    c["verdict"]                                                       # 'reproduced' | 'reversed' | ...
    check(c)                                                           # recompute: raises on a mismatch

A claim that its chapter itself explains as an echo of under-training rather than evidence is recorded with a
`not_counted` reason: its verdict is shown but left out of every tally.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from ..method import evaluation, metrics

VERDICTS = ("reproduced", "reversed", "inside the noise", "no verdict")
LEVEL = 0.95
CHANCE_PER_CLAIM = 1 - LEVEL  # a zero difference's chance of an interval that excludes 0 (either side)
MIN_POSITIVES = 2  # per task's test half, for a verdict
MIN_SEEDS = 3  # training runs a verdict about trained models is decided on
ONE_SEED = (
    "decided on one training run; a verdict about trained models counts only over three seeds, which "
    "benchmarks/seed_spread.py records for notebook 04's claims only"
)

RULE = (
    "**The verdict rule** (`qa_helpers/series/claims.py`, the same in every chapter): two methods scored on the same "
    "test users are compared by their *paired* difference, with a 95% bootstrap interval from resampling those users "
    "(bias-corrected); an interval above 0 is *reproduced* (the paper's direction), below 0 *reversed*, containing "
    "0 *inside the noise*; *no verdict* when a task's test half has fewer than two positives. A count claim over "
    "tasks counts a task only when its own paired interval excludes 0, then tests the wins against a fair coin "
    "(one-sided exact binomial at 5%). A claim about trained models counts only when decided over three training "
    "seeds: the seeds' mean difference with an interval for test users and seeds together, and every seed's "
    "difference on the same side (a count claim: every seed's verdict the same); otherwise it is shown, not "
    "counted. A claim with no true difference is called real by chance under 5% of the time. A claim its chapter "
    "explains as an echo of under-training is shown but not counted."
)


def difference_verdict(lo: float, hi: float, min_task_positives: int = MIN_POSITIVES) -> str:
    """The rule for 'a is above b' from the paired difference's interval [lo, hi]."""
    if not lo <= hi:
        raise ValueError(f"an interval's low end {lo} is above its high end {hi}")
    if min_task_positives < MIN_POSITIVES:
        return "no verdict"
    if lo > 0:
        return "reproduced"
    if hi < 0:
        return "reversed"
    return "inside the noise"


def paired_difference(above: float, below: float, above_boot, below_boot) -> list[float]:
    """[d, lo, hi]: d = above - below and its 95% interval from paired bootstrap samples (metrics.paired_difference)."""
    return metrics.paired_difference(above, below, above_boot, below_boot, LEVEL)


def count_verdict(wins: int, losses: int) -> str:
    """The count rule: `wins` of the wins + losses decided tasks against a fair coin (one-sided exact, 5%)."""
    if wins < 0 or losses < 0:
        raise ValueError(f"need wins, losses >= 0, got {wins}, {losses}")
    n = wins + losses
    if n == 0:
        return "inside the noise"
    if binom.sf(wins - 1, n, 0.5) <= 1 - LEVEL:  # P(X >= wins)
        return "reproduced"
    if binom.cdf(wins, n, 0.5) <= 1 - LEVEL:  # P(X <= wins)
        return "reversed"
    return "inside the noise"


def difference_claim(
    claim: str,
    above: tuple[float, object],
    below: tuple[float, object],
    paper: str = "",
    min_task_positives: int = MIN_POSITIVES,
    not_counted: str = "",
) -> dict:
    """A recorded claim 'above > below'; each side is (estimate, its bootstrap samples), the samples of both
    drawn from the same resamples. Records each side as [estimate, 95% low, high] and the paired difference."""
    (a, a_boot), (b, b_boot) = above, below
    diff = paired_difference(a, b, a_boot, b_boot)
    return {
        "claim": claim,
        "kind": "difference",
        "paper": paper,
        "above": [float(a), *metrics.interval(a_boot, a, LEVEL)],
        "below": [float(b), *metrics.interval(b_boot, b, LEVEL)],
        "difference": diff,
        "min_task_positives": int(min_task_positives),
        "verdict": difference_verdict(diff[1], diff[2], min_task_positives),
        "not_counted": not_counted,
    }


def count_claim(claim: str, differences: list[list[float]], paper: str = "", not_counted: str = "") -> dict:
    """A recorded claim 'it holds on the tasks': one paired difference [d, lo, hi] per task (see
    paired_difference); wins and losses are the tasks whose interval excludes 0."""
    if not differences:
        raise ValueError("a count claim needs at least one task")
    wins = sum(lo > 0 for _, lo, _ in differences)
    losses = sum(hi < 0 for _, _, hi in differences)
    return {
        "claim": claim,
        "kind": "count",
        "paper": paper,
        "per_task": [list(map(float, d)) for d in differences],
        "k": int(wins),
        "losses": int(losses),
        "n": len(differences),
        "verdict": count_verdict(wins, losses),
        "not_counted": not_counted,
    }


def mean_with_interval(rows: list[dict], method: str, metric: str = "auc") -> tuple[float, float, float]:
    """(mean, 95% low, 95% high) over the tasks of `method` in evaluation rows (its linear probe, or its own
    scorer for GBDT and the oracle)."""
    r = evaluation.mean_row(rows, method)
    return r[metric], r[f"{metric}_lo"], r[f"{metric}_hi"]


def compare(
    claim: str, rows: list[dict], above: str, below: str, metric: str = "auc", paper: str = "", not_counted: str = ""
) -> dict:
    """difference_claim of two methods' mean over the tasks in evaluation rows, paired through the rows' bootstrap
    samples (raises when the two were not scored on the same resamples)."""
    a, b = evaluation.paired_mean_rows(rows, above, below)
    return {
        **difference_claim(
            claim,
            (a[metric], a[f"{metric}_boot"]),
            (b[metric], b[f"{metric}_boot"]),
            paper,
            min(a["min_task_pos"], b["min_task_pos"]),
            not_counted,
        ),
        "methods": [above, below],
        "metric": metric,
    }


def over_seeds(claim: dict, others: list[dict]) -> dict:
    """`claim` (this run's) decided over training seeds with the same claim recorded on other training runs
    (`others`, same kind). With fewer than MIN_SEEDS runs in all it comes back with its single-run verdict and not
    counted (ONE_SEED). Otherwise its verdict is the seed-aware one of the module's rule; `seeds` keeps what it
    read: per run the difference [d, lo, hi] (count claims: the verdict) and the combined interval."""
    runs = [claim, *others]
    if any(c["kind"] != claim["kind"] or c["claim"] != claim["claim"] for c in others):
        raise ValueError(f"the other seeds must record the same claim: {claim['claim']!r}")
    if len(runs) < MIN_SEEDS:
        return {**claim, "not_counted": claim.get("not_counted") or ONE_SEED}
    if claim["kind"] == "count":
        seeds = {"n": len(runs), "verdicts": [c["verdict"] for c in runs]}
    else:
        seeds = {
            "n": len(runs),
            "differences": [list(map(float, c["difference"])) for c in runs],
            "combined": combined_difference(runs),
            "min_task_positives": min(int(c["min_task_positives"]) for c in runs),
        }
    seeds["single_run_verdict"] = claim["verdict"]
    out = {**claim, "seeds": seeds}
    return {**out, "verdict": seed_verdict(out)}


def decided_over_seeds(recorded: list[dict], other_runs: dict[str, list[dict]] | None = None) -> list[dict]:
    """A chapter's claims about trained models, each decided over_seeds with the runs `other_runs` holds for it
    (claim name -> the claim as other training seeds recorded it); a claim without them is not counted."""
    other_runs = other_runs or {}
    return [over_seeds(c, other_runs.get(c["claim"], [])) for c in recorded]


def other_runs(spread: dict | None, pretrain_key: str) -> dict[str, list[dict]]:
    """Claim name -> its records on the other training seeds of a benchmarks/seed_spread.py result, when that result
    ran this recipe (its `pretrain_key` is the series' model's); else nothing."""
    if not spread or spread.get("pretrain_key") != pretrain_key:
        return {}
    out: dict[str, list[dict]] = {}
    for seed, run in spread["seeds"].items():
        if int(seed) != spread["series_seed"]:
            for c in run["claims"]:
                out.setdefault(c["claim"], []).append(c)
    return out


def combined_difference(runs: list[dict]) -> list[float]:
    """[mean d, lo, hi] over training runs of a difference claim: the mean of the runs' differences, and 1.96 standard
    errors each way, the seeds' standard deviation over the square root of their number combined with the test
    users' standard error (the first run's interval width / 3.92)."""
    d = np.array([c["difference"][0] for c in runs], dtype=float)
    _, lo, hi = runs[0]["difference"]
    users = (hi - lo) / (2 * 1.96)
    half = 1.96 * float(np.sqrt(d.var(ddof=1) / len(d) + users**2))
    return [float(d.mean()), float(d.mean() - half), float(d.mean() + half)]


def seed_verdict(claim: dict) -> str:
    """The over-seeds verdict of a claim carrying `seeds` (see over_seeds)."""
    seeds = claim["seeds"]
    if claim["kind"] == "count":
        first = seeds["verdicts"][0]
        agree = all(v == first for v in seeds["verdicts"])
        return first if agree and first in ("reproduced", "reversed") else "inside the noise"
    _, lo, hi = seeds["combined"]
    verdict = difference_verdict(lo, hi, seeds["min_task_positives"])
    d = [x for x, _, _ in seeds["differences"]]
    if verdict == "reproduced" and not all(x > 0 for x in d) or verdict == "reversed" and not all(x < 0 for x in d):
        return "inside the noise"
    return verdict


def check(recorded: dict) -> None:
    """Recompute a recorded claim's verdict from its numbers; raise if it differs from the recorded one."""
    if "seeds" in recorded:
        if recorded["kind"] == "difference" and recorded["seeds"]["combined"] != combined_difference(
            [{"difference": d} for d in recorded["seeds"]["differences"]]
        ):
            raise AssertionError(f"{recorded['claim']!r}: the combined interval is not the seeds'")
        expected = seed_verdict(recorded)
        if recorded["verdict"] != expected:
            raise AssertionError(f"{recorded['claim']!r}: recorded {recorded['verdict']!r}, the seeds say {expected!r}")
        return
    if recorded["kind"] == "difference":
        _, lo, hi = recorded["difference"]
        expected = difference_verdict(lo, hi, recorded["min_task_positives"])
    elif recorded["kind"] == "count":
        wins = sum(lo > 0 for _, lo, _ in recorded["per_task"])
        losses = sum(hi < 0 for _, _, hi in recorded["per_task"])
        if (wins, losses) != (recorded["k"], recorded["losses"]):
            raise AssertionError(f"{recorded['claim']!r}: recorded {recorded['k']} wins, the tasks say {wins}")
        expected = count_verdict(wins, losses)
    else:
        raise ValueError(f"unknown claim kind {recorded['kind']!r}")
    if recorded["verdict"] != expected:
        raise AssertionError(f"{recorded['claim']!r}: recorded {recorded['verdict']!r}, the numbers say {expected!r}")


def counted(recorded: list[dict]) -> list[dict]:
    """The claims that enter a tally (not those recorded with a `not_counted` reason)."""
    return [c for c in recorded if not c.get("not_counted")]


def tally(recorded: list[dict]) -> str:
    """'n claims: a reproduced, b reversed, ...' over the counted claims."""
    kept = counted(recorded)
    noun = "claim" if len(kept) == 1 else "claims"
    return f"{len(kept)} {noun}: " + ", ".join(f"{sum(c['verdict'] == v for c in kept)} {v}" for v in VERDICTS)


def ours(c: dict) -> str:
    """A recorded claim's numbers in words: 'a [lo, hi] vs b [lo, hi], paired d = +x [lo, hi]' or 'k of n'."""
    if c["kind"] == "count":
        text = f"{c['k']} of {c['n']} tasks above, {c['losses']} below, {c['n'] - c['k'] - c['losses']} undecided"
        if "seeds" in c:
            text += f"; over {c['seeds']['n']} training seeds: " + ", ".join(c["seeds"]["verdicts"])
        return text
    (a, a_lo, a_hi), (b, b_lo, b_hi), (d, d_lo, d_hi) = c["above"], c["below"], c["difference"]
    sides = f"{a:.3f} [{a_lo:.3f}, {a_hi:.3f}] vs {b:.3f} [{b_lo:.3f}, {b_hi:.3f}]"
    text = f"{sides}, paired d = {d:+.3f} [{d_lo:+.3f}, {d_hi:+.3f}]"
    if "seeds" in c:
        m, lo, hi = c["seeds"]["combined"]
        each = ", ".join(f"{x:+.3f}" for x, _, _ in c["seeds"]["differences"])
        text += f"; over {c['seeds']['n']} training seeds d = {m:+.3f} [{lo:+.3f}, {hi:+.3f}] (each: {each})"
    return text


def reading(recorded: list[dict]) -> str:
    """Markdown: one line per claim with its verdict and numbers, the tally, and the rule they follow from.
    Every verdict is recomputed (`check`) before it is written, so the prose cannot disagree with the numbers."""
    lines = []
    for c in recorded:
        check(c)
        paper = f"; paper: {c['paper']}" if c["paper"] else ""
        aside = f" *Not counted: {c['not_counted']}*" if c.get("not_counted") else ""
        lines.append(f"- *{c['claim']}*: **{c['verdict']}** (ours: {ours(c)}{paper}).{aside}")
    return "\n".join([f"**On this run** ({tally(recorded)}):", "", *lines, "", RULE])


def table(recorded: list[dict]):
    """The claims as a DataFrame (claim, paper, ours, verdict) for a notebook's `Results vs paper`."""
    import pandas as pd

    rows = [
        {
            "claim": c["claim"],
            "paper": c["paper"],
            "ours": ours(c),
            "verdict": c["verdict"] + (" (not counted)" if c.get("not_counted") else ""),
        }
        for c in recorded
    ]
    return pd.DataFrame(rows).set_index("claim")
