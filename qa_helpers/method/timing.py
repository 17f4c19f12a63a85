"""Timing the serving paths of notebook 06 and benchmarks/kv_cache_inference.py.

For B users and n_q queries, four ways to get every (user, query) embedding:
  full        n_q uncached forwards over prefix + query (what a system without prefix reuse does);
  sequential  the prefix once, then one cached suffix pass per query (the paper's description);
  batched     the prefix once, its cache repeated n_q times, one suffix pass (bare Hugging Face prefix reuse);
  packed      one forward over [prefix | q_1 | ... | q_n], block attention mask, no cache (inference.py).
The theoretical speed-up over `full` counts prefill tokens: n_q (Lp + Lq) / (Lp + n_q Lq).

    rows = time_paths(model, users, list(range(8)), serving_queries(task_queries, 20), n_q_values=(1, 2, 5, 10, 20))
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .inference import anchor_states, prefix_bytes
from .layout import QUERY_PREFIX
from .model import QAnchor
from .user_tensors import UserTensors

PATHS = ("full", "sequential", "batched", "packed")


def serving_queries(base: list[str], n: int) -> list[str]:
    """n distinct scenario queries (n <= 4 x len(base)): the `base` queries (a dataset's task queries), then three
    reworded copies of them."""
    lead = ["", "Over the next month, ", "Judging from the last 90 days, ", "For a campaign next week, "]
    if not 0 < n <= len(lead) * len(base):
        raise ValueError(f"between 1 and {len(lead) * len(base)} distinct queries, not {n}")
    out = []
    for i in range(n):
        q = base[i % len(base)]
        out.append(q if i < len(base) else lead[i // len(base)] + q[0].lower() + q[1:])
    return out


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _run(
    model: QAnchor, users: UserTensors, rows: list[int], queries: list[str], path: str, device: str = "cpu"
) -> torch.Tensor:
    """(B, Q, d) anchor states by one path."""
    batch = users.batch(rows).to(device)
    if path == "full":
        return anchor_states(model, batch, queries, path="uncached")
    if path == "sequential":
        state = model.encode_prefix(batch)
        return torch.cat([anchor_states(model, state, [q]) for q in queries], 1)
    if path == "batched":
        return anchor_states(model, batch, queries, path="cached")
    if path == "packed":
        return anchor_states(model, batch, queries, path="packed")
    raise ValueError(f"unknown path {path!r}; choose one of {PATHS}")


@torch.no_grad()
def time_paths(
    model: QAnchor,
    users: UserTensors,
    rows: list[int],
    query_pool: list[str],
    n_q_values=(1, 2, 5, 10, 20),
    repeats: int = 3,
    device: str = "cpu",
) -> list[dict]:
    """Median seconds per user of every path for every n_q, with the token counts and the theoretical ratio.

    Also checks on the way that every path gives the full path's states (max abs difference reported), and
    records the KV-cache bytes each path holds per user; on a GPU also the measured peak memory per user."""
    model.eval()
    lp = model.prefix_len
    rows_out = []
    for n_q in n_q_values:
        queries = query_pool[:n_q]
        lq = float(
            np.mean(
                [len(model.tokenizer(QUERY_PREFIX + q, add_special_tokens=False)["input_ids"]) + 1 for q in queries]
            )
        )
        ratio = n_q * (lp + lq) / (lp + n_q * lq)
        row = {"n_q": n_q, "users": len(rows), "L_p": lp, "L_q": lq, "theoretical_speedup": ratio}
        for path in PATHS:  # "full" comes first: its warm-up call gives the reference states
            warm = _run(model, users, rows, queries, path, device)  # warm-up: first calls pay one-off allocations
            if path == "full":
                reference = warm
            seconds = []
            for _ in range(repeats):
                _sync(device)
                t0 = time.perf_counter()
                states = _run(model, users, rows, queries, path, device)
                _sync(device)
                seconds.append(time.perf_counter() - t0)
            row[f"{path}_s_per_user"] = float(np.median(seconds)) / len(rows)
            row[f"{path}_max_abs_diff"] = float((states - reference).abs().max())
            if device == "cuda":  # measured peak of one call above what is already allocated
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                _run(model, users, rows, queries, path, device)
                row[f"{path}_peak_bytes_per_user"] = (torch.cuda.max_memory_allocated() - base) / len(rows)
        for path in PATHS[1:]:
            row[f"{path}_speedup"] = row["full_s_per_user"] / row[f"{path}_s_per_user"]
            row[f"{path}_fraction_of_theory"] = row[f"{path}_speedup"] / ratio
        kv = prefix_bytes(model.encode_prefix(users.batch(rows[:1]).to(device)))
        row["cache_bytes_per_user"] = {"full": 0, "sequential": kv, "batched": kv * n_q, "packed": 0}
        rows_out.append(row)
    return rows_out


def prompt_step_seconds(
    model: QAnchor, users: UserTensors, prefixes, query: str, n_tokens: int, batch: int, repeats: int = 5
) -> dict[str, float]:
    """Seconds per prompt-tuning step (forward and backward into the prompt) for `batch` users, with the prefix
    re-run each step ('full forward') and read from its KV cache ('cached prefix', as prompt_tuning.tune does)."""
    from .prompt_tuning import init_prompt

    rows = torch.arange(batch)
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    out = {}
    try:
        for name, path in (("full forward", "uncached"), ("cached prefix", "cached")):
            vectors = init_prompt(model, n_tokens).requires_grad_(True)
            t0 = time.perf_counter()
            for _ in range(repeats):
                part = prefixes.select(rows) if path == "cached" else users.batch(rows).to(model.device)
                h = anchor_states(model, part, [query] * batch, vectors, path=path, pairs=True)
                model.head(h).sum().backward()
            out[name] = (time.perf_counter() - t0) / repeats
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
    return out
