"""Figure style and `save_figure`: every figure is a PNG with a JSON sidecar holding its provenance and numbers."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from .config import Profile
from .provenance import git_hash, to_jsonable
from .schema import atomic_write_text


def use_style() -> None:
    """The series' matplotlib look: seaborn whitegrid, readable fonts, tight saved figures."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight", "axes.titleweight": "bold"})


def save_figure(fig, name: str, cfg: Profile, data: dict) -> Path:
    """Write `<figures>/<name>.png` and `<name>.json` (git hash, profile, seed and the plotted numbers `data`)."""
    folder = cfg.figures_path()
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, metadata={"Software": None})
    sidecar = {"figure": name, "git_hash": git_hash(), "profile": cfg.name, "seed": cfg.seed, "data": to_jsonable(data)}
    atomic_write_text(folder / f"{name}.json", json.dumps(sidecar, indent=1, sort_keys=True) + "\n")
    return png
