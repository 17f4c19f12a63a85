"""What a notebook writes, with its provenance: figures (a PNG and a JSON sidecar of the plotted numbers) and one
metrics JSON of the numbers it reports, each stamped with the git hash, profile and seed; tests read them back.

    use_style()                                          # the series' matplotlib look
    save_figure(fig, "04_mean_auc", cfg, data)           # figures/04_mean_auc.png + .json
    rec = MetricsRecorder("04_downstream_evaluation", cfg); rec.log(rows=rows); rec.save()
    load_metrics("04_downstream_evaluation", cfg)        # the `metrics` dict it wrote
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..method.schema import atomic_write_text
from .config import REPO_ROOT, Profile

OUTPUT_PATHS = ("figures", "README.md", "benchmarks/results")  # what runs regenerate: not a change of the code


@lru_cache(maxsize=1)
def git_hash() -> str:
    """The checkout's commit hash, with '-dirty' when a tracked source differs from it, or 'unknown' outside git.
    The outputs a run regenerates (figures/, the README's generated blocks, benchmarks/results/) do not count as
    changes, so every output of one run of one commit carries the same hash, and a benchmark rerun over its own
    earlier result is not 'dirty'."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *(f":!{p}" for p in OUTPUT_PATHS)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def relative_path(path: str | Path) -> str:
    """A path inside the repository written relative to it; any other path (or word) unchanged. Recorded results
    hold no machine's own folders."""
    text = str(path)
    if not text.startswith("/"):
        return text
    resolved = Path(text).resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else text


def command_line(argv: list[str]) -> str:
    """The command that ran a script, as typed in the repository root: `python benchmarks/x.py --out y.json`, every
    path inside the repository relative to it (an `--opt=/abs/path` too)."""
    words = []
    for word in argv:
        option, eq, value = word.partition("=")
        words.append(option + eq + relative_path(value) if eq and option.startswith("--") else relative_path(word))
    return "python " + " ".join(shlex.quote(w) for w in words)


def provenance(argv: list[str] | None = None) -> dict:
    """What a benchmark's result records of how it was made: its command (sys.argv by default) and the git hash."""
    return {"command": command_line(sys.argv if argv is None else argv), "git_hash": git_hash()}


def to_jsonable(value):
    """numpy scalars and arrays, tuples and nested dicts -> plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


# One palette and one set of type sizes for every figure; plot functions use relative sizes ("small") on top of it.
PALETTE = "colorblind"
FONT_SIZES = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "legend.title_fontsize": 10,
    "figure.titlesize": 13,
}


def use_style() -> None:
    """The series' matplotlib look: seaborn whitegrid, one palette and type scale, tight saved figures."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc=FONT_SIZES)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 120,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "figure.titleweight": "bold",
        }
    )


def save_figure(fig, name: str, cfg: Profile, data: dict) -> Path:
    """Write `<figures>/<name>.png` and `<name>.json` (git hash, profile, seed and the plotted numbers `data`)."""
    folder = cfg.figures_path()
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, metadata={"Software": None})
    sidecar = {"figure": name, "git_hash": git_hash(), "profile": cfg.name, "seed": cfg.seed, "data": to_jsonable(data)}
    atomic_write_text(folder / f"{name}.json", json.dumps(sidecar, indent=1, sort_keys=True) + "\n")
    return png


def metrics_path(notebook: str, cfg: Profile) -> Path:
    return cfg.figures_path() / f"metrics_{notebook}.json"


class MetricsRecorder:
    """Collect named numbers for one notebook and write them to `<figures>/metrics_<notebook>.json`."""

    def __init__(self, notebook: str, cfg: Profile):
        self.notebook, self.cfg = notebook, cfg
        self.metrics: dict = {}

    def log(self, **values) -> None:
        self.metrics.update(to_jsonable(values))

    def save(self) -> Path:
        path = metrics_path(self.notebook, self.cfg)
        payload = {
            "notebook": self.notebook,
            "profile": self.cfg.name,
            "seed": self.cfg.seed,
            "git_hash": git_hash(),
            "metrics": self.metrics,
        }
        atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
        return path


def load_metrics(notebook: str, cfg: Profile) -> dict:
    """The `metrics` dict a notebook recorded for this profile."""
    return json.loads(metrics_path(notebook, cfg).read_text())["metrics"]
