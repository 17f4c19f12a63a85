"""Build the pieces of a pretraining run from a profile (cached ones come from artifacts.py):

users = user_tensors(cfg, w.pretrain, artifacts.text_table(w, cfg))   # a population as padded tensors
model = new_model(cfg, train_pairs, users)                         # a fresh Q-Anchor (its backbone, tokenizer)
trainer = pretrainer(cfg, artifacts.pretraining_data(cfg))         # a Pretrainer, resumed from a checkpoint

This module is the code of the pretrained model's cache key (artifacts.STAGE_CODE) with what it imports: it maps a
profile onto the method, UserU and the world's questions, and nothing else (soft prompts: prompts.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..method import backbones, sentence_encoder
from ..method.batches import split_pairs
from ..method.model import QAnchor
from ..method.spec import DatasetSpec
from ..method.train import Pretrainer, PretrainSettings
from ..method.user_tensors import TextTable, UserTensors
from ..synthetic import tasks, world
from ..synthetic.useru_catalogue import catalogue_facets
from ..useru.facts import facet_shares
from .config import Profile, cache_root


def device(cfg: Profile) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return cfg.device


def user_tensors(cfg: Profile, records: list[dict], table: TextTable) -> UserTensors:
    """The synthetic world's records as tensors, read through the profile's spec (world.spec)."""
    return UserTensors.build(records, table, world.spec(cfg, cfg.event_caps))


def tokenizer_corpus(pairs: list[dict], questions: list[str]) -> list[str]:
    """Text the tiny backbone's tokenizer is trained on: UserU queries and answers, and `questions` (for the
    synthetic world: world_questions; their words get tokens, never training)."""
    return [p["query"] for p in pairs] + [p["answer"] for p in pairs] + list(questions)


def world_questions(world_version: int = 1) -> list[str]:
    """Every question of the catalogue's UserU on a world version (held-out wordings too; version 2 adds the
    interest topics), the world's task queries and the generic query."""
    bank = catalogue_facets(world_version).bank
    return bank.all_questions() + [t.query for t in tasks.TASKS] + [tasks.GENERIC_QUERY]


def tiny_tokenizer(cfg: Profile, pairs: list[dict], questions: list[str] | None = None):
    """The tiny backbone's BPE tokenizer, trained on `tokenizer_corpus(pairs, questions)` (default questions: the
    profile's world_questions) at the profile's vocabulary size."""
    questions = world_questions(cfg.world_version) if questions is None else questions
    return backbones.train_tokenizer(tokenizer_corpus(pairs, questions), cfg.tokenizer_vocab)


def backbone(cfg: Profile, pairs: list[dict], questions: list[str] | None = None) -> backbones.Backbone:
    """The profile's LLM; the tiny one gets tiny_tokenizer(cfg, pairs, questions), and its token embeddings start
    from the sentence encoder `token_init` names ('random': PyTorch's start)."""
    if cfg.backbone == "tiny":
        bb = backbones.tiny_qwen2(
            tiny_tokenizer(cfg, pairs, questions),
            cfg.tiny_hidden,
            cfg.tiny_layers,
            cfg.tiny_heads,
            cfg.tiny_kv_heads,
            cfg.tiny_intermediate,
            seed=cfg.init_seed,
        )
        if cfg.token_init != "random":
            backbones.start_token_embeddings(bb, sentence_encoder.text_cache(cfg.token_init, cache_root()).encode)
        return bb
    if cfg.backbone == "smollm2":
        return backbones.smollm2(True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cache_dir=cache_root())
    return backbones.from_folder(cfg.backbone, True, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)


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
        spec or world.spec(cfg, cfg.event_caps),
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
        cache_dir=cache_root(),
    )
    model.encoder.fit_tabular(users.tabular, users.tabular_mask)
    return model


def pretrain_settings(cfg: Profile) -> PretrainSettings:
    """The trainer's settings of a profile: its recipe, batches seeded by the model's seed (init_seed), held-out
    diagnostics by the world's seed."""
    return PretrainSettings(
        steps=cfg.pretrain_steps,
        batch_size=cfg.batch_size,
        batch_topics=cfg.batch_topics,
        batch_future_share=cfg.batch_future_share,
        lr=cfg.lr,
        lr_modules=cfg.lr_modules,
        lr_floor=cfg.lr_floor,
        warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay,
        grad_clip=cfg.grad_clip,
        tau=cfg.tau,
        margin=cfg.margin,
        contrastive_variant=cfg.contrastive_variant,
        use_margin_mask=cfg.use_margin_mask,
        cl_weight=cfg.cl_weight,
        ntp_weight=cfg.ntp_weight,
        eval_every=cfg.eval_every,
        checkpoint_every=cfg.checkpoint_every,
        diagnostic_group=cfg.diagnostic_group,
        diagnostic_grid_users=cfg.diagnostic_grid_users,
        seed=cfg.init_seed,
        diagnostic_seed=cfg.seed,
    )


def pretraining_data(
    cfg: Profile, records: list[dict], pairs: list[dict], table: TextTable
) -> tuple[UserTensors, list[dict], list[dict], dict[str, np.ndarray]]:
    """The pretraining users' tensors, their UserU pairs split into train / held-out users (`eval_pairs` of them
    held out), and each held-out user's share of events per facet (for the diagnostics)."""
    train, held = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
    held_users = {p["user_id"] for p in held}
    source = catalogue_facets(cfg.world_version)
    shares = {r["user_id"]: facet_shares(r, source) for r in records if r["user_id"] in held_users}
    return user_tensors(cfg, records, table), train, held, shares


def pretrainer(cfg: Profile, data: tuple, out_dir: Path | None = None, resume: bool = True) -> Pretrainer:
    """A Pretrainer on `data` = (users, train pairs, held-out pairs, facet shares), the profile's
    artifacts.pretraining_data, asking the catalogue's questions in its diagnostics; resumed from the latest
    checkpoint in out_dir, if any."""
    users, train_pairs, eval_pairs, shares = data
    trainer = Pretrainer(
        new_model(cfg, train_pairs, users),
        users,
        train_pairs,
        eval_pairs,
        pretrain_settings(cfg),
        catalogue_facets(cfg.world_version).bank,
        out_dir,
        device(cfg),
        facet_shares=shares,
    )
    if resume:
        trainer.resume()
    return trainer
