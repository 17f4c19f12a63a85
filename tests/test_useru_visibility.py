"""How much of UserU's answers the model's prefix can show (useru/visibility.py): ceilings computed without a model."""

import pytest

from qa_helpers.synthetic import world
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru.visibility import fact_reader_recall


def test_the_fact_reader_is_perfect_without_a_cap_and_worse_with_a_small_one(tiny_setup):
    w, pairs = tiny_setup["world"], tiny_setup["pairs"]
    spec, source = world.spec(tiny_setup["cfg"], world.EVENT_CAPS), catalogue_facets()
    full = fact_reader_recall(w.pretrain, w.pretrain, pairs, spec.with_caps((10**6,) * 5), source, group_size=8)
    assert full["recall@1"] == pytest.approx(1.0) and full["pairs"] > 0
    small = fact_reader_recall(w.pretrain, w.pretrain, pairs, spec.with_caps((2, 1, 1, 1, 1)), source, group_size=8)
    assert full["chance@1"] < small["recall@1"] < 1.0
