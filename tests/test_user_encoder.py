"""The hierarchical encoder, the record -> tensor step, and the token layout."""

import pytest
import torch

from qa_helpers.method import layout
from qa_helpers.method.sentence_encoder import EmbeddingCache, HashingEncoder
from qa_helpers.method.spec import DatasetSpec, Modality
from qa_helpers.method.user_encoder import HierarchicalEncoder, masked_mean
from qa_helpers.method.user_tensors import TextTable, UserTensors
from qa_helpers.synthetic import catalog

CAPS = (4, 3, 3, 2, 2)
SPEC = DatasetSpec(
    tuple(Modality(m, k, ("amount",) if m == "bill" else ()) for m, k in zip(catalog.EVENT_MODALITIES, CAPS)), 3
)


def ev(day, text, hour=10, amount=None):
    e = {"day": day, "hour": hour, "text": text}
    if amount is not None:
        e["amount"] = amount
    return e


@pytest.fixture
def table(tmp_path):
    texts = [f"event number {i}" for i in range(20)]
    return TextTable(texts, HashingEncoder(16).encode(texts))


def test_masked_mean_equals_a_loop_over_valid_events():
    g = torch.Generator().manual_seed(0)
    x, mask = torch.randn(5, 7, 3, generator=g), torch.rand(5, 7, generator=g) > 0.5
    mask[2] = False  # a user with no events in this modality
    got = masked_mean(x, mask)
    for b in range(5):
        valid = [x[b, k] for k in range(7) if mask[b, k]]
        expected = torch.stack(valid).mean(0) if valid else torch.zeros(3)
        torch.testing.assert_close(got[b], expected)


def test_caps_keep_the_most_recent_events_first(table):
    rec = {"user_id": "u", "events": {"bill": [ev(d, f"event number {d}", amount=1.0) for d in range(10)]}}
    users = UserTensors.build([rec], table, SPEC)
    kept = [table.texts[i - 1] for i in users.text_ids["bill"][0].tolist()]
    assert kept == ["event number 9", "event number 8", "event number 7", "event number 6"]
    assert users.mask["bill"].sum() == 4 and users.mask["mini"].sum() == 0


def test_no_events_one_modality_and_missing_tabular_give_finite_tokens(table):
    recs = [
        {"user_id": "empty", "events": {}},
        {"user_id": "one", "events": {"search": [ev(3, "event number 1")]}},
        {"user_id": "tab", "tabular": [1.0, 2.0, 3.0]},
    ]
    users = UserTensors.build(recs, table, SPEC)
    enc = HierarchicalEncoder(16, 8, SPEC, tabular_tokens=2)
    tokens, mask = enc(users.batch([0, 1, 2]))
    assert tokens.shape == (3, layout.prefix_length(SPEC, 2), 8)
    assert torch.isfinite(tokens).all()
    assert mask[:, :7].all()  # user + 6 modality tokens always attended
    assert mask[0, 7:].sum() == 0  # no events at all
    assert mask[1, 7:].sum() == 1  # one search event
    assert mask[2, 7:].sum() == 2  # the two tabular tokens
    tokens.sum().backward()  # gradients flow without NaN
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters() if p.grad is not None)


def test_padding_does_not_change_a_users_tokens(table):
    """A user's tokens are the same alone or batched with a user who has many events."""
    a = {"user_id": "a", "events": {"bill": [ev(2, "event number 3", amount=5.0)]}, "tabular": [1.0, 0.0, 2.0]}
    b = {
        "user_id": "b",
        "events": {
            m: [ev(d, f"event number {d}", amount=1.0) if m == "bill" else ev(d, f"event number {d}") for d in range(6)]
            for m in catalog.EVENT_MODALITIES
        },
    }
    users = UserTensors.build([a, b], table, SPEC)
    enc = HierarchicalEncoder(16, 8, SPEC)
    alone, m1 = enc(users.batch([0]))
    both, m2 = enc(users.batch([0, 1]))
    torch.testing.assert_close(alone[0][m1[0]], both[0][m2[0]])


def test_unknown_text_and_wrong_tabular_are_named(table):
    with pytest.raises(KeyError, match="not in the text table"):
        UserTensors.build([{"user_id": "u", "events": {"app": [ev(1, "never seen")]}}], table, SPEC)
    with pytest.raises(ValueError, match="tabular length 2, expected 3"):
        UserTensors.build([{"user_id": "u", "tabular": [1.0, 2.0]}], table, SPEC)
    with pytest.raises(ValueError, match="unknown modality 'email'"):
        UserTensors.build([{"user_id": "u", "events": {"email": [ev(1, "event number 1")]}}], table, SPEC)


def test_text_table_extends_with_new_texts(tmp_path, table):
    cache = EmbeddingCache(HashingEncoder(16), tmp_path)
    table.extend([{"user_id": "u", "events": {"app": [ev(1, "a brand new line")]}}], cache)
    assert table.texts[-1] == "a brand new line" and table.vectors.shape[0] == len(table.texts) + 1
    assert cache.n_encoded == 1


def test_embedding_cache_encodes_each_text_once(tmp_path):
    enc = HashingEncoder(8)
    cache = EmbeddingCache(enc, tmp_path)
    first = cache.encode(["a b", "c d", "a b"])
    assert cache.n_encoded == 2 and first.shape == (3, 8)
    again = EmbeddingCache(enc, tmp_path)  # reloaded from disk: nothing to encode
    torch.testing.assert_close(torch.tensor(again.encode(["c d", "a b"])), torch.tensor(first[[1, 0]]))
    assert again.n_encoded == 0


def test_prefix_segments_cover_the_prefix_in_order():
    segs = layout.prefix_segments(SPEC, 2)
    assert segs[0] == ("USER", 0, 1) and [s[0] for s in segs[1:7]] == [f"MODALITY:{m}" for m in catalog.MODALITIES]
    assert all(a[2] == b[1] for a, b in zip(segs, segs[1:]))
    assert segs[-1] == ("events:tabular", 7 + sum(CAPS), 7 + sum(CAPS) + 2)
    assert len(layout.modality_of_position(SPEC, 2)) == layout.prefix_length(SPEC, 2)


OTHER = DatasetSpec((Modality("watch", 3, ("minutes",)), Modality("query", 2)), tabular=0, window_days=30)


def test_a_spec_with_other_modalities_and_no_tabular_row(table):
    """Other modality names, a numeric field of another name, no tabular row: tensors, encoder and layout follow."""
    recs = [
        {"user_id": "a", "events": {"watch": [ev(29, "event number 1") | {"minutes": 40.0}]}},
        {"user_id": "b", "events": {"query": [ev(3, "event number 2"), ev(5, "event number 3")]}},
    ]
    users = UserTensors.build(recs, table, OTHER)
    assert set(users.text_ids) == {"watch", "query"} and users.tabular.shape == (2, 0)
    assert users.numeric["watch"].shape == (2, 3, 3)  # log1p(minutes) / 10, sin, cos
    assert users.numeric["watch"][0, 0, 0] == pytest.approx(torch.log1p(torch.tensor(40.0)).item() / 10)
    assert users.numeric["query"].shape == (2, 2, 3) and users.numeric["query"][1, :, 0].abs().sum() == 0
    enc = HierarchicalEncoder(16, 8, OTHER, tabular_tokens=2)
    tokens, mask = enc(users.batch([0, 1]))
    assert tokens.shape == (2, layout.prefix_length(OTHER, 2), 8) == (2, 1 + 2 + 3 + 2, 8)
    assert mask[0].tolist() == [True] * 3 + [True, False, False] + [False, False]
    assert mask[1].tolist() == [True] * 3 + [False] * 3 + [True, True]
    assert [s[0] for s in layout.prefix_segments(OTHER, 2)] == [
        "USER", "MODALITY:watch", "MODALITY:query", "events:watch", "events:query"
    ]  # fmt: skip
    assert not any(name.startswith("tabular") for name in dict(enc.named_parameters()))
    with pytest.raises(ValueError, match="outside the 30-day window"):
        UserTensors.build([{"user_id": "c", "events": {"query": [ev(30, "event number 1")]}}], table, OTHER)
