"""A notebook's set-up in one call: the profile, its metrics recorder, and what the chapter reads, each loaded
from artifacts/ or built there on first use, with one printed line per thing said.

    ch = chapter.setup("05_soft_prompt_tuning", PROFILE, SEED, users=True, model=True)
    ch.cfg, ch.rec, ch.world, ch.pairs, ch.users, ch.model, ch.labels, ch.queries, ch.splits

`users` are the downstream users as tensors (frozen MiniLM vectors of their event texts), `model` the profile's
pretrained Q-Anchor in eval mode, `splits` each task's stratified probe-train / test split (the same in every
chapter). `subset` draws the users a costly step runs on, the same way in every chapter:

    rows = chapter.subset(len(ch.users), cfg.baseline_users, np.random.default_rng(cfg.seed))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method import evaluation
from ..method.model import QAnchor
from ..method.user_tensors import TextTable, UserTensors
from ..synthetic import scenarios, tasks
from ..synthetic.world import World
from . import artifacts, config, pipeline, runner
from .outputs import MetricsRecorder, use_style


@dataclass
class Chapter:
    cfg: config.Profile
    rec: MetricsRecorder
    world: World
    pairs: list[dict]  # the UserU pairs of the pretraining users
    table: TextTable | None  # every event text's vector (with users=True)
    users: UserTensors | None  # the downstream users (with users=True)
    model: QAnchor | None  # the pretrained model, eval mode (with model=True)
    history: list[dict] | None  # its pretraining history
    queries: list[str]  # the ten task queries, in tasks.TASK_NAMES order
    labels: np.ndarray  # (n_downstream, 10) task labels
    splits: list[tuple[np.ndarray, np.ndarray]]  # per task: probe-train and test rows of the downstream users


def setup(notebook: str, profile: str, seed: int | None = None, *, users: bool = False, model: bool = False) -> Chapter:
    """Load the profile (with `seed` if given), start the recorder and plot style, and load what is asked for."""
    cfg = config.load(profile, **({} if seed is None else {"seed": seed}))
    use_style()
    print(runtime_line(notebook))
    w, pairs = artifacts.world_and_useru(cfg)
    print(
        f"profile {cfg.name} (seed {cfg.seed}): {len(w.pretrain)} pretraining users with {len(pairs):,} UserU pairs, "
        f"{len(w.downstream)} downstream users"
    )
    table = artifacts.text_table(w, cfg) if users else None
    population = pipeline.user_tensors(cfg, w.downstream, table) if users else None
    if users:
        print(f"downstream users as tensors: {len(table.texts):,} distinct event texts, caps K_m = {cfg.event_caps}")
    qanchor, history = artifacts.pretrained_model(cfg) if model else (None, None)
    if model:
        qanchor.eval()
        folder = artifacts.model_folder(cfg).name
        print(f"pretrained Q-Anchor: {cfg.backbone} backbone, {len(history)} steps (artifacts/{cfg.name}/{folder})")
    return Chapter(
        cfg,
        MetricsRecorder(notebook, cfg),
        w,
        pairs,
        table,
        population,
        qanchor,
        history,
        [t.query for t in tasks.TASKS],
        w.labels,
        evaluation.task_splits(w.labels, cfg.seed, cfg.probe_test_size),
    )


def runtime_line(notebook: str) -> str:
    """How long the notebook took on its last recorded run per profile (`python -m qa_helpers run` or `make test`
    record them), in one line."""
    times = runner.measured_runtimes(notebook)
    if not times:
        return "run time: not measured yet on this checkout (`make reproduce` records it)"
    said = ", ".join(f"{p} {s / 60:.1f} min" if s >= 60 else f"{p} {s:.0f} s" for p, s in times.items())
    return f"run time of this notebook, last measured: {said} (2-core CPU unless a GPU ran it)"


def subset(pool: int | np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` rows of `pool` (a count n for rows 0..n-1, or an array of rows) drawn without replacement by `rng`,
    in increasing order; the whole pool when size is 0. The users a costly step of a chapter runs on."""
    pool = np.arange(pool) if np.isscalar(pool) else np.asarray(pool)
    if size <= 0:
        return pool
    return np.sort(rng.choice(pool, min(size, len(pool)), replace=False))


@dataclass
class SuiteData:
    """The long-tail suite on a world's downstream users (notebook 04 and benchmarks/seed_spread.py alike)."""

    scenarios: tuple  # scenarios.Scenario, in suite order
    probs: np.ndarray  # (n_downstream, S) the oracle
    labels: np.ndarray  # (n_downstream, S) int8
    users: np.ndarray  # the downstream rows it is scored on (cfg.suite_users of them, 0: all), increasing
    splits: list  # per scenario (train, test) rows among `users`, stratified

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @property
    def queries(self) -> list[str]:
        return [s.query for s in self.scenarios]

    def full_size(self, values: np.ndarray) -> np.ndarray:
        """(len(users), ...) features of the suite's users placed in a (n_downstream, ...) matrix (other rows are
        never read)."""
        full = np.zeros((len(self.labels),) + values.shape[1:], dtype=np.float32)
        full[self.users] = values
        return full


def suite(cfg: config.Profile, w: World) -> SuiteData:
    """The profile's long-tail suite: labels from the world's downstream future state, `cfg.suite_users` users drawn
    by their own stream of the seed, stratified splits of them."""
    future_interests = None if w.future_interests is None else w.future_interests["downstream"]
    probs, labels = scenarios.labels(w.future_traits["downstream"], future_interests, cfg.seed)
    rows = subset(len(labels), cfg.suite_users, np.random.default_rng([cfg.seed, 8]))
    splits = evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size, users=rows)
    return SuiteData(scenarios.suite(cfg.world_version), probs, labels, rows, splits)
