"""Provenance helpers shared by figures and metrics: the git hash and conversion to plain JSON types."""

from __future__ import annotations

import subprocess
from functools import lru_cache

import numpy as np

from .config import REPO_ROOT


@lru_cache(maxsize=1)
def git_hash() -> str:
    """The checkout's commit hash (with '-dirty' for uncommitted changes), or 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


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
