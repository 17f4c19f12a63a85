"""Embedding a records file of any size: chunks of users streamed from JSONL, embedded under every query, and
written as they come (memory stays flat), as Parquet or .npy; the same per-chunk function also runs as a Ray Data
job over Parquet shards (`embed_with_ray`, the optional `ray` extra).

    embed_file("logs.jsonl", "my_run/model", queries, "emb.parquet", chunk_size=1000)
    user_ids, queries, emb = read_embeddings("emb.parquet")            # emb: (N, Q, emb_dim), unit norm

Outputs:
- Parquet: one row per (user, query): user_id (string), query (string), embedding (float32 x emb_dim), users in
  file order, each user's queries in the order given. A Ray job writes the same columns as a folder of shards.
- .npy: an (N, Q, emb_dim) float32 array, and beside it `<name>.json` with the user ids and the queries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm.auto import tqdm

from ..method import inference, sentence_encoder
from ..method.model import QAnchor
from ..method.prompt_tuning import PromptSet
from ..method.schema import BadLine, RecordError, atomic_write_text, describe, iter_lines, record_problems, text_lines
from ..method.spec import DatasetSpec
from ..method.user_tensors import TextTable, UserTensors
from ..series.config import cache_root

FORMATS = (".parquet", ".npy")
# users per model batch inside a chunk: on 2 CPU cores 32 embedded 2,000 users faster than 128 (16.9 s against
# 20.5 s) at 0.80 GiB peak instead of 1.37 (eager attention's (B, heads, T, T) scores grow with the batch); the
# embeddings are bitwise the same. A GPU may want more (--batch-size).
BATCH_USERS = 32


def iter_chunks(path: str | Path, spec: DatasetSpec, chunk_size: int) -> Iterator[list[dict]]:
    """Validated records of a JSONL file, `chunk_size` at a time; the first problem (a malformed line, a bad
    record, a user id seen before) raises RecordError naming its line."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    path, seen, chunk = Path(path), set(), []
    for lineno, rec in iter_lines(path):
        where = f"{path.name} line {lineno}"
        if isinstance(rec, BadLine):
            raise RecordError(f"{where}: {rec}")
        problems = record_problems(rec, spec)
        if problems:
            raise RecordError(describe(rec, where, *problems[0]))
        if rec["user_id"] in seen:
            raise RecordError(describe(rec, where, "user_id", f"duplicate user id {rec['user_id']!r}"))
        seen.add(rec["user_id"])
        chunk.append(rec)
        if len(chunk) == chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def count_records(path: str | Path) -> int:
    """The records iter_chunks will read: non-blank lines by the same rule (schema.text_lines), JSON unparsed."""
    return sum(1 for _ in text_lines(Path(path)))


def _prompt_vectors(prompts_folder: str | Path | None, queries: list[str]) -> list[torch.Tensor | None]:
    """Per query its tuned soft prompt (n_tokens, d) from a PromptSet folder, or None for every query without one."""
    if prompts_folder is None:
        return [None] * len(queries)
    prompts = PromptSet.load(prompts_folder)
    missing = [q for q in queries if q not in prompts.queries]
    if missing:
        raise ValueError(f"no tuned prompt for query {missing[0]!r}; the prompt set has {prompts.queries}")
    return [prompts.vectors[prompts.queries.index(q)] for q in queries]


def embed_records(
    model: QAnchor,
    cache: sentence_encoder.EmbeddingCache,
    records: list[dict],
    queries: list[str],
    prompts: list[torch.Tensor | None] | None = None,
    path: str = "cached",
    batch_size: int = BATCH_USERS,
) -> np.ndarray:
    """The per-chunk function: (N, Q, emb_dim) embeddings of `records` under `queries` (one tuned prompt per query,
    or None), their texts encoded through `cache` (the sentence encoder the model was trained with)."""
    table = TextTable.build(records, cache)
    users = UserTensors.build(records, table, model.config.spec)
    prompts = prompts or [None] * len(queries)
    if all(p is None for p in prompts):
        return inference.embed(model, users, queries, path=path, batch_size=batch_size)
    return np.concatenate(
        [inference.embed(model, users, [q], p, path=path, batch_size=batch_size) for q, p in zip(queries, prompts)],
        axis=1,
    )


def load_model(model_folder: str | Path) -> tuple[QAnchor, sentence_encoder.EmbeddingCache]:
    """A saved model in eval mode, and the cache of the sentence encoder its event texts need."""
    folder = Path(model_folder)
    if not (folder / "qanchor_config.json").exists():
        raise FileNotFoundError(f"{folder} is not a saved Q-Anchor model (no qanchor_config.json); pretrain one first")
    model = QAnchor.from_pretrained(folder, cache_root()).eval()
    return model, sentence_encoder.text_cache(model.config.text_encoder, cache_root())


def _embedding_table(user_ids: list[str], queries: list[str], emb: np.ndarray) -> pa.Table:
    """(N, Q, e) embeddings as a long table: one row per (user, query)."""
    n, q, e = emb.shape
    flat = pa.array(emb.reshape(-1).astype(np.float32, copy=False), pa.float32())
    return pa.table(
        {
            "user_id": pa.array(np.repeat(np.asarray(user_ids, dtype=object), q), pa.string()),
            "query": pa.array(np.tile(np.asarray(queries, dtype=object), n), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, e),
        }
    )


class _Writer:
    """Writes chunks to a Parquet file (row groups) or a preallocated .npy (memory-mapped), under a temporary name
    that `close` renames into place: a failed run leaves no partial output and keeps an older one."""

    def __init__(self, out: Path, queries: list[str], emb_dim: int, n_users: int):
        self.out, self.queries, self.user_ids = out, queries, []
        out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
        if out.suffix == ".parquet":
            schema = _embedding_table([], queries, np.zeros((0, len(queries), emb_dim), np.float32)).schema
            self.parquet, self.array = pq.ParquetWriter(self.tmp, schema), None
        else:
            self.parquet = None
            self.array = np.lib.format.open_memmap(self.tmp, "w+", np.float32, (n_users, len(queries), emb_dim))

    def write(self, user_ids: list[str], emb: np.ndarray) -> None:
        if self.parquet is not None:
            self.parquet.write_table(_embedding_table(user_ids, self.queries, emb))
        else:
            self.array[len(self.user_ids) : len(self.user_ids) + len(user_ids)] = emb
        self.user_ids += user_ids

    def close(self, keep: bool) -> None:
        """Finish the file; with `keep`, move it (and an .npy's .json) into place, else delete it."""
        if self.parquet is not None:
            self.parquet.close()
        else:
            self.array.flush()
            del self.array
        if not keep:
            self.tmp.unlink(missing_ok=True)
            return
        if self.parquet is None:
            meta = json.dumps({"queries": self.queries, "user_ids": self.user_ids})
            atomic_write_text(self.out.with_suffix(".json"), meta)
        self.tmp.replace(self.out)


def embed_file(
    records_path: str | Path,
    model_folder: str | Path,
    queries: list[str],
    out: str | Path,
    chunk_size: int = 1000,
    path: str = "cached",
    prompts_folder: str | Path | None = None,
    progress: bool = True,
    batch_size: int = BATCH_USERS,
) -> dict:
    """Embed every user of a records file under every query, `chunk_size` users at a time (`batch_size` per model
    batch), into `out` (.parquet or .npy). Returns {users, queries, seconds, users_per_second}."""
    out = Path(out)
    if out.suffix not in FORMATS:
        raise ValueError(f"output must end in one of {FORMATS}, got {out.name!r}")
    if not queries:
        raise ValueError("no queries to embed under")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n_users = count_records(records_path)
    if n_users == 0:
        raise ValueError(f"{records_path}: no records to embed (the file is empty)")
    model, cache = load_model(model_folder)
    prompts = _prompt_vectors(prompts_folder, queries)
    writer = _Writer(out, list(queries), model.config.emb_dim, n_users)
    start = time.perf_counter()
    bar = tqdm(total=n_users, desc="embedding", unit="user", disable=not progress, mininterval=2.0)
    done = False
    try:
        for chunk in iter_chunks(records_path, model.config.spec, chunk_size):
            with torch.no_grad():
                emb = embed_records(model, cache, chunk, list(queries), prompts, path, batch_size)
            writer.write([r["user_id"] for r in chunk], emb)
            bar.update(len(chunk))
        done = True
    finally:
        writer.close(keep=done)
        bar.close()
    seconds = time.perf_counter() - start
    n = len(writer.user_ids)
    return {"users": n, "queries": len(queries), "seconds": seconds, "users_per_second": n / max(seconds, 1e-9)}


def read_embeddings(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """(user ids, queries, (N, Q, e) embeddings) from a .npy (with its .json) or a Parquet file or folder of
    shards; users in the order first seen, queries in the order of the first user."""
    path = Path(path)
    if path.suffix == ".npy":
        meta = json.loads(path.with_suffix(".json").read_text())
        return meta["user_ids"], meta["queries"], np.load(path)
    table = pq.read_table(path)
    users = table.column("user_id").to_pylist()
    query_col = table.column("query").to_pylist()
    vectors = np.asarray(table.column("embedding").combine_chunks().flatten(), np.float32).reshape(len(users), -1)
    order = list(dict.fromkeys(users))
    queries = list(dict.fromkeys(q for u, q in zip(users, query_col) if u == order[0]))
    row, col = {u: i for i, u in enumerate(order)}, {q: j for j, q in enumerate(queries)}
    if len(users) != len(order) * len(queries):
        raise ValueError(f"{path}: {len(users)} rows for {len(order)} users x {len(queries)} queries")
    emb = np.zeros((len(order), len(queries), vectors.shape[1]), np.float32)
    emb[[row[u] for u in users], [col[q] for q in query_col]] = vectors
    return order, queries, emb


# ----------------------------------------------------------------------------- Ray Data


def records_to_parquet(records_path: str | Path, folder: str | Path, spec: DatasetSpec, shard_users: int = 1000) -> int:
    """Validated records as Parquet shards (user_id, record: the record as JSON text) for `embed_with_ray`;
    returns the number of shards."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for n, chunk in enumerate(iter_chunks(records_path, spec, shard_users), 1):
        pq.write_table(
            pa.table(
                {
                    "user_id": [r["user_id"] for r in chunk],
                    "record": [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in chunk],
                }
            ),
            folder / f"records-{n:05d}.parquet",
        )
    return n


class ChunkEmbedder:
    """A Ray Data actor: loads the model once, then embeds each batch of record shards with `embed_records`."""

    def __init__(
        self,
        model_folder: str,
        queries: list[str],
        path: str = "cached",
        prompts_folder: str | None = None,
        batch_size: int = BATCH_USERS,
    ):
        torch.set_num_threads(1)  # one core per actor: the workers share the machine
        self.model, self.cache = load_model(model_folder)
        self.queries, self.path, self.batch_size = list(queries), path, batch_size
        self.prompts = _prompt_vectors(prompts_folder, self.queries)

    def __call__(self, batch: pa.Table) -> pa.Table:
        records = [json.loads(r) for r in batch.column("record").to_pylist()]
        with torch.no_grad():
            emb = embed_records(self.model, self.cache, records, self.queries, self.prompts, self.path, self.batch_size)
        return _embedding_table([r["user_id"] for r in records], self.queries, emb)


def embed_with_ray(
    shards: str | Path,
    model_folder: str | Path,
    queries: list[str],
    out_folder: str | Path,
    chunk_size: int = 1000,
    workers: int = 2,
    path: str = "cached",
    prompts_folder: str | Path | None = None,
    batch_size: int = BATCH_USERS,
) -> dict:
    """The Ray Data job: read record shards (records_to_parquet), embed them with `workers` ChunkEmbedder actors,
    write Parquet shards of the embedding table to `out_folder`. Runs on the cluster `ray.init()` finds (a local
    one when none is running; set RAY_ADDRESS to use yours). Returns {seconds, users_per_second, users}.

    The actors never take every CPU of the cluster: Ray Data's listing, read and write tasks need one CPU each,
    and with `workers` >= the cluster's CPUs (2 workers on a 2-core machine) the job would wait for one forever.
    So each actor asks for min(1, (CPUs - 1) / workers) CPUs; it runs one torch thread whatever it is given."""
    import os

    import ray

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not ray.is_initialized() and os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)  # your cluster: it declares its own CPUs
    elif not ray.is_initialized():
        # a local cluster of at least 2 logical CPUs, so that a 1-core machine still has one for the actors and one
        # for the I/O tasks
        ray.init(num_cpus=max(os.cpu_count() or 1, 2), include_dashboard=False, log_to_driver=False)
    cpus = float(ray.cluster_resources().get("CPU", 0.0))
    if cpus < 2:
        raise RuntimeError(
            f"the Ray cluster has {cpus:g} CPU(s); embed_with_ray needs at least 2 (actors plus read/write tasks)"
        )
    actor_cpus = min(1.0, (cpus - 1) / workers)
    start = time.perf_counter()
    files = sorted(Path(shards).glob("*.parquet")) if Path(shards).is_dir() else [Path(shards)]
    if not files:
        raise FileNotFoundError(f"no Parquet shards in {shards}; write them with records_to_parquet")
    n_users = sum(pq.ParquetFile(f).metadata.num_rows for f in files)  # from the footers: no extra Ray pass
    ds = ray.data.read_parquet(str(shards))
    ds = ds.map_batches(
        ChunkEmbedder,
        fn_constructor_args=(
            str(model_folder),
            list(queries),
            path,
            None if prompts_folder is None else str(prompts_folder),
            batch_size,
        ),
        batch_size=chunk_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=actor_cpus,
    )
    ds.write_parquet(str(out_folder))
    seconds = time.perf_counter() - start
    return {"users": n_users, "seconds": seconds, "users_per_second": n_users / max(seconds, 1e-9)}
