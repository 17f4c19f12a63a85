"""An append-only on-disk store of text vectors, keyed by a hash of the text: memory holds the index (16 bytes a
text) and one call's new vectors, never the whole store, and a call that brings new texts appends them instead
of rewriting the files. Several processes may share one store (appends take a file lock).

    store = VectorStore(folder, dim=384)          # <folder>/keys.bin, vectors.f32 (and texts.jsonl)
    rows = store.rows(keys)                        # the row of each key, -1 if absent
    store.append(new_keys, new_vectors, texts)     # texts: None keeps no raw text on disk
    vectors = store.vectors(rows)                  # (len(rows), dim) float32, read from the file

Files: `keys.bin` (16 bytes per row: the first 16 of the text's sha256), `vectors.f32` (dim float32 per row, the
same order), `texts.jsonl` (optional: {"row", "text"} per line, for reading the store, never for lookups) and
`meta.json` (the dimension and the key's definition). A row exists once its key is written: keys go last, so a
write cut short leaves no key to a missing vector.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

KEY_BYTES = 16
KEY_DTYPE = np.dtype(f"S{KEY_BYTES}")
RECENT_KEYS = 200_000  # keys held in a dict (about 30 MB) before they are merged into the sorted index


def text_key(text: str) -> bytes:
    """The store's key of a text: the first 16 bytes of the sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


class VectorStore:
    def __init__(self, folder: str | Path, dim: int):
        self.folder, self.dim = Path(folder), dim
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"dim": dim, "key": f"sha256(utf-8 text)[:{KEY_BYTES}]", "dtype": "float32"}
        meta_path = self.folder / "meta.json"
        with self._locked():  # processes opening one new store at once: one writes meta.json, whole
            if meta_path.exists():
                saved = json.loads(meta_path.read_text())
                if saved != meta:
                    raise ValueError(f"{self.folder} holds a store of another layout: {saved}, expected {meta}")
            else:
                meta_path.with_suffix(".tmp").write_text(json.dumps(meta, indent=1))
                meta_path.with_suffix(".tmp").replace(meta_path)
        self.keys_path, self.vectors_path = self.folder / "keys.bin", self.folder / "vectors.f32"
        self.texts_path = self.folder / "texts.jsonl"
        self.keys_path.touch()
        self.vectors_path.touch()
        self._sorted = np.zeros(0, KEY_DTYPE)  # keys read so far, sorted, with their rows
        self._sorted_rows = np.zeros(0, np.int64)
        self._recent: dict[bytes, int] = {}  # keys read since the last merge into the sorted arrays
        self.n_rows = 0  # rows of the files this object has read
        self._refresh()

    def __len__(self) -> int:
        return self.n_rows

    def rows(self, keys: list[bytes]) -> np.ndarray:
        """(len(keys),) the row of each key in the store, -1 for a key it does not hold (rows another process
        appended meanwhile included)."""
        self._refresh()
        return self._lookup(keys)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), dim) float32: the stored vectors of `rows`, read from the file (the rest stays on disk)."""
        rows = np.asarray(rows, np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise IndexError(f"rows must lie in [0, {self.n_rows})")
        mapped = np.memmap(self.vectors_path, np.float32, "r", shape=(self.n_rows, self.dim)) if self.n_rows else None
        return np.array(mapped[rows]) if len(rows) else np.zeros((0, self.dim), np.float32)

    def append(self, keys: list[bytes], vectors: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """Store `vectors` (n, dim) under `keys` (skipping keys already stored, by this process or another) and,
        if given, the raw `texts`; returns the row of every key. Appends, never rewrites."""
        vectors = np.asarray(vectors, np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"{len(keys)} keys need ({len(keys)}, {self.dim}) vectors, got {vectors.shape}")
        with self._locked():
            self._refresh()  # rows another process appended while we encoded
            present, first = self._lookup(keys), self.n_rows
            slot, new = {}, []  # each absent key once: its place among the new rows, and its first index in keys
            for i in np.flatnonzero(present < 0):
                if keys[i] not in slot:
                    slot[keys[i]] = len(new)
                    new.append(i)
            if new:
                with open(self.vectors_path, "r+b") as f:  # at the row's offset: bytes a cut write left are overwritten
                    f.seek(first * self.dim * 4)
                    f.write(np.ascontiguousarray(vectors if len(new) == len(keys) else vectors[new]).data)
                if texts is not None:
                    with open(self.texts_path, "a", encoding="utf-8") as f:
                        f.writelines(json.dumps({"row": first + j, "text": texts[i]}) + "\n" for j, i in enumerate(new))
                with open(self.keys_path, "r+b") as f:  # keys last: a row exists once its key is written
                    f.seek(first * KEY_BYTES)
                    f.write(b"".join(keys[i] for i in new))
                    f.truncate()
            self._refresh()
        rows = present.copy()  # the new keys' rows are known: no second search of the index
        for i in np.flatnonzero(present < 0):
            rows[i] = first + slot[keys[i]]
        return rows

    # ------------------------------------------------------------------ the index

    def _refresh(self) -> None:
        """Read keys appended to the file since the last read (by this process or another)."""
        total = os.path.getsize(self.keys_path) // KEY_BYTES
        if total <= self.n_rows:
            return
        with open(self.keys_path, "rb") as f:
            f.seek(self.n_rows * KEY_BYTES)
            block = f.read((total - self.n_rows) * KEY_BYTES)
        first, self.n_rows = self.n_rows, total
        if len(self._recent) + total - first <= RECENT_KEYS:
            # a few keys: a dict (bytes sliced from the block, not numpy's: an S16 item loses trailing zero bytes
            # when it becomes bytes)
            new = [block[i : i + KEY_BYTES] for i in range(0, len(block), KEY_BYTES)]
            self._recent.update(zip(new, range(first, total)))
            return
        # many (a store reopened, or the dict full): into the one sorted array, 16 bytes a key, so lookups stay a
        # search; the new keys are sorted alone and inserted, so the peak is one copy of the index, not three
        keys, rows = np.frombuffer(block, KEY_DTYPE), np.arange(first, total)
        if self._recent:
            keys = np.concatenate([np.array(list(self._recent), KEY_DTYPE), keys])
            rows = np.concatenate([np.fromiter(self._recent.values(), np.int64, len(self._recent)), rows])
            self._recent = {}
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        del order, block
        if len(self._sorted) == 0:
            self._sorted, self._sorted_rows = keys, rows
            return
        at = np.searchsorted(self._sorted, keys)
        self._sorted = np.insert(self._sorted, at, keys)
        self._sorted_rows = np.insert(self._sorted_rows, at, rows)

    def _lookup(self, keys: list[bytes]) -> np.ndarray:
        out = np.full(len(keys), -1, np.int64)
        if not keys:
            return out
        if len(self._sorted):
            wanted = np.array(keys, KEY_DTYPE)
            order = np.argsort(wanted)  # sorted needles: each search starts where the last ended (twice as fast)
            at = np.empty(len(keys), np.int64)
            at[order] = np.minimum(np.searchsorted(self._sorted, wanted[order]), len(self._sorted) - 1)
            hit = self._sorted[at] == wanted
            out[hit] = self._sorted_rows[at[hit]]
        for i in np.flatnonzero(out < 0):
            out[i] = self._recent.get(keys[i], -1)
        return out

    @contextmanager
    def _locked(self):
        with open(self.folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
