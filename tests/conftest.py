import os

import pytest

from qa_helpers import config, world

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def small_cfg():
    return config.load("smoke", n_pretrain_users=40, n_downstream_users=60)


@pytest.fixture(scope="session")
def small_world(small_cfg):
    return world.generate(small_cfg)
