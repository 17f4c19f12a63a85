"""Paper claims judged on our numbers by one stated rule, so a notebook's verdict follows from what it recorded.

The rule, for a claim "A is above B" (the paper's direction) with our means a, b and their 95% bootstrap
intervals:

- the difference d = a - b is **real** when |d| is larger than the half-width of both intervals;
- a real d in the paper's direction: **reproduced**; a real d against it: **reversed**; otherwise **inside the
  noise**.

For a count claim ("the matched query wins on k of n tasks"), k is compared with a fair coin per task: k at or
above the 95th percentile of Binomial(n, 1/2) is **reproduced**, k at or below its 5th percentile **reversed**,
anything between **inside the noise** (for n = 10: 8 or more, 2 or fewer).

    v = difference_claim("Base above the generic query", base, generic)     # base = (mean, lo, hi)
    v["verdict"]                                                            # 'reproduced' | 'reversed' | ...
    check(v)                                                                # recompute: raises on a mismatch

Each claim is recorded as a dict (claim, numbers, verdict); `check` recomputes the verdict from the numbers, so a
test can assert that every claim a notebook recorded agrees with the rule.
"""

from __future__ import annotations

from scipy.stats import binom

VERDICTS = ("reproduced", "reversed", "inside the noise")

RULE = (
    "**The verdict rule** (`qa_helpers/claims.py`, the same in every chapter): a difference between two means is "
    "real when it is larger than the half-width of both 95% bootstrap intervals; a real difference in the paper's "
    "direction is *reproduced*, against it *reversed*, anything smaller *inside the noise*. A count claim (k of n "
    "tasks) is *reproduced* at or above the 95th percentile of a fair coin's Binomial(n, 1/2), *reversed* at or "
    "below its 5th, otherwise *inside the noise*."
)


def half_width(lo: float, hi: float) -> float:
    return (hi - lo) / 2


def difference_verdict(a: float, a_lo: float, a_hi: float, b: float, b_lo: float, b_hi: float) -> str:
    """The rule of the module docstring for the claim 'a is above b'."""
    for lo, hi in ((a_lo, a_hi), (b_lo, b_hi)):
        if not lo <= hi:
            raise ValueError(f"an interval's low end {lo} is above its high end {hi}")
    d = a - b
    if abs(d) <= max(half_width(a_lo, a_hi), half_width(b_lo, b_hi)):
        return "inside the noise"
    return "reproduced" if d > 0 else "reversed"


def count_verdict(k: int, n: int) -> str:
    """The count rule of the module docstring: k successes out of n against a fair coin."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if k >= binom.ppf(0.95, n, 0.5):
        return "reproduced"
    if k <= binom.ppf(0.05, n, 0.5):
        return "reversed"
    return "inside the noise"


def difference_claim(
    claim: str, above: tuple[float, float, float], below: tuple[float, float, float], paper: str = ""
) -> dict:
    """A recorded claim 'above > below'; each side is (mean, 95% low, 95% high)."""
    return {
        "claim": claim,
        "kind": "difference",
        "paper": paper,
        "above": list(map(float, above)),
        "below": list(map(float, below)),
        "difference": float(above[0] - below[0]),
        "verdict": difference_verdict(*above, *below),
    }


def count_claim(claim: str, k: int, n: int, paper: str = "") -> dict:
    """A recorded claim 'it holds on k of n'."""
    return {
        "claim": claim,
        "kind": "count",
        "paper": paper,
        "k": int(k),
        "n": int(n),
        "verdict": count_verdict(int(k), int(n)),
    }


def mean_with_interval(rows: list[dict], method: str, metric: str = "auc") -> tuple[float, float, float]:
    """(mean, 95% low, 95% high) over the tasks of `method` in evaluation rows (its linear probe, or its own
    scorer for GBDT and the oracle)."""
    found = [
        r for r in rows if r["method"] == method and r["task"] == "Avg" and r["probe"] in ("linear", "gbdt", "none")
    ]
    if len(found) != 1:
        raise KeyError(f"{len(found)} mean rows for {method!r}")
    r = found[0]
    return r[metric], r[f"{metric}_lo"], r[f"{metric}_hi"]


def compare(claim: str, rows: list[dict], above: str, below: str, metric: str = "auc", paper: str = "") -> dict:
    """difference_claim of two methods' recorded means over the tasks."""
    return {
        **difference_claim(
            claim, mean_with_interval(rows, above, metric), mean_with_interval(rows, below, metric), paper
        ),
        "methods": [above, below],
        "metric": metric,
    }


def check(recorded: dict) -> None:
    """Recompute a recorded claim's verdict from its numbers; raise if it differs from the recorded one."""
    if recorded["kind"] == "difference":
        expected = difference_verdict(*recorded["above"], *recorded["below"])
    elif recorded["kind"] == "count":
        expected = count_verdict(recorded["k"], recorded["n"])
    else:
        raise ValueError(f"unknown claim kind {recorded['kind']!r}")
    if recorded["verdict"] != expected:
        raise AssertionError(f"{recorded['claim']!r}: recorded {recorded['verdict']!r}, the numbers say {expected!r}")


def ours(c: dict) -> str:
    """A recorded claim's numbers in words: 'a [lo, hi] vs b [lo, hi] (d = +x)' or 'k of n'."""
    if c["kind"] == "count":
        return f"{c['k']} of {c['n']}"
    (a, a_lo, a_hi), (b, b_lo, b_hi) = c["above"], c["below"]
    return f"{a:.3f} [{a_lo:.3f}, {a_hi:.3f}] vs {b:.3f} [{b_lo:.3f}, {b_hi:.3f}] (d = {a - b:+.3f})"


def reading(recorded: list[dict]) -> str:
    """Markdown: one line per claim with its verdict and numbers, the tally, and the rule they follow from.
    Every verdict is recomputed (`check`) before it is written, so the prose cannot disagree with the numbers."""
    lines = []
    for c in recorded:
        check(c)
        paper = f"; paper: {c['paper']}" if c["paper"] else ""
        lines.append(f"- *{c['claim']}*: **{c['verdict']}** (ours: {ours(c)}{paper})")
    tally = ", ".join(f"{sum(c['verdict'] == v for c in recorded)} {v}" for v in VERDICTS)
    noun = "claim" if len(recorded) == 1 else "claims"
    return "\n".join([f"**On this run** ({len(recorded)} {noun}: {tally}):", "", *lines, "", RULE])


def table(recorded: list[dict]):
    """The claims as a DataFrame (claim, paper, ours, verdict) for a notebook's `Results vs paper`."""
    import pandas as pd

    rows = [{"claim": c["claim"], "paper": c["paper"], "ours": ours(c), "verdict": c["verdict"]} for c in recorded]
    return pd.DataFrame(rows).set_index("claim")
