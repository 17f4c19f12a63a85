"""Assemble the pieces for a profile, each cached so any notebook can rebuild its inputs alone.

w, pairs = world_and_userU(cfg)
users = user_tensors(cfg, w.pretrain, text_table(w))   # frozen MiniLM vectors, each text encoded once
model, history = pretrained_model(cfg)              # trains once per profile, then loads from artifacts/
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from . import backbones as B
from . import catalog as C
from . import evaluation, prompt_tuning, tasks, text_encoder, userU, world
from .config import Profile
from .model import MODEL_VERSION, QAnchor
from .train import Pretrainer, split_pairs
from .user_tensors import TextTable, UserTensors

# the settings a pretrained model depends on (besides the world's)
PRETRAIN_FIELDS = (
    "seed",
    "uqa_topics_per_user",
    "draft_error_rate",
    "backbone",
    "tiny_hidden",
    "tiny_layers",
    "tiny_heads",
    "tiny_kv_heads",
    "tiny_intermediate",
    "tokenizer_vocab",
    "event_caps",
    "tabular_tokens",
    "emb_dim",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "max_answer_tokens",
    "pretrain_steps",
    "batch_size",
    "batch_topics",
    "batch_future_share",
    "lr",
    "warmup_steps",
    "weight_decay",
    "grad_clip",
    "tau",
    "margin",
    "contrastive_variant",
    "use_margin_mask",
    "query_encoder",
    "cl_weight",
    "ntp_weight",
    "eval_every",
    "eval_pairs",
    "diagnostic_group",
    "diagnostic_grid_users",
)
ABLATION_FIELDS = ("use_user_token", "use_modality_tokens")


def device(cfg: Profile) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return cfg.device


def world_and_userU(cfg: Profile) -> tuple[world.World, list[dict]]:
    w = world.load_or_generate(cfg)
    pairs, _ = userU.load_or_build(cfg, w)
    return w, pairs


def text_table(w: world.World, encoder=None) -> TextTable:
    """Every event text of the world (both splits), encoded with MiniLM through the on-disk cache."""
    cache = text_encoder.EmbeddingCache(encoder or text_encoder.MiniLMEncoder(), text_encoder.TEXT_CACHE_DIR)
    return TextTable.build(w.pretrain + w.downstream, cache)


def user_tensors(cfg: Profile, records: list[dict], table: TextTable) -> UserTensors:
    return UserTensors.build(records, table, tuple(cfg.event_caps), cfg.n_tabular, cfg.window_days)


def tokenizer_corpus(pairs: list[dict]) -> list[str]:
    """Text the tiny backbone's tokenizer is trained on: UserU queries and answers, every UserU question (the
    held-out wordings too) and the task queries (their words get tokens, never training)."""
    return (
        [p["query"] for p in pairs]
        + [p["answer"] for p in pairs]
        + userU.all_questions()
        + [t.query for t in tasks.TASKS]
        + [tasks.GENERIC_QUERY]
    )


def backbone(cfg: Profile, pairs: list[dict]) -> B.Backbone:
    if cfg.backbone == "tiny":
        tok = B.train_tokenizer(tokenizer_corpus(pairs), cfg.tokenizer_vocab)
        return B.tiny_qwen2(
            tok,
            cfg.tiny_hidden,
            cfg.tiny_layers,
            cfg.tiny_heads,
            cfg.tiny_kv_heads,
            cfg.tiny_intermediate,
            seed=cfg.seed,
        )
    if cfg.backbone == "smollm2":
        return B.smollm2(True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
    return B.from_folder(cfg.backbone, True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)


def new_model(cfg: Profile, pairs: list[dict], users: UserTensors) -> QAnchor:
    """A fresh Q-Anchor model for the profile, its tabular standardisation fitted on `users`."""
    bb = backbone(cfg, pairs)
    model = QAnchor.create(
        bb,
        users.table.dim,
        cfg.n_tabular,
        tuple(cfg.event_caps),
        cfg.emb_dim,
        cfg.tabular_tokens,
        seed=cfg.seed,
        use_user_token=cfg.use_user_token,
        use_modality_tokens=cfg.use_modality_tokens,
        query_encoder=cfg.query_encoder or None,
        max_answer_tokens=cfg.max_answer_tokens,
    )
    model.encoder.fit_tabular(users.tabular, users.tabular_mask)
    return model


_DATA_MEMO: dict[tuple, tuple] = {}  # one world's pretraining data, kept while a process trains several variants


def pretraining_data(cfg: Profile) -> tuple[UserTensors, list[dict], list[dict], dict[str, np.ndarray]]:
    """The pretraining users' tensors, the train / held-out UserU pairs, and each held-out user's share of events
    per facet (for the diagnostics); built once per process for a world and the settings they depend on (notebook
    08 pretrains a dozen variants of one world). Treat them as read-only."""
    key = (
        cfg.name,
        world.cache_key(cfg),
        cfg.seed,
        cfg.uqa_topics_per_user,
        cfg.draft_error_rate,
        cfg.eval_pairs,
        tuple(cfg.event_caps),
    )
    if key not in _DATA_MEMO:
        _DATA_MEMO.clear()
        w, pairs = world_and_userU(cfg)
        train, held = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
        held_users = {p["user_id"] for p in held}
        shares = {
            r["user_id"]: np.array([userU.facet_share(r, f) for f in C.FACETS])
            for r in w.pretrain
            if r["user_id"] in held_users
        }
        _DATA_MEMO[key] = (user_tensors(cfg, w.pretrain, text_table(w)), train, held, shares)
    return _DATA_MEMO[key]


def pretrainer(cfg: Profile, out_dir: Path | None = None, resume: bool = True) -> Pretrainer:
    """A Pretrainer on the profile's UserU pairs (resumed from the latest checkpoint in out_dir, if any)."""
    users, train_pairs, eval_pairs, shares = pretraining_data(cfg)
    trainer = Pretrainer(
        new_model(cfg, train_pairs, users),
        users,
        train_pairs,
        eval_pairs,
        cfg,
        out_dir,
        device(cfg),
        facet_shares=shares,
    )
    latest = trainer.latest_checkpoint() if resume else None
    if latest is not None:
        trainer.load_checkpoint(latest)
    return trainer


def pretrain_key(cfg: Profile) -> str:
    """Hash of every setting the pretrained model depends on."""
    fields = {k: getattr(cfg, k) for k in PRETRAIN_FIELDS}
    # ablation switches join the key only when switched off, so models trained before they existed keep their key
    fields.update({k: False for k in ABLATION_FIELDS if not getattr(cfg, k)})
    payload = json.dumps(
        {"world": world.cache_key(cfg), "userU": userU.USERU_VERSION, "model": MODEL_VERSION, **fields},
        sort_keys=True,
        default=list,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def pretrained_model(cfg: Profile, progress: bool = True) -> tuple[QAnchor, list[dict]]:
    """The profile's pretrained model and its training history, trained once and cached in artifacts/."""
    folder = cfg.artifacts_path() / f"qanchor-{pretrain_key(cfg)}"
    if (folder / "model" / "qanchor_config.json").exists() and (folder / "history.json").exists():
        return QAnchor.from_pretrained(folder / "model"), json.loads((folder / "history.json").read_text())
    trainer = pretrainer(cfg, out_dir=folder / "checkpoints")
    history = trainer.run(progress=progress)
    trainer.model.save_pretrained(folder / "model")
    (folder / "history.json").write_text(json.dumps(history, indent=1))
    return trainer.model.cpu(), history


PROMPT_FIELDS = ("prompt_tokens", "prompt_steps", "prompt_batch", "prompt_lr", "prompt_tau", "probe_test_size")


def prompts_folder(cfg: Profile) -> Path:
    """Where the profile's tuned prompts (prompt_tokens tokens, prompt_steps steps) live, beside their model."""
    key = hashlib.sha256(json.dumps({k: getattr(cfg, k) for k in PROMPT_FIELDS}, sort_keys=True).encode())
    return cfg.artifacts_path() / f"qanchor-{pretrain_key(cfg)}" / f"prompts-{key.hexdigest()[:8]}"


def tune_prompts(
    cfg: Profile,
    model: QAnchor,
    prefixes,
    labels: np.ndarray,
    n_tokens: int | None = None,
    snapshot_steps: tuple[int, ...] = (),
) -> prompt_tuning.TuningRun:
    """Soft prompts for the ten tasks with the profile's settings, trained on each task's probe-training half."""
    splits = evaluation.task_splits(labels, cfg.seed, cfg.probe_test_size)
    return prompt_tuning.tune(
        model,
        prefixes,
        [t.query for t in tasks.TASKS],
        labels,
        [tr for tr, _ in splits],
        n_tokens=n_tokens or cfg.prompt_tokens,
        steps=cfg.prompt_steps,
        batch_size=cfg.prompt_batch,
        lr=cfg.prompt_lr,
        tau=cfg.prompt_tau,
        seed=cfg.seed,
        snapshot_steps=snapshot_steps,
        task_names=list(tasks.TASK_NAMES),
    )


def tuned_prompts(cfg: Profile, model: QAnchor, prefixes, labels: np.ndarray) -> prompt_tuning.PromptSet:
    """The profile's tuned prompts (notebook 05 saves them), tuned and saved here if missing."""
    folder = prompts_folder(cfg)
    if (folder / "prompts.json").exists():
        saved = prompt_tuning.PromptSet.load(folder)
        if saved.queries == [t.query for t in tasks.TASKS] and saved.vectors.shape[-1] == model.backbone.hidden_size:
            return saved
    prompts = tune_prompts(cfg, model, prefixes, labels).final
    prompts.save(folder)
    return prompts
