"""The control: notebooks 01, 03 and 04 on world version 1 (profile `control`: the default profile's sizes and
recipe, traits alone), where the premise check finds no room for a query. Its key comparison (Base against the same
model untrained, asked one generic question, and against the no-LLM sequence model and counts) goes beside the
series' own results in the README, so a reader sees the method both where anchoring can help and where it cannot.

    python benchmarks/control_world.py             # then `python -m qa_helpers results` for the README
    python benchmarks/control_world.py --no-run    # rewrite the summary from the control's last run

Executed notebooks, figures and metrics go to artifacts/control/; the summary that the README reads is
benchmarks/results/control_world.json (the verdicts are the notebooks' own, by the rule of qa_helpers/series/claims.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa_helpers.method.schema import atomic_write_text
from qa_helpers.series import config, runner
from qa_helpers.series.outputs import load_metrics, metrics_path

RESULTS = Path(__file__).resolve().parent / "results" / "control_world.json"
PROFILE = "control"
NOTEBOOKS = ("01", "03", "04")
# what the README and notebook 04 read (the bootstrap samples behind the intervals stay in the metrics files)
ROW_FIELDS = ("method", "probe", "task", "auc", "auc_lo", "auc_hi", "ks", "ks_lo", "ks_hi")
CLAIM_FIELDS = ("claim", "methods", "metric", "difference", "verdict")


def summary(cfg: config.Profile) -> dict:
    """The control's mean rows (notebook 04, linear probe or the method's own scorer), notebook 04's paired claims
    and notebook 01's premise check, with the git hash the notebooks recorded."""
    m01, m04 = load_metrics("01_synthetic_world", cfg), load_metrics("04_downstream_evaluation", cfg)
    recorded = json.loads(metrics_path("04_downstream_evaluation", cfg).read_text())
    return {
        "command": "python benchmarks/control_world.py",
        "profile": PROFILE,
        "world_version": cfg.world_version,
        "git_hash": recorded["git_hash"],
        "premise_check": m01["premise_check"],
        "rows": [{k: r[k] for k in ROW_FIELDS} for r in m04["rows"] if r["task"] == "Avg" and r["probe"] != "mlp"],
        "claims": [{k: c[k] for k in CLAIM_FIELDS} for c in m04["claims"] if "methods" in c],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-run", action="store_true", help="summarise the control's last run without running")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cfg = config.load(PROFILE)
    if not args.no_run:
        for path in runner.notebook_paths(list(NOTEBOOKS)):
            print("running", path.name, "with profile", PROFILE, file=sys.stderr)
            runner.run_notebook(path, PROFILE)
    result = summary(cfg)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print("wrote", args.out)
    return result


if __name__ == "__main__":
    main()
