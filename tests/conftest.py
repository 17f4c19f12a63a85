import os

import pytest

from qa_helpers.series import config
from qa_helpers.synthetic import world

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def small_cfg():
    """The unit tests' small world: version 1, the control, whose 40 users fill the sampler's topic groups (world
    version 2 has its own tests, and the smoke notebooks run on it)."""
    return config.load("smoke", world_version=1, n_pretrain_users=40, n_downstream_users=60)


@pytest.fixture(scope="session")
def small_world(small_cfg):
    return world.generate(small_cfg)


@pytest.fixture(scope="session")
def tiny_setup(small_cfg, small_world, tmp_path_factory):
    """A tiny Q-Anchor model on the small world, with the hashing text encoder (no weights needed)."""
    import torch

    from qa_helpers.method import sentence_encoder
    from qa_helpers.method.user_tensors import TextTable
    from qa_helpers.series import pipeline
    from qa_helpers.synthetic.useru_catalogue import catalogue_facets
    from qa_helpers.useru import builder

    torch.manual_seed(0)
    cfg = config.load(
        "smoke",
        world_version=1,
        n_pretrain_users=40,
        n_downstream_users=60,
        batch_size=8,
        pretrain_steps=6,
        eval_pairs=16,
        eval_every=3,
        checkpoint_every=3,
        tokenizer_vocab=600,
    )
    pairs, _ = builder.build(small_world.pretrain, small_world.pretrain_future, catalogue_facets(), seed=0)
    cache = sentence_encoder.EmbeddingCache(sentence_encoder.HashingEncoder(32), tmp_path_factory.mktemp("text_cache"))
    table = TextTable.build(small_world.pretrain + small_world.downstream, cache)
    users = pipeline.user_tensors(cfg, small_world.pretrain, table)
    return {"cfg": cfg, "pairs": pairs, "table": table, "users": users, "world": small_world}
