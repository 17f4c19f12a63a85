"""The append-only text-vector store (text_store.py) and the text cache on top of it (sentence_encoder)."""

import hashlib
import json

import numpy as np
import pytest

from qa_helpers.method import text_store
from qa_helpers.method.sentence_encoder import EmbeddingCache, HashingEncoder
from qa_helpers.method.text_store import KEY_BYTES, VectorStore, text_key


def keys_and_vectors(n: int, dim: int = 4, start: int = 0):
    keys = [text_key(f"text {i}") for i in range(start, start + n)]
    vectors = np.arange(start * dim, (start + n) * dim, dtype=np.float32).reshape(n, dim)
    return keys, vectors


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_round_trips_and_only_appends(tmp_path):
    store = VectorStore(tmp_path, dim=4)
    keys, vectors = keys_and_vectors(5)
    rows = store.append(keys, vectors, [f"text {i}" for i in range(5)])
    assert rows.tolist() == [0, 1, 2, 3, 4] and len(store) == 5
    before = {p.name: p.read_bytes() for p in (store.keys_path, store.vectors_path)}
    more_keys, more = keys_and_vectors(3, start=4)  # text 4 is stored already
    rows = store.append(more_keys, more)
    assert rows.tolist() == [4, 5, 6]
    for p in (store.keys_path, store.vectors_path):  # appended: the bytes written before are untouched
        assert p.read_bytes().startswith(before[p.name]) and p.stat().st_size > len(before[p.name])
    assert store.keys_path.stat().st_size == 7 * KEY_BYTES and store.vectors_path.stat().st_size == 7 * 4 * 4
    reopened = VectorStore(tmp_path, dim=4)
    all_keys, all_vectors = keys_and_vectors(7)
    rows = reopened.rows(all_keys + [text_key("never stored")])
    assert rows.tolist() == [0, 1, 2, 3, 4, 5, 6, -1]
    np.testing.assert_array_equal(reopened.vectors(rows[:-1]), all_vectors)
    texts = [json.loads(line) for line in store.texts_path.read_text().splitlines()]
    assert texts == [{"row": i, "text": f"text {i}"} for i in range(5)]  # the second append kept no text


def test_duplicates_another_process_and_a_cut_write(tmp_path):
    one, two = VectorStore(tmp_path, dim=4), VectorStore(tmp_path, dim=4)  # two processes on one folder
    keys, vectors = keys_and_vectors(3)
    assert one.append(keys + keys[:1], np.concatenate([vectors, vectors[:1]])).tolist() == [0, 1, 2, 0]
    assert two.rows(keys).tolist() == [0, 1, 2]  # seen by the other object
    assert two.append(keys[2:], vectors[2:]).tolist() == [2] and len(two) == 3  # not stored twice
    with open(one.vectors_path, "ab") as f:  # a write cut short: vector bytes whose key was never written
        f.write(b"\xff" * 10)
    more_keys, more = keys_and_vectors(2, start=3)
    assert one.append(more_keys, more).tolist() == [3, 4]
    np.testing.assert_array_equal(VectorStore(tmp_path, dim=4).vectors(np.arange(5)), keys_and_vectors(5)[1])


def test_keys_ending_in_a_zero_byte_and_bad_requests(tmp_path):
    store = VectorStore(tmp_path, dim=2)
    zero_ended = [bytes(15) + b"\x00", b"\x01" * 15 + b"\x00", b"\x01" * 16]
    store.append(zero_ended, np.eye(3, 2, dtype=np.float32))
    assert VectorStore(tmp_path, dim=2).rows(zero_ended).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="another layout"):
        VectorStore(tmp_path, dim=3)
    with pytest.raises(ValueError, match=r"need \(1, 2\) vectors"):
        store.append([text_key("x")], np.zeros((1, 3), np.float32))
    with pytest.raises(IndexError):
        store.vectors(np.array([3]))


def test_the_cache_encodes_each_text_once_and_can_keep_no_text(tmp_path):
    encoder = HashingEncoder(8)
    cache = EmbeddingCache(encoder, tmp_path, keep_text=False)
    texts = ["a b", "c d", "a b", "é ü"]
    first = cache.encode(texts)
    np.testing.assert_array_equal(first, encoder.encode(texts))
    assert cache.n_encoded == 3 and not cache._memory  # vectors live on disk, not in the object
    assert cache.store.folder.parent == tmp_path and cache.store.folder.name.startswith(encoder.id + "-")
    assert not (cache.store.folder / "texts.jsonl").exists()
    files = b"".join(p.read_bytes() for p in cache.store.folder.iterdir() if p.is_file())
    assert b"a b" not in files and "é ü".encode() not in files  # no raw text anywhere on disk
    again = EmbeddingCache(encoder, tmp_path)
    np.testing.assert_array_equal(again.encode(["c d", "new one", "a b"]), encoder.encode(["c d", "new one", "a b"]))
    assert again.n_encoded == 1 and cache.encode([]).shape == (0, 8)
    ordered = ["a b", "c d", "new one", "é ü"]  # already sorted and unique: returned without a reordered copy
    np.testing.assert_array_equal(again.encode(ordered), encoder.encode(ordered))


def test_a_large_store_reopens_into_one_sorted_index(tmp_path):
    """Past RECENT_KEYS (200,000) keys the index is one sorted array (16 bytes a key): a reopened store finds every
    key, zero-ended ones too, and keys added after it still land in the small dict until the next merge."""
    n = text_store.RECENT_KEYS + 20_000
    keys = [i.to_bytes(16, "big") for i in range(n)]  # half end in a zero byte
    VectorStore(tmp_path, dim=1).append(keys, np.arange(n, dtype=np.float32)[:, None])
    reopened = VectorStore(tmp_path, dim=1)
    assert len(reopened._sorted) == n and not reopened._recent
    sample = [0, 1, 255, 256, 65_536, n - 1]
    assert reopened.rows([keys[i] for i in sample]).tolist() == sample
    assert reopened.vectors(np.array(sample))[:, 0].tolist() == sample
    extra = [b"\xff" * 16]
    assert reopened.rows(extra).tolist() == [-1]
    assert reopened.append(extra, np.ones((1, 1), np.float32)).tolist() == [n] and len(reopened._recent) == 1
    assert reopened.rows([keys[7], extra[0]]).tolist() == [7, n]


def test_the_cache_folder_follows_the_encoding_code(tmp_path, monkeypatch):
    """Vectors made by other encoding code are never read: the store's folder names the code's fingerprint."""
    from qa_helpers.method import fingerprints

    before = EmbeddingCache(HashingEncoder(8), tmp_path).store.folder
    real = fingerprints.package_source
    monkeypatch.setattr(
        fingerprints, "package_source", lambda m: real(m) + ("\n# edited\n" if m == "method.text_store" else "")
    )
    assert EmbeddingCache(HashingEncoder(8), tmp_path).store.folder != before
    monkeypatch.setattr(
        fingerprints, "package_source", lambda m: real(m) + ("\n# edited\n" if m == "method.user_encoder" else "")
    )
    assert EmbeddingCache(HashingEncoder(8), tmp_path).store.folder == before  # the user encoder encodes no text


def test_keys_merged_into_a_sorted_index_are_all_found(tmp_path, monkeypatch):
    """Keys appended after the index is sorted are merged into it (sorted alone, then inserted) whenever the dict
    of recent keys is full: every key is found at its row, in any order, and the dict never outgrows its bound."""
    monkeypatch.setattr(text_store, "RECENT_KEYS", 100_000)
    store = VectorStore(tmp_path, dim=1)
    rng = np.random.default_rng(0)
    keys = [bytes(k) for k in rng.integers(0, 256, size=(260_000, 16), dtype=np.uint8)]
    sorted_sizes = []
    for start in range(0, len(keys), 65_000):  # four appends: the second merge sorts, the fourth inserts
        part = keys[start : start + 65_000]
        store.append(part, np.zeros((len(part), 1), np.float32))
        assert len(store._recent) <= 100_000
        sorted_sizes.append(len(store._sorted))
    assert sorted_sizes == [0, 130_000, 130_000, 260_000]
    assert np.all(store._sorted[:-1] <= store._sorted[1:])
    probe = rng.permutation(len(keys))[:5000]
    assert store.rows([keys[i] for i in probe]).tolist() == probe.tolist()


def test_the_hashing_encoder_equals_a_plain_md5_loop():
    import hashlib
    import re

    texts = ["Card payment at Golden Wok Porto", "opened savings goals", "", "ÉTÉ été 42"]
    naive = np.zeros((len(texts), 16), np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.md5(word.encode()).digest()
            naive[i, int.from_bytes(digest[:4], "little") % 16] += 1.0 if digest[4] % 2 else -1.0
    naive /= np.maximum(np.linalg.norm(naive, axis=1, keepdims=True), 1e-9)
    np.testing.assert_array_equal(HashingEncoder(16).encode(texts), naive)
