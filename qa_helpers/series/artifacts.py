"""Every cached artifact, loaded if present and built (then saved) if not: one place, one way to key them.

    w = artifacts.world(cfg)                          # <cache root>/<profile>/world-<key>/ (config.cache_root)
    pairs, stats = artifacts.useru_pairs(cfg, w)      # beside the world, keyed by its own settings
    table = artifacts.text_table(w, cfg)              # every event text's vector (the text cache, sentence_encoder)
    model, history = artifacts.pretrained_model(cfg)  # artifacts/<profile>/qanchor-<key>/
    prompts = artifacts.tuned_prompts(cfg, model, prefixes, labels)   # .../qanchor-<key>/prompts-<key>/

A key hashes the fingerprint of the code the stage runs (`STAGE_CODE`: those modules and every package module they
import, fingerprints.py), the Profile settings `config.CACHED_BY[stage]` declares, and the key of the stage it
builds on (world <- userU <- pretrain <- prompts). A change to the stage's code gives a new key, so no version number
is bumped by hand; every Profile field is declared for exactly one stage or as shaping nothing cached (tested), so a
new setting cannot be left out of a key by accident. This module only loads, saves and passes settings on: the code
a stage runs lives in its STAGE_CODE modules.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..method import fingerprints, prompt_tuning, sentence_encoder
from ..method.model import QAnchor
from ..method.schema import atomic_write_text, read_jsonl, write_jsonl
from ..method.user_tensors import TextTable, UserTensors
from ..synthetic import tasks
from ..synthetic import world as synthetic_world
from ..synthetic.useru_catalogue import catalogue_facets
from ..useru import builder
from . import pipeline, prompts
from .config import CACHED_BY, Profile, cache_root

# the modules whose code each stage runs (with every package module they import, fingerprints.closure)
STAGE_CODE = {
    "world": ("synthetic.world",),
    "userU": ("useru.builder", "synthetic.useru_catalogue"),
    "pretrain": ("series.pipeline",),  # new_model, pretrainer: the trainer, the model, the diagnostics
    "prompts": ("series.prompts",),  # tune_prompts: prompt tuning on the probe splits (evaluation.task_splits)
}
BUILDS_ON = {"world": None, "userU": "world", "pretrain": "userU", "prompts": "pretrain"}
SETTINGS_MODULES = ("series.config",)  # the settings enter a key by value (CACHED_BY), not by their module's code


def stage_fingerprint(stage: str) -> str:
    """The fingerprint of the code a stage runs: STAGE_CODE[stage] and every package module it imports."""
    return fingerprints.code_fingerprint(STAGE_CODE[stage], exclude=SETTINGS_MODULES)


def key(cfg: Profile, stage: str) -> str:
    """12 hex digits: the hash of the stage's code fingerprint, declared settings and upstream key."""
    if stage not in BUILDS_ON:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(BUILDS_ON)}")
    upstream = BUILDS_ON[stage]
    payload = {
        "stage": stage,
        "code": stage_fingerprint(stage),
        "upstream": key(cfg, upstream) if upstream else None,
        **{f: getattr(cfg, f) for f in CACHED_BY[stage]},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- the world and UserU


def _world_folder(cfg: Profile) -> Path:
    """artifacts/<profile>/world-<key>/: the profile's world, and its UserU pairs beside it (one file per UserU
    key, so versions of the pairs built on one world live side by side)."""
    return cfg.artifacts_path() / f"world-{key(cfg, 'world')}"


def world(cfg: Profile) -> synthetic_world.World:
    """The profile's world, generated and saved on first use."""
    folder = _world_folder(cfg)
    if (folder / "ground_truth.jsonl").exists():
        return synthetic_world.load(folder, cfg)
    w = synthetic_world.generate(cfg)
    synthetic_world.save(w, folder, cfg)
    return w


def useru_pairs(cfg: Profile, w: synthetic_world.World) -> tuple[list[dict], dict]:
    """UserU pairs and their stats for the profile's world `w`, built and saved on first use."""
    folder = _world_folder(cfg)
    stage_key = key(cfg, "userU")
    rows_path, stats_path = folder / f"userU-{stage_key}.jsonl", folder / f"userU_stats-{stage_key}.json"
    if stats_path.exists():
        saved = json.loads(stats_path.read_text())
        if saved.get("key") == stage_key:
            return read_jsonl(rows_path), saved["stats"]
    rows, stats = builder.build(
        w.pretrain,
        w.pretrain_future,
        catalogue_facets(cfg.world_version),  # UserU version 5.1 on world version 2
        cfg.seed,
        cfg.uqa_topics_per_user,
        cfg.draft_error_rate,
        cfg.window_days,
        k_low=cfg.uqa_low_topics,
    )
    write_jsonl(rows_path, rows)
    atomic_write_text(stats_path, json.dumps({"key": stage_key, "stats": stats}, indent=1))
    return rows, stats


def world_and_useru(cfg: Profile) -> tuple[synthetic_world.World, list[dict]]:
    """The profile's world and its UserU pairs."""
    w = world(cfg)
    return w, useru_pairs(cfg, w)[0]


def text_table(w: synthetic_world.World, cfg: Profile) -> TextTable:
    """Every event text of the world (both splits), encoded by the profile's text encoder (MiniLM through the
    on-disk cache)."""
    return TextTable.build(w.pretrain + w.downstream, sentence_encoder.text_cache(cfg.text_encoder, cache_root()))


_DATA_MEMO: dict[tuple, tuple] = {}  # one world's pretraining data, kept while a process trains several variants


def pretraining_data(cfg: Profile) -> tuple[UserTensors, list[dict], list[dict], dict[str, np.ndarray]]:
    """The pretraining users' tensors, the train / held-out UserU pairs, and each held-out user's share of events
    per facet (for the diagnostics); built once per process for a world, its UserU pairs, the held-out split and
    the event caps (notebook 08 pretrains a dozen variants of one world). Treat them as read-only."""
    memo_key = (cfg.name, key(cfg, "userU"), cfg.eval_pairs, tuple(cfg.event_caps))
    if memo_key not in _DATA_MEMO:
        _DATA_MEMO.clear()
        w, pairs = world_and_useru(cfg)
        _DATA_MEMO[memo_key] = pipeline.pretraining_data(cfg, w.pretrain, pairs, text_table(w, cfg))
    return _DATA_MEMO[memo_key]


# ----------------------------------------------------------------------------- the pretrained model and prompts


def model_folder(cfg: Profile) -> Path:
    return cfg.artifacts_path() / f"qanchor-{key(cfg, 'pretrain')}"


def pretrained_model(cfg: Profile, progress: bool = True) -> tuple[QAnchor, list[dict]]:
    """The profile's pretrained model and its training history, trained once (resuming any checkpoint) and saved."""
    folder = model_folder(cfg)
    if (folder / "model" / "qanchor_config.json").exists() and (folder / "history.json").exists():
        model = QAnchor.from_pretrained(folder / "model", cache_root())
        return model, json.loads((folder / "history.json").read_text())
    trainer = pipeline.pretrainer(cfg, pretraining_data(cfg), out_dir=folder / "checkpoints")
    history = trainer.run(progress=progress)
    trainer.model.save_pretrained(folder / "model")
    (folder / "history.json").write_text(json.dumps(history, indent=1))
    return trainer.model.cpu(), history


def prompts_folder(cfg: Profile) -> Path:
    """Where the profile's tuned prompts (prompt_tokens tokens, prompt_steps steps) live, beside their model."""
    return model_folder(cfg) / f"prompts-{key(cfg, 'prompts')[:8]}"


def tuned_prompts(cfg: Profile, model: QAnchor, prefixes, labels: np.ndarray) -> prompt_tuning.PromptSet:
    """The profile's tuned prompts (notebook 05 saves them), tuned and saved here if missing."""
    folder = prompts_folder(cfg)
    if (folder / "prompts.json").exists():
        saved = prompt_tuning.PromptSet.load(folder)
        if saved.queries == [t.query for t in tasks.TASKS] and saved.vectors.shape[-1] == model.backbone.hidden_size:
            return saved
    tuned = prompts.tune_prompts(cfg, model, prefixes, labels).final
    tuned.save(folder)
    return tuned
