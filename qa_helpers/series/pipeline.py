"""Build the pieces of a run from a profile (cached ones come from artifacts.py):

users = user_tensors(cfg, w.pretrain, artifacts.text_table(w, cfg))   # a population as padded tensors
model = new_model(cfg, train_pairs, users)                         # a fresh Q-Anchor (its backbone, tokenizer)
trainer = pretrainer(cfg, artifacts.pretraining_data(cfg))         # a Pretrainer, resumed from a checkpoint
run = tune_prompts(cfg, model, prefixes, labels)                   # soft prompts for the ten tasks
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..method import backbones as B
from ..method import evaluation, prompt_tuning, sentence_encoder
from ..method.batches import split_pairs
from ..method.model import QAnchor
from ..method.spec import DatasetSpec
from ..method.train import Pretrainer
from ..method.user_tensors import TextTable, UserTensors
from ..synthetic import tasks, world
from ..useru import builder as userU
from .config import Profile


def device(cfg: Profile) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return cfg.device


def user_tensors(cfg: Profile, records: list[dict], table: TextTable) -> UserTensors:
    """The synthetic world's records as tensors, read through the profile's spec (world.spec)."""
    return UserTensors.build(records, table, world.spec(cfg))


def tokenizer_corpus(pairs: list[dict], questions: list[str]) -> list[str]:
    """Text the tiny backbone's tokenizer is trained on: UserU queries and answers, and `questions` (for the
    synthetic world: world_questions; their words get tokens, never training)."""
    return [p["query"] for p in pairs] + [p["answer"] for p in pairs] + list(questions)


def world_questions(world_version: int = 1) -> list[str]:
    """Every question of the catalogue's UserU on a world version (held-out wordings too; version 2 adds the
    interest topics), the world's task queries and the generic query."""
    return userU.all_questions(world_version == 2) + [t.query for t in tasks.TASKS] + [tasks.GENERIC_QUERY]


def backbone(cfg: Profile, pairs: list[dict], questions: list[str] | None = None) -> B.Backbone:
    """The profile's LLM; the tiny one gets a tokenizer trained on `tokenizer_corpus(pairs, questions)` (default
    questions: the profile's world_questions), and its token embeddings start from the sentence encoder
    `token_init` names ('random': PyTorch's start)."""
    if cfg.backbone == "tiny":
        questions = world_questions(cfg.world_version) if questions is None else questions
        tok = B.train_tokenizer(tokenizer_corpus(pairs, questions), cfg.tokenizer_vocab)
        bb = B.tiny_qwen2(
            tok,
            cfg.tiny_hidden,
            cfg.tiny_layers,
            cfg.tiny_heads,
            cfg.tiny_kv_heads,
            cfg.tiny_intermediate,
            seed=cfg.init_seed,
        )
        if cfg.token_init != "random":
            B.start_token_embeddings(bb, sentence_encoder.text_cache(cfg.token_init).encode)
        return bb
    if cfg.backbone == "smollm2":
        return B.smollm2(True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
    return B.from_folder(cfg.backbone, True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)


def new_model(
    cfg: Profile,
    pairs: list[dict],
    users: UserTensors,
    spec: DatasetSpec | None = None,
    questions: list[str] | None = None,
    text_encoder: str | None = None,
) -> QAnchor:
    """A fresh Q-Anchor model for the profile and a dataset spec (default: the world's), its tabular
    standardisation fitted on `users`; `questions` join the tiny tokenizer's corpus (see tokenizer_corpus);
    `text_encoder` names the sentence encoder of the event texts `users` were built with (default: the profile's)."""
    bb = backbone(cfg, pairs, questions)
    model = QAnchor.create(
        bb,
        users.table.dim,
        spec or world.spec(cfg),
        cfg.emb_dim,
        cfg.tabular_tokens,
        seed=cfg.init_seed,
        use_user_token=cfg.use_user_token,
        use_modality_tokens=cfg.use_modality_tokens,
        query_encoder=cfg.query_encoder or None,
        max_answer_tokens=cfg.max_answer_tokens,
        text_encoder=text_encoder or cfg.text_encoder,
        readout=cfg.readout,
        head=cfg.head,
        answer_pooling=cfg.answer_pooling,
        numeric_init_scale=cfg.numeric_init_scale,
    )
    model.encoder.fit_tabular(users.tabular, users.tabular_mask)
    return model


def pretraining_data(
    cfg: Profile, records: list[dict], pairs: list[dict], table: TextTable
) -> tuple[UserTensors, list[dict], list[dict], dict[str, np.ndarray]]:
    """The pretraining users' tensors, their UserU pairs split into train / held-out users (`eval_pairs` of them
    held out), and each held-out user's share of events per facet (for the diagnostics)."""
    train, held = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
    held_users = {p["user_id"] for p in held}
    shares = {r["user_id"]: userU.facet_shares(r) for r in records if r["user_id"] in held_users}
    return user_tensors(cfg, records, table), train, held, shares


def pretrainer(cfg: Profile, data: tuple, out_dir: Path | None = None, resume: bool = True) -> Pretrainer:
    """A Pretrainer on `data` = (users, train pairs, held-out pairs, facet shares), the profile's
    artifacts.pretraining_data; resumed from the latest checkpoint in out_dir, if any."""
    users, train_pairs, eval_pairs, shares = data
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
    `task_names`), trained on each task's probe-training half (`splits`, default the profile's task_splits)."""
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
