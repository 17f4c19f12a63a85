"""Soft prompt tuning: frozen model, cached prefix == full forward (values and gradients), save/load, attention."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qa_helpers.method import attention, inference, layout, prompt_tuning
from qa_helpers.series import pipeline

QUERIES = ["Will this person order takeout in the evening?", "Fraud?"]


@pytest.fixture(scope="module")
def model(tiny_setup):
    torch.manual_seed(0)
    return pipeline.new_model(tiny_setup["cfg"], tiny_setup["pairs"], tiny_setup["users"]).eval()


@pytest.fixture(scope="module")
def task_data(tiny_setup):
    """Two tasks on the small world's pretraining users, each with both classes in its training half."""
    n = len(tiny_setup["users"])
    rng = np.random.default_rng(0)
    labels = np.stack([np.arange(n) % 2, (np.arange(n) % 3 == 0)], 1).astype(int)
    train = [np.sort(rng.choice(n, n // 2, replace=False)) for _ in range(2)]
    return labels, train


def _tune(model, users, labels, train, **kw):
    prefixes = inference.encode_prefixes(model, users, batch_size=16)
    args = dict(n_tokens=3, steps=3, batch_size=4, lr=1e-2, seed=0, progress=False)
    return prompt_tuning.tune(model, prefixes, QUERIES, labels, train, **{**args, **kw})


def test_only_the_prompt_and_prototypes_change(model, tiny_setup, task_data):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    run = _tune(model, tiny_setup["users"], *task_data, snapshot_steps=(1,))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == flags  # restored after the run
    init = torch.stack([prompt_tuning.init_prompt(model, 3, t) for t in range(2)])
    assert run.final.vectors.shape == (2, 3, model.backbone.hidden_size)
    assert run.final.prototypes.shape == (2, 2, model.config.emb_dim)
    assert not torch.equal(run.final.vectors, init)  # the prompt did train
    assert run.losses.shape == (3, 2) and np.isfinite(run.losses).all()
    assert set(run.snapshots) == {1} and not torch.equal(run.snapshots[1].vectors, run.final.vectors)


def test_tuning_is_deterministic(model, tiny_setup, task_data):
    a = _tune(model, tiny_setup["users"], *task_data)
    b = _tune(model, tiny_setup["users"], *task_data)
    assert torch.equal(a.final.vectors, b.final.vectors) and np.array_equal(a.losses, b.losses)


def test_gradient_through_the_cached_prefix_equals_a_full_forward(model, tiny_setup):
    users = tiny_setup["users"]
    rows = [0, 3, 5, 8]
    y = torch.tensor([0, 1, 1, 0])
    vectors = prompt_tuning.init_prompt(model, 4, seed=1).requires_grad_(True)
    protos = torch.randn(2, model.config.emb_dim, requires_grad=True)
    model.requires_grad_(False)
    try:
        # cached: the prefix encoded once, the suffix alone run against it
        state = inference.encode_prefixes(model, users, batch_size=64).select(torch.tensor(rows))
        u_cached = model.head(inference.anchor_states(model, state, [QUERIES[0]] * 4, vectors, pairs=True))
        g_cached = torch.autograd.grad(prompt_tuning.prototype_loss(u_cached, protos, y, 0.1), [vectors, protos])
        # full: prefix and suffix in one uncached pass
        h_full = inference.anchor_states(
            model, users.batch(rows), [QUERIES[0]] * 4, vectors, path="uncached", pairs=True
        )
        u_full = model.head(h_full)
        g_full = torch.autograd.grad(prompt_tuning.prototype_loss(u_full, protos, y, 0.1), [vectors, protos])
    finally:
        model.requires_grad_(True)
    torch.testing.assert_close(u_cached, u_full, atol=1e-5, rtol=1e-4)
    for a, b in zip(g_cached, g_full):
        assert a.abs().sum() > 0
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_prototype_loss_matches_a_loop():
    torch.manual_seed(0)
    u, protos, y = torch.randn(6, 5), torch.randn(3, 5), torch.tensor([0, 2, 1, 1, 0, 2])
    total = 0.0
    for i in range(6):
        sims = torch.stack([F.cosine_similarity(u[i], p, dim=0) / 0.2 for p in protos])
        total += -(sims[y[i]] - torch.logsumexp(sims, 0))
    torch.testing.assert_close(prompt_tuning.prototype_loss(u, protos, y, 0.2), total / 6)


def test_tuned_embeddings_from_cached_prefixes_equal_the_uncached_pass(model, tiny_setup, task_data, tmp_path):
    users = tiny_setup["users"]
    run = _tune(model, users, *task_data)
    prefixes = inference.encode_prefixes(model, users, batch_size=16)
    cached = inference.embed(model, prefixes, QUERIES, run.final.vectors, batch_size=7)
    streamed = inference.embed(model, users, QUERIES, run.final.vectors, batch_size=5)
    assert cached.shape == (len(users), 2, model.config.emb_dim)
    np.testing.assert_allclose(cached, streamed, atol=1e-5)
    for t, q in enumerate(QUERIES):
        full = inference.embed(model, users.subset(list(range(6))), [q], run.final.vectors[t], path="uncached")
        np.testing.assert_allclose(cached[:6, t], full[:, 0], atol=1e-5)
    run.final.save(tmp_path / "prompts")
    again = prompt_tuning.PromptSet.load(tmp_path / "prompts")
    assert again.tasks == run.final.tasks and again.queries == QUERIES and again.step == 3
    np.testing.assert_array_equal(inference.embed(model, prefixes, QUERIES, again.vectors, batch_size=7), cached)


def test_bad_inputs_are_clear_errors(model, tiny_setup, task_data):
    labels, train = task_data
    users = tiny_setup["users"]
    one_class = labels.copy()
    one_class[:, 1] = 0
    with pytest.raises(ValueError, match="both classes"):
        _tune(model, users, one_class, train)
    with pytest.raises(ValueError, match="training sets"):
        _tune(model, users, labels, train[:1])
    with pytest.raises(ValueError, match="labels of"):
        prompt_tuning.tune(
            model, inference.encode_prefixes(model, users), QUERIES, labels[:5], train, steps=1, progress=False
        )
    state = model.encode_prefix(users.batch([0, 1]))
    with pytest.raises(ValueError, match="3 soft prompts for 2 queries"):
        model.anchor_states_cached(state, QUERIES, torch.zeros(3, 2, model.backbone.hidden_size))
    with pytest.raises(ValueError, match="vectors, the suffix"):
        suffix = model.suffix(QUERIES, n_soft=2)
        model.suffix_embeddings(suffix, torch.zeros(3, model.backbone.hidden_size))


def test_modality_attention_shares(model, tiny_setup, task_data):
    users = tiny_setup["users"]
    prefixes = inference.encode_prefixes(model, users, batch_size=16)
    shares = attention.modality_attention(model, prefixes, QUERIES, batch_size=9)
    assert shares.shape == (2, 7)
    np.testing.assert_allclose(shares.sum(1), 1.0, atol=1e-5)
    assert model.backbone.base_lm().config._attn_implementation == "sdpa"  # restored after the call
    per_layer = attention.modality_attention(model, prefixes, QUERIES, per_layer=True)
    np.testing.assert_allclose(per_layer.mean(0), shares, atol=1e-5)
    per_user = attention.modality_attention(model, prefixes, QUERIES, per_user=True)
    assert per_user.shape == (2, len(users), 7)
    np.testing.assert_allclose(per_user.mean(1), shares, atol=1e-5)
    np.testing.assert_allclose(per_user.sum(-1), 1.0, atol=1e-5)
    # the same shares from one full uncached forward per user, position by position
    owner = np.array(layout.modality_of_position(model.config.spec, model.config.tabular_tokens))
    lp = len(owner)
    expected = np.zeros(7)
    with attention.eager_attention(model), torch.no_grad():
        for i in range(len(users)):
            batch = users.batch([i])
            pre, pre_mask = model.encoder(batch)
            suffix = model.suffix([QUERIES[1]])
            x = torch.cat([pre, model.suffix_embeddings(suffix)], 1)
            mask = torch.cat([pre_mask, suffix.mask], 1)
            out = model.backbone.decoder()(
                inputs_embeds=x, attention_mask=mask.long(), position_ids=layout.positions(mask), output_attentions=True
            )
            row = torch.stack([a[0, :, lp + suffix.anchor[0], :lp] for a in out.attentions]).mean(1)  # (layers, Lp)
            row = (row / row.sum(-1, keepdim=True)).mean(0).numpy()
            expected += np.array([row[owner == c].sum() for c in attention.categories(model)])
    np.testing.assert_allclose(shares[1], expected / len(users), atol=1e-5)


def test_a_soft_prompt_starts_at_the_scale_of_the_token_embeddings(model):
    """Each soft token starts as a copy of an ordinary token's embedding (Lester et al. 2021), so its norm is one of
    the vocabulary's norms: a prompt far off that scale would dominate (or vanish next to) the query's tokens."""
    vectors = prompt_tuning.init_prompt(model, 6, seed=3)
    table = model.backbone.input_embeddings().weight.detach()
    norms = table.norm(dim=-1)
    for v in vectors:
        assert bool(((table - v).abs().sum(-1) == 0).any())  # an exact row of the table
        assert norms.min() <= v.norm() <= norms.max()


def test_evidence_shift_counts_only_what_is_specific_to_a_task():
    from qa_helpers.method.attention import evidence_shift

    rng = np.random.default_rng(0)
    before = rng.dirichlet(np.ones(4), size=(3, 200))  # (T, N, C)
    after = before.copy()
    after[:, :, 0] += 0.05  # every prompt raises category 0: shared, not task-specific
    after[1, :, 2] += 0.03  # task 1's prompt raises its evidence category 2
    out = evidence_shift(before, after, [[0], [2], [0]], n_boot=100)
    assert out[0][0] == pytest.approx(-0.0) or abs(out[0][0]) < 1e-9  # the shared rise cancels
    d, lo, hi = out[1]
    assert d == pytest.approx(0.03 * 2 / 3) and 0 < lo <= d <= hi
    with pytest.raises(ValueError, match="T evidence lists"):
        evidence_shift(before, after, [[0]])
