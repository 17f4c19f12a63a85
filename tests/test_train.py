"""The pretraining loop: deterministic batches, resume == uninterrupted, two processes == one, torchrun works."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from qa_helpers.method.batches import PairSampler, batch_indices, split_pairs
from qa_helpers.method.train import Pretrainer
from qa_helpers.series import pipeline
from qa_helpers.series.config import REPO_ROOT
from qa_helpers.synthetic.useru_catalogue import catalogue_facets


def make_trainer(setup, out_dir=None, **overrides):
    cfg = setup["cfg"].__class__(**{**setup["cfg"].to_dict(), **overrides})
    torch.manual_seed(0)
    train, held = split_pairs(setup["pairs"], cfg.eval_pairs, cfg.seed)
    model = pipeline.new_model(cfg, train, setup["users"])
    return Pretrainer(
        model, setup["users"], train, held, pipeline.pretrain_settings(cfg), catalogue_facets().bank, out_dir
    )


def test_batches_are_a_function_of_the_step_and_cover_each_epoch():
    a = [batch_indices(s, 8, 20, seed=1) for s in range(5)]
    assert all(np.array_equal(x, batch_indices(s, 8, 20, seed=1)) for s, x in enumerate(a))
    first_epoch = np.concatenate(a)[:20]
    assert sorted(first_epoch) == list(range(20))
    with pytest.raises(ValueError, match="cannot fill a batch"):
        batch_indices(0, 8, 5, seed=1)


def test_grouped_batches_hold_few_topics_distinct_users_and_a_future_share(tiny_setup):
    pairs = tiny_setup["pairs"]
    cfg = tiny_setup["cfg"].__class__(
        **{**tiny_setup["cfg"].to_dict(), "batch_size": 12, "batch_topics": 2, "batch_future_share": 0.25}
    )
    sampler = PairSampler.for_settings(pairs, pipeline.pretrain_settings(cfg))
    for step in range(20):
        idx = sampler(step)
        assert np.array_equal(idx, sampler(step)) and len(idx) == 12  # a pure function of the step
        batch = [pairs[i] for i in idx]
        assert len({p["user_id"] for p in batch}) == 12  # no user twice
        assert sum(p["topic"] == "future" for p in batch) >= 3  # round(12 x 0.25) D_future pairs
        uqa = [p["topic"] for p in batch if p["topic"] != "future"]
        # two topics fill the rest, unless a topic ran short of users and random pairs topped it up
        assert sum(t in sorted(set(uqa), key=uqa.count)[-2:] for t in uqa) >= 6
    assert not np.array_equal(sampler(0), sampler(1))
    with pytest.raises(ValueError, match="cannot draw"):
        PairSampler(pairs, np.arange(len(pairs)), 8, n_topics=500)(0)


def test_held_out_users_are_disjoint_from_training_users(tiny_setup):
    train, held = split_pairs(tiny_setup["pairs"], 16, seed=0)
    assert len(held) >= 16 and not {p["user_id"] for p in train} & {p["user_id"] for p in held}
    assert len(train) + len(held) == len(tiny_setup["pairs"])


def test_losses_fall_and_eval_reports_recall(tiny_setup):
    trainer = make_trainer(tiny_setup, pretrain_steps=12, eval_every=12, lr=2e-3)
    history = trainer.run(progress=False)
    assert len(history) == 12 and "exact_recall@1" in history[-1]
    assert np.mean([h["ntp"] for h in history[-3:]]) < np.mean([h["ntp"] for h in history[:3]])
    assert all(np.isfinite(h["loss"]) for h in history)


def test_resume_equals_an_uninterrupted_run(tiny_setup, tmp_path):
    straight = make_trainer(tiny_setup, pretrain_steps=6, checkpoint_every=100)
    straight.run(progress=False)

    first = make_trainer(tiny_setup, tmp_path, pretrain_steps=6, checkpoint_every=3)
    first.run(steps=3, progress=False)
    assert first.latest_checkpoint().name == "ckpt-000003"
    resumed = make_trainer(tiny_setup, tmp_path, pretrain_steps=6, checkpoint_every=3)
    assert make_trainer(tiny_setup, pretrain_steps=6).resume() is None  # no folder: nothing to resume
    assert resumed.resume().name == "ckpt-000003"
    resumed.run(progress=False)

    assert [h["loss"] for h in resumed.history] == pytest.approx([h["loss"] for h in straight.history], abs=1e-6)
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)
    assert not list(tmp_path.glob(".tmp-*"))  # checkpoints are renamed into place, no temporary left


def _grads(trainer):
    return {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}


def _worker(rank, world, port, setup, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    trainer = make_trainer(setup)
    total, parts = trainer.batch_losses(0)
    total.backward()
    from qa_helpers.method.train import _flat_all_reduce_mean

    _flat_all_reduce_mean([p.grad for p in trainer.params], world)
    if rank == 0:
        torch.save({"parts": parts, "grads": _grads(trainer)}, out)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_equal_one_process_on_the_same_global_batch(tiny_setup, tmp_path):
    single = make_trainer(tiny_setup)
    total, parts = single.batch_losses(0)
    total.backward()
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, 29517, tiny_setup, str(out)), nprocs=2, join=True)
    two = torch.load(out, weights_only=False)
    for key in ("loss", "cl", "ntp"):
        assert two["parts"][key] == pytest.approx(parts[key], rel=1e-5), key
    # fp32 sums in another order differ by about 1e-6 on gradients of size 1e-2; a wrong all-reduce (a missing
    # average, a rank's negatives dropped) changes them by far more
    for name, grad in _grads(single).items():
        torch.testing.assert_close(
            two["grads"][name], grad, atol=5e-6, rtol=1e-4, msg=lambda m, name=name: f"{name}: {m}"
        )


@pytest.mark.slow
@pytest.mark.multiprocess
def test_torchrun_two_processes_on_cpu(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        "-m",
        "qa_helpers",
        "pretrain",
        "--profile",
        "smoke",
        "--steps",
        "2",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["step"] for h in history] == [1, 2] and (tmp_path / "model" / "qanchor_config.json").exists()


def test_the_schedule_warms_up_then_decays_to_its_floor():
    from transformers import get_cosine_schedule_with_warmup

    from qa_helpers.method.train import lr_factor

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    reference = get_cosine_schedule_with_warmup(opt, 10, 100).lr_lambdas[0]
    assert [lr_factor(s, 10, 100) for s in range(101)] == pytest.approx([reference(s) for s in range(101)])
    assert lr_factor(5, 10, 100, floor=0.1) == pytest.approx(0.5)  # the warm-up ignores the floor
    assert lr_factor(100, 10, 100, floor=0.1) == pytest.approx(0.1)
    assert lr_factor(55, 10, 100, floor=0.1) == pytest.approx(0.1 + 0.9 * 0.5)


def test_every_trainable_weight_is_in_one_module_group_with_its_learning_rate(tiny_setup):
    from qa_helpers.method.train import module_groups

    trainer = make_trainer(tiny_setup, lr=1e-3, lr_modules=5.0, query_encoder="hashing-32")
    groups = module_groups(trainer.model)
    assert set(groups) == {"numeric projection", "encoder adapters", "query adapter", "LLM", "head"}
    names = [n for params in groups.values() for n, _ in params]
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert sorted(names) == sorted(trainable) and len(set(names)) == len(names)
    llm, others = trainer.optimizer.param_groups
    assert llm["lr"] == 0.0 and llm["initial_lr"] == pytest.approx(1e-3)  # step 0 of the warm-up
    assert others["initial_lr"] == pytest.approx(5e-3)
    assert {id(p) for p in llm["params"]} == {id(p) for _, p in groups["LLM"]}


def test_weight_change_starts_at_zero_grows_and_survives_a_resume(tiny_setup, tmp_path):
    trainer = make_trainer(tiny_setup, tmp_path, pretrain_steps=4, checkpoint_every=2, eval_every=0)
    assert all(v == 0.0 for v in trainer.weight_change().values())
    trainer.run(steps=2, progress=False)
    moved = trainer.weight_change()
    assert all(v > 0 for v in moved.values())
    resumed = make_trainer(tiny_setup, tmp_path, pretrain_steps=4, checkpoint_every=2, eval_every=0)
    assert resumed.resume().name == "ckpt-000002"
    assert resumed.weight_change() == pytest.approx(moved)
    history = make_trainer(tiny_setup, pretrain_steps=2, eval_every=2).run(progress=False)
    assert {f"weight_change/{g}" for g in moved} <= set(history[-1]) and "user_nats" in history[-1]
