"""Q-Anchor on your own logs: a records file (method/schema.py) and its spec (method/spec.py) through validate,
pretrain, embed and probe. The functions behind `python -m qa_helpers validate|pretrain|embed|probe` (see README):

    problems = list(validate_file("logs.jsonl", spec))                    # every problem, one line each
    pretrain("logs.jsonl", spec, "my_run", cfg)                           # UserU from the records, then pretraining
    embed_file("logs.jsonl", "my_run/model", queries, "emb.parquet")      # users x queries, in chunks
    rows = probe("emb.parquet", "labels.csv", "logs.jsonl", spec, tasks)  # AUC / KS with intervals vs counts + GBDT
    tune_prompts("my_run/model", "logs.jsonl", "labels.csv", tasks, "my_run/prompts", cfg)  # soft prompts (Eq. 7)

Pretraining builds UserU without a catalogue (useru/clustered.py): facets are clusters of the event texts in the
frozen sentence encoder's space, topics are facet x aspect, answers say what the record shows, and a reflection
step drops what it does not. D_future needs a second file of the same users' next-period events (`future`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..method import evaluation, inference, prompt_tuning, sentence_encoder
from ..method.batches import split_pairs
from ..method.count_features import count_features, text_vocabulary
from ..method.fingerprints import code_fingerprint, file_sha256
from ..method.schema import RecordError, iter_lines, problems_of, read_records, write_jsonl
from ..method.spec import DatasetSpec
from ..method.train import Pretrainer, prepare_run_folder
from ..method.user_tensors import TextTable, UserTensors
from ..series import pipeline, prompts
from ..series.config import CACHED_BY, Profile, cache_root
from ..useru import builder, clustered
from ..useru.facts import facet_shares
from .batch_embedding import load_model, read_embeddings

VALIDATE_HINT = "run `python -m qa_helpers validate RECORDS --spec SPEC` to list every problem"


def validate_file(path: str | Path, spec: DatasetSpec) -> Iterator[str]:
    """Every problem of a records file, one message each: '<file> line N (user <id>): <field>: <problem>';
    malformed JSON lines and duplicate user ids included. Reads the file once, lazily."""
    path = Path(path)
    n_records = 0

    def located():
        nonlocal n_records
        for lineno, rec in iter_lines(path):
            n_records += 1
            yield f"{path.name} line {lineno}", rec

    yield from problems_of(located(), spec)
    if n_records == 0:
        yield f"{path.name}: no records (the file is empty)"


def load_records(path: str | Path, spec: DatasetSpec) -> list[dict]:
    """Every record of a file, validated; the first problem raises RecordError with a hint."""
    try:
        return read_records(Path(path), spec)
    except RecordError as e:
        raise RecordError(f"{e}\n{VALIDATE_HINT}") from None


# ----------------------------------------------------------------------------- pretrain


def pretraining_data(
    records: list[dict],
    future: list[dict] | None,
    spec: DatasetSpec,
    cfg: Profile,
    cache: sentence_encoder.EmbeddingCache,
    n_facets: int = 24,
) -> dict:
    """Catalogue-free UserU and the tensors pretraining reads: {users, train, held, shares, facets, questions,
    pairs, stats}. Facets come from the history's texts (future texts join their nearest facet)."""
    table = TextTable.build(records + (future or []), cache)
    facets = clustered.find_facets(records, cache.encode, n_facets, cfg.seed)
    if future:
        future_texts = sorted({ev["text"] for r in future for evs in r["events"].values() for ev in evs})
        facets = facets.extended(future_texts, cache.encode)
    pairs, stats = builder.build(
        records,
        future,
        facets,
        cfg.seed,
        cfg.uqa_topics_per_user,
        cfg.draft_error_rate,
        spec.window_days,
        k_low=cfg.uqa_low_topics,
        modalities=spec.event_modalities,
    )
    train, held = split_pairs(pairs, cfg.eval_pairs, cfg.seed)
    held_users = {p["user_id"] for p in held}
    shares = {r["user_id"]: facet_shares(r, facets) for r in records if r["user_id"] in held_users}
    return {
        "users": UserTensors.build(records, table, spec),
        "train": train,
        "held": held,
        "shares": shares,
        "facets": facets,
        "questions": facets.bank,
        "pairs": pairs,
        "stats": stats,
    }


def _run_fingerprint(
    records_path: str | Path,
    spec: DatasetSpec,
    cfg: Profile,
    future_path: str | Path | None = None,
    n_facets: int | None = None,
    text_encoder: str | None = None,
) -> dict:
    """What a pretraining run on your records is trained on: the records' and the future file's sha256, the spec,
    every setting that shapes UserU and the model (with the seed, the facets and the text encoder), and the
    fingerprint of the code that builds and trains it. A run resumes only checkpoints of an equal fingerprint.
    `n_facets` and `text_encoder` default to the profile's (own_logs_facets, text_encoder)."""
    n_facets = cfg.own_logs_facets if n_facets is None else n_facets
    text_encoder = text_encoder or cfg.text_encoder
    settings = {f: getattr(cfg, f) for stage in ("userU", "pretrain") for f in CACHED_BY[stage]}
    return {
        "records": file_sha256(records_path),
        "future": file_sha256(future_path) if future_path else None,
        "spec": spec.to_dict(),
        "settings": settings | {"seed": cfg.seed, "facets": n_facets, "text_encoder": text_encoder},
        "code": code_fingerprint(["cli.your_logs"], exclude=["series.config"]),  # settings: recorded above
    }


def pretrainer(
    records_path: str | Path,
    spec: DatasetSpec,
    out: str | Path,
    cfg: Profile,
    future_path: str | Path | None = None,
    n_facets: int | None = None,
    text_encoder: str | None = None,
    fresh: bool = False,
) -> tuple[Pretrainer, dict]:
    """A Pretrainer on your records, resumed from the latest checkpoint under `out` if those checkpoints were
    trained on the same records, spec, settings and code (train.prepare_run_folder; `fresh` starts afresh).
    `n_facets` and `text_encoder` default to the profile's (own_logs_facets, text_encoder)."""
    n_facets = cfg.own_logs_facets if n_facets is None else n_facets
    text_encoder = text_encoder or cfg.text_encoder
    records = load_records(records_path, spec)
    future = load_records(future_path, spec) if future_path else None
    if future is not None and [r["user_id"] for r in future] != [r["user_id"] for r in records]:
        raise RecordError(f"{future_path}: the future file must hold the same users as {records_path}, in order")
    checkpoints = Path(out) / "checkpoints"
    fingerprint = _run_fingerprint(records_path, spec, cfg, future_path, n_facets, text_encoder)
    prepare_run_folder(checkpoints, fingerprint, fresh)
    cache = sentence_encoder.text_cache(text_encoder, cache_root())
    data = pretraining_data(records, future, spec, cfg, cache, n_facets)
    model = pipeline.new_model(cfg, data["train"], data["users"], spec, data["questions"].all_questions(), text_encoder)
    trainer = Pretrainer(
        model,
        data["users"],
        data["train"],
        data["held"],
        pipeline.pretrain_settings(cfg),
        data["questions"],
        checkpoints,
        pipeline.device(cfg),
        data["shares"],
    )
    trainer.resume()
    return trainer, data


def pretrain(
    records_path: str | Path,
    spec: DatasetSpec,
    out: str | Path,
    cfg: Profile,
    future_path: str | Path | None = None,
    steps: int | None = None,
    n_facets: int | None = None,
    text_encoder: str | None = None,
    progress: bool = True,
    fresh: bool = False,
) -> list[dict]:
    """Pretrain on your records; rank 0 writes under `out`: model/ (save_pretrained), spec.json, userU.jsonl,
    userU_stats.json, facets.json and history.json. Returns the training history."""
    out = Path(out)
    trainer, data = pretrainer(records_path, spec, out, cfg, future_path, n_facets, text_encoder, fresh)
    history = trainer.run(steps, progress)
    if trainer.rank == 0:
        trainer.model.save_pretrained(out / "model")
        spec.save(out / "spec.json")
        write_jsonl(out / "userU.jsonl", data["pairs"])
        facets = data["facets"]
        sizes = np.bincount(facets.labels, minlength=facets.n_facets).tolist()
        (out / "facets.json").write_text(
            json.dumps(
                [
                    {"facet": k, "name": n, "aliases": list(a), "texts": s}
                    for k, n, a, s in zip(facets.keys, facets.names, facets.aliases, sizes)
                ],
                indent=1,
            )
        )
        (out / "userU_stats.json").write_text(json.dumps(data["stats"], indent=1))
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return history


def pretrain_report(out: str | Path) -> str:
    """What a finished `pretrain --out OUT` left, in a few lines: where the model is, what UserU held, the held-out
    diagnostics of the last evaluation against chance, and the next command to run."""
    out = Path(out)
    history = json.loads((out / "history.json").read_text())
    stats = json.loads((out / "userU_stats.json").read_text())
    facets = json.loads((out / "facets.json").read_text())
    evaluated = [h for h in history if "exact_recall@1" in h]
    lines = [
        f"model: {out / 'model'} ({len(history)} steps; checkpoints in {out / 'checkpoints'})",
        f"UserU: {stats['users']:,} users, {stats['pairs_uqa']:,} question-answer pairs and {stats['pairs_future']:,}"
        f" next-period pairs, about {len(facets)} facets of their event texts (facets.json)",
    ]
    if evaluated:
        last = evaluated[-1]
        lines.append(
            f"held-out users at step {last['step']}: exact-query recall@1 {last['exact_recall@1']:.3f} "
            f"(chance {last['exact_chance@1']:.3f}), user share of the embedding spread {last['user_share']:.2f}, "
            f"effective rank {last['effective_rank']:.1f}"
        )
    else:
        lines.append("held-out users: not evaluated (the profile's eval_every is 0)")
    lines.append(
        f"next: python -m qa_helpers embed RECORDS --model {out / 'model'} --queries QUERIES.txt --out emb.parquet"
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- probe


def read_labels(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """A labels CSV (user_id, then one 0/1 column per task) -> user ids, task names, labels (n_users, T) int."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark is fine
        rows = list(csv.reader(f))
    if not rows or rows[0][:1] != ["user_id"] or len(rows[0]) < 2:
        raise ValueError(f"{path}: the header must be user_id followed by one column per task")
    tasks, users, labels = rows[0][1:], [], []
    for lineno, row in enumerate(rows[1:], 2):
        if len(row) != len(tasks) + 1:
            raise ValueError(f"{path} line {lineno}: expected {len(tasks) + 1} columns, got {len(row)}")
        if any(v not in ("0", "1") for v in row[1:]):
            raise ValueError(f"{path} line {lineno} (user {row[0]!r}): labels must be 0 or 1, got {row[1:]}")
        users.append(row[0])
        labels.append([int(v) for v in row[1:]])
    if len(set(users)) != len(users):
        raise ValueError(f"{path}: duplicate user ids")
    return users, tasks, np.asarray(labels, dtype=np.int64).reshape(len(users), len(tasks))


def _labelled_records(labels_path: str | Path, records_path: str | Path, spec: DatasetSpec):
    """The labels file's users, tasks and labels (n_users, T), and those users' records in the same order."""
    users, tasks, labels = read_labels(labels_path)
    records = {r["user_id"]: r for r in load_records(records_path, spec)}
    lacking = [u for u in users if u not in records]
    if lacking:
        raise ValueError(f"{len(lacking)} labelled users have no record, e.g. {lacking[0]!r}")
    return users, tasks, labels, [records[u] for u in users]


def probe(
    embeddings_path: str | Path,
    labels_path: str | Path,
    records_path: str | Path,
    spec: DatasetSpec,
    task_queries: dict[str, str] | None = None,
    seed: int = 0,
    test_size: float = 0.5,
    n_boot: int = 200,
    vocabulary_size: int = 200,
) -> list[dict]:
    """Linear probes on the embeddings against counts + GBDT, per task of the labels file: rows of method, task,
    AUC and KS with 95% bootstrap intervals (evaluation.evaluate). `task_queries` maps each task to the query whose
    embedding it probes; without it the embeddings must hold one query. Every labelled user needs an embedding
    and a record: none is dropped silently."""
    users, tasks, labels, ordered = _labelled_records(labels_path, records_path, spec)
    emb_users, queries, emb = read_embeddings(embeddings_path)
    if task_queries is None:
        if len(queries) != 1:
            raise ValueError(f"the embeddings hold {len(queries)} queries: map each task to one (--tasks tasks.json)")
        task_queries = {t: queries[0] for t in tasks}
    missing_tasks = [t for t in tasks if t not in task_queries]
    if missing_tasks:
        raise ValueError(f"no query for task {missing_tasks[0]!r}; the task map covers {sorted(task_queries)}")
    unknown = [q for q in (task_queries[t] for t in tasks) if q not in queries]
    if unknown:
        raise ValueError(f"query {unknown[0]!r} was not embedded; the embeddings hold {queries}")
    row_of = {u: i for i, u in enumerate(emb_users)}
    lacking = [u for u in users if u not in row_of]
    if lacking:
        raise ValueError(f"{len(lacking)} labelled users have no embedding, e.g. {lacking[0]!r}")
    rows = np.array([row_of[u] for u in users])
    per_task = [emb[rows, queries.index(task_queries[t])] for t in tasks]
    counts = count_features(ordered, spec, text_vocabulary(ordered, vocabulary_size))
    splits = evaluation.task_splits(labels, seed, test_size)
    return evaluation.evaluate(
        "Q-Anchor (linear probe)", lambda k: per_task[k], labels, splits, "linear", n_boot, seed, task_names=tasks
    ) + evaluation.evaluate_gbdt("counts + GBDT", counts, labels, splits, n_boot, seed, task_names=tasks)


def tune_prompts(
    model_folder: str | Path,
    records_path: str | Path,
    labels_path: str | Path,
    task_queries: dict[str, str],
    out: str | Path,
    cfg: Profile,
    seed: int = 0,
    test_size: float = 0.5,
) -> prompt_tuning.PromptSet:
    """Soft prompts with class prototypes (Eq. 7), one per task of the labels file, trained on the same probe-
    training half `probe` fits on (same seed and test size), with the profile's prompt settings; saved to `out`
    for `embed --prompts`."""
    model, cache = load_model(model_folder)
    spec = model.config.spec
    users, tasks, labels, records = _labelled_records(labels_path, records_path, spec)
    missing = [t for t in tasks if t not in task_queries]
    if missing:
        raise ValueError(f"no query for task {missing[0]!r}; the task map covers {sorted(task_queries)}")
    tensors = UserTensors.build(records, TextTable.build(records, cache), spec)
    prefixes = inference.encode_prefixes(model, tensors)
    splits = evaluation.task_splits(labels, seed, test_size)
    run = prompts.tune_prompts(
        replace(cfg, seed=seed), model, prefixes, labels, queries=[task_queries[t] for t in tasks], task_names=tasks,
        splits=splits,
    )  # fmt: skip
    run.final.save(out)
    return run.final
