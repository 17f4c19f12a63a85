"""Run the notebook series with papermill: `python -m qa_helpers run --profile default [--only 01]`.

Executed notebooks go to artifacts/<profile>/notebooks/ (git-ignored); figures and metrics go where the
profile says (figures/ for the default profile).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .config import PROFILES, REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    """The series in order (NN_slug.ipynb); `only` keeps those whose number or name is listed."""
    paths = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = set(only)
        paths = [p for p in paths if p.name[:2] in wanted or p.stem in wanted]
        missing = wanted - {p.name[:2] for p in paths} - {p.stem for p in paths}
        if missing:
            raise ValueError(f"no notebook matches {sorted(missing)}")
    return paths


def run_notebook(path: Path, profile: str, parameters: dict | None = None, out_dir: Path | None = None) -> Path:
    """Execute one notebook with PROFILE=`profile` (plus `parameters`) and return the executed copy's path."""
    import papermill as pm

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_dir = out_dir or REPO_ROOT / "artifacts" / profile / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"PROFILE": profile, **(parameters or {})},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    return out


def run(profile: str, only: list[str] | None = None) -> list[tuple[str, float]]:
    """Run the series (or `only` some notebooks) in order, printing one line per notebook; returns timings."""
    timings = []
    paths = notebook_paths(only)
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.name} (profile {profile}) ...", flush=True)
        start = time.perf_counter()
        run_notebook(path, profile)
        seconds = time.perf_counter() - start
        timings.append((path.name, seconds))
        print(f"[{i}/{len(paths)}] {path.name} done in {seconds:.1f} s", flush=True)
    total = sum(s for _, s in timings)
    print(f"all {len(timings)} notebook(s) done in {total:.1f} s", flush=True)
    return timings
