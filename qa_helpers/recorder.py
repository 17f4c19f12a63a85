"""A small metrics recorder: each notebook writes one JSON file of the numbers it reports; tests read it."""

from __future__ import annotations

import json
from pathlib import Path

from .config import Profile
from .provenance import git_hash, to_jsonable
from .schema import atomic_write_text


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
