"""Serving: cached and packed multi-query paths equal the uncached pass for every backbone; incremental daily
updates equal encoding the updated profile from scratch."""

import pytest
import torch

from qa_helpers.method import backbones, incremental, inference, layout
from qa_helpers.method.model import QAnchor
from qa_helpers.series import config, pipeline
from qa_helpers.synthetic import tasks, world

QUERIES = ["Fraud?", "Would this person click on a concert or live show recommendation?", "Log in soon?"]


@pytest.fixture(scope="module")
def tiny(tiny_setup):
    torch.manual_seed(0)
    return pipeline.new_model(tiny_setup["cfg"], tiny_setup["pairs"], tiny_setup["users"]).eval()


def _uncached(model, users, rows, query, prompt=None):
    """The reference: QAnchor.forward, prefix and suffix in one plain pass, one query at a time (the read-out)."""
    return model(users.batch(rows), [query] * len(rows), prompt, level="hidden")


def _check_paths(model, users, rows, prompts=None):
    state = model.encode_prefix(users.batch(rows))
    with torch.no_grad():
        cached = model.anchor_states_cached(state, QUERIES, prompts)
        packed = inference.anchor_states_packed(model, *model.encoder(users.batch(rows)), QUERIES, prompts)
        for j, q in enumerate(QUERIES):
            full = _uncached(model, users, rows, q, None if prompts is None else prompts[j])
            torch.testing.assert_close(cached[:, j], full, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(packed[:, j], full, atol=1e-4, rtol=1e-4)
            assert torch.nn.functional.cosine_similarity(packed[:, j], full).min() > 0.99999


def test_cached_and_packed_equal_uncached_tiny(tiny, tiny_setup):
    _check_paths(tiny, tiny_setup["users"], [0, 4, 9])
    prompts = torch.randn(len(QUERIES), 2, tiny.backbone.hidden_size) * 0.02
    _check_paths(tiny, tiny_setup["users"], [1, 2], prompts)


def test_cached_and_packed_equal_uncached_with_the_query_vector(tiny_setup):
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "query_encoder": "hashing-32"})
    torch.manual_seed(0)
    model = pipeline.new_model(cfg, tiny_setup["pairs"], tiny_setup["users"]).eval()
    suffix = model.suffix(QUERIES, n_soft=2)
    assert suffix.query_slot.sum(1).tolist() == [1, 1, 1]  # one slot per row, before the soft slots
    assert (suffix.query_slot.int().argmax(1) < suffix.soft.int().argmax(1)).all()
    _check_paths(model, tiny_setup["users"], [0, 4, 9])
    _check_paths(model, tiny_setup["users"], [1, 2], torch.randn(len(QUERIES), 2, model.backbone.hidden_size) * 0.02)
    # the slot carries the query's vector: two queries that share every token but differ in meaning would still
    # differ through it; here, a different query changes the slot's input
    with torch.no_grad():
        x = model.suffix_embeddings(model.suffix(QUERIES))
    q0, q1 = (x[i][model.suffix(QUERIES).query_slot[i]] for i in (0, 1))
    assert not torch.allclose(q0, q1)


def test_cached_and_packed_equal_uncached_under_eager_attention(tiny, tiny_setup):
    from qa_helpers.method.attention import eager_attention

    with eager_attention(tiny):
        _check_paths(tiny, tiny_setup["users"], [0, 4])


def _small_spec(tiny_setup):
    return world.spec(tiny_setup["cfg"], tiny_setup["cfg"].event_caps).with_caps((2, 2, 2, 2, 1))


def _small_caps_users(tiny_setup):
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "event_caps": (2, 2, 2, 2, 1)})
    return pipeline.user_tensors(cfg, tiny_setup["world"].pretrain[:3], tiny_setup["table"])


@pytest.mark.slow
def test_cached_and_packed_equal_uncached_smollm2_with_lora(tiny_setup):
    bb = backbones.smollm2(lora=True, lora_r=8, lora_alpha=16, lora_dropout=0.0, cache_dir=config.cache_root())
    m = QAnchor.create(bb, tiny_setup["users"].table.dim, _small_spec(tiny_setup), 16).eval()
    _check_paths(m, _small_caps_users(tiny_setup), [0, 2])


def test_cached_and_packed_equal_uncached_local_folder(tiny, tiny_setup, tmp_path):
    tiny.lm.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    bb = backbones.from_folder(tmp_path, lora=True, lora_r=4, lora_alpha=8, lora_dropout=0.0)
    m = QAnchor.create(bb, tiny_setup["users"].table.dim, _small_spec(tiny_setup), 16).eval()
    _check_paths(m, _small_caps_users(tiny_setup), [0, 1, 2])


def test_packed_layout_blocks():
    mask, pos, last = inference.packed_layout(torch.tensor([[True, True, False]]), [2, 3])
    allowed = mask[0, 0] == 0
    assert last.tolist() == [4, 7]
    assert pos[0].tolist() == [0, 1, 1, 2, 3, 2, 3, 4]  # each block restarts after the 2 real prefix tokens
    assert allowed[3, :4].tolist() == [True, True, False, True]  # block 1 sees the real prefix and itself
    assert not allowed[5:, 3:5].any()  # block 2 never sees block 1
    assert not allowed[:, 2].any() or allowed[2, 2]  # the padded slot is seen by no one but itself


# ------------------------------------------------------------------ incremental daily update


def test_incremental_update_equals_encoding_from_scratch(tiny, tiny_setup):
    from qa_helpers.method.user_tensors import UserTensors

    table, window = tiny_setup["table"], 60
    spec = tiny.config.spec.with_window(window)  # a 60-day window, so events expire as the days pass
    records = tiny_setup["world"].pretrain[:12]
    report, (tokens, mask) = incremental.replay(tiny.encoder, records, table, spec, last_day=82, days=3)
    assert report["same token masks every day"] and report["max |diff| of prefix tokens (worst day)"] < 1e-5
    assert report["expired"] > 0  # the window moved
    assert report["events encoded (incremental)"] < report["events encoded (from scratch, same days)"]
    # an independent check of the last day, built here from the records
    today = [incremental.window(r, 82 - window + 1, 82) for r in records]
    batch = UserTensors.build(today, table, spec, today=82).batch(list(range(len(records))))
    with torch.no_grad():
        ref_tokens, ref_mask = tiny.encoder(batch)
    assert torch.equal(mask, ref_mask)
    torch.testing.assert_close(tokens[mask], ref_tokens[ref_mask], atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # the LLM reads the same prefix: the same embeddings
        a = tiny.anchor_states_cached(tiny.encode_prefix_tokens(tokens, mask), QUERIES[:1])
        b = tiny.anchor_states_cached(tiny.encode_prefix(batch), QUERIES[:1])
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_incremental_update_rejects_bad_input(tiny, tiny_setup):
    table, spec = tiny_setup["table"], tiny.config.spec
    rec = tiny_setup["world"].pretrain[0]
    state = incremental.encode(tiny.encoder, rec, table, spec)
    some_text = table.texts[0]
    with pytest.raises(ValueError, match="unknown modality"):
        incremental.update(tiny.encoder, state, {"email": []}, table, spec)
    with pytest.raises(ValueError, match="events of day 90 only"):
        incremental.update(tiny.encoder, state, {"bill": [{"day": 12, "hour": 3, "text": some_text}]}, table, spec)
    with pytest.raises(KeyError, match="not in the text table"):
        incremental.update(tiny.encoder, state, {"bill": [{"day": 90, "hour": 3, "text": "never seen"}]}, table, spec)
    with pytest.raises(ValueError, match="outside the 90-day window"):
        incremental.encode(
            tiny.encoder,
            {"user_id": "x", "events": {"bill": [{"day": 95, "hour": 1, "text": some_text}]}},
            table,
            spec,
        )
    with pytest.raises(ValueError, match="no states"):
        incremental.prefix(tiny.encoder, [], spec)


def test_serving_queries_are_distinct_and_bounded():
    from qa_helpers.method import timing

    base = [t.query for t in tasks.TASKS]
    queries = timing.serving_queries(base, 40)
    assert len(set(queries)) == 40 and timing.serving_queries(base, 12) == queries[:12] and queries[:10] == base
    with pytest.raises(ValueError, match="distinct queries"):
        timing.serving_queries(base, 41)


def test_cached_packed_and_uncached_agree_under_the_prefix_read_out(tiny_setup):
    """readout 'anchor+prefix' adds the prefix's mean state, which the KV cache keeps beside the keys and values:
    the three paths still give one number, and the naive reference (the mean of the prefix's hidden states over the
    attended positions of a full pass) agrees."""
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "readout": "anchor+prefix", "head": "residual"})
    torch.manual_seed(0)
    model = pipeline.new_model(cfg, tiny_setup["pairs"], tiny_setup["users"]).eval()
    users, rows = tiny_setup["users"], [0, 4, 9]
    _check_paths(model, users, rows)
    _check_paths(model, users, [1, 2], torch.randn(len(QUERIES), 2, model.backbone.hidden_size) * 0.02)
    with torch.no_grad():
        batch = users.batch(rows)
        suffix = model.suffix([QUERIES[1]] * len(rows))
        prefix, prefix_mask = model.encoder(batch)  # the whole sequence through the decoder, written out here
        full_mask = torch.cat([prefix_mask, suffix.mask], 1)
        hidden = model.backbone.decoder()(
            inputs_embeds=torch.cat([prefix, model.suffix_embeddings(suffix)], 1),
            attention_mask=full_mask.long(),
            position_ids=layout.positions(full_mask),
        ).last_hidden_state
        lp, mask = prefix.shape[1], prefix_mask.float().unsqueeze(-1)
        naive = hidden[torch.arange(len(rows)), lp + suffix.anchor] + (hidden[:, :lp] * mask).sum(1) / mask.sum(1)
        cached = model.anchor_states_cached(model.encode_prefix(batch), [QUERIES[1]])[:, 0]
    torch.testing.assert_close(cached, naive, atol=1e-4, rtol=1e-4)
    emb = {p: inference.embed(model, users, QUERIES, path=p, batch_size=2) for p in inference.PATHS}
    for p in ("packed", "uncached"):
        torch.testing.assert_close(torch.from_numpy(emb[p]), torch.from_numpy(emb["cached"]), atol=1e-4, rtol=1e-4)
    pairs = inference.embed(model, users, QUERIES, pairs=True, rows=[3, 1, 3], path="uncached")
    torch.testing.assert_close(
        torch.from_numpy(pairs), torch.from_numpy(emb["cached"][[3, 1, 3], [0, 1, 2]]), atol=1e-4, rtol=1e-4
    )
