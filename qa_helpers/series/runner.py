"""Run the notebook series with papermill: `python -m qa_helpers run --profile default [--only 01]`.

Executed notebooks go to artifacts/<profile>/notebooks/ (git-ignored); figures and metrics go where the
profile says (figures/ for the default profile), and so does `runtimes.json`: each notebook's last measured wall
time, which the notebook's set-up cell prints for every profile measured.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..method.schema import atomic_write_text
from .config import PROFILES, REPO_ROOT, cache_root, load
from .outputs import git_hash

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
    out_dir = out_dir or cache_root() / profile / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / path.name
    start = time.perf_counter()
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"PROFILE": profile, **(parameters or {})},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    record_runtime(path.stem, profile, time.perf_counter() - start)
    return out


def runtimes_path(profile: str) -> Path:
    return load(profile).figures_path() / "runtimes.json"


def record_runtime(notebook: str, profile: str, seconds: float) -> None:
    """Store `seconds` as the notebook's last wall time for `profile` (with the commit it ran)."""
    path = runtimes_path(profile)
    times = json.loads(path.read_text()) if path.exists() else {}
    times[notebook] = {"seconds": round(seconds, 1), "git_hash": git_hash()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(times, indent=1, sort_keys=True) + "\n")


def measured_runtimes(notebook: str) -> dict[str, float]:
    """{profile: seconds} of the notebook's last recorded run for each profile that has one."""
    found = {}
    for profile in PROFILES:
        path = runtimes_path(profile)
        if path.exists() and notebook in (times := json.loads(path.read_text())):
            found[profile] = times[notebook]["seconds"]
    return found


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
