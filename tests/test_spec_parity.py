"""The synthetic world read through its dataset spec gives what the code gave before specs existed."""

import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.mark.slow
def test_the_world_through_its_spec_gives_the_same_model_embeddings_and_training(tmp_path):
    sys.path.insert(0, str(DATA))
    try:
        from world_golden import golden
    finally:
        sys.path.remove(str(DATA))
    now, before = golden(tmp_path), np.load(DATA / "world_golden.npz")
    np.testing.assert_allclose(now["before"], before["before"], atol=1e-5)
    np.testing.assert_allclose(now["losses"], before["losses"], rtol=1e-5)
    np.testing.assert_allclose(now["after"], before["after"], atol=1e-5)
