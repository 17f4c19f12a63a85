"""Soft prompts with a profile's settings (paper §3.2.3): the prompts stage of artifacts.py, notebook 05's sweeps and
the `tune` command all run `tune_prompts`.

    run = tune_prompts(cfg, model, prefixes, labels)    # one prompt per task, on each task's probe-training half
"""

from __future__ import annotations

import numpy as np

from ..method import evaluation, prompt_tuning
from ..method.model import QAnchor
from ..synthetic import tasks
from .config import Profile


def tune_prompts(
    cfg: Profile,
    model: QAnchor,
    prefixes,
    labels: np.ndarray,
    n_tokens: int | None = None,
    snapshot_steps: tuple[int, ...] = (),
    queries: list[str] | None = None,
    task_names: list[str] | None = None,
    splits=None,
) -> prompt_tuning.TuningRun:
    """Soft prompts with the profile's settings, one per task (default: the world's ten; or `queries` with their
    `task_names`, given together), trained on each task's probe-training half (`splits`, default the profile's
    task_splits)."""
    if (queries is None) != (task_names is None):
        raise ValueError("give the tasks' queries and their names together, or neither (the world's ten tasks)")
    splits = splits or evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size)
    return prompt_tuning.tune(
        model,
        prefixes,
        queries or [t.query for t in tasks.TASKS],
        labels,
        [tr for tr, _ in splits],
        n_tokens=n_tokens or cfg.prompt_tokens,
        steps=cfg.prompt_steps,
        batch_size=cfg.prompt_batch,
        lr=cfg.prompt_lr,
        tau=cfg.prompt_tau,
        seed=cfg.seed,
        snapshot_steps=snapshot_steps,
        task_names=task_names or list(tasks.TASK_NAMES),
    )
