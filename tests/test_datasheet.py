"""The datasheet's generated tables must equal what the code computes from the committed sample."""

import re

import pytest

from qa_helpers.method.schema import read_jsonl
from qa_helpers.series import datasheet
from qa_helpers.synthetic import world

README = datasheet.SAMPLE_DIR / "README.md"


@pytest.fixture(scope="module")
def recomputed():
    return datasheet.render_blocks()


@pytest.mark.parametrize(
    "block", ["traits", "modalities", "entries", "tasks", "interests", "tasks_v2", "sample", "userU"]
)
def test_datasheet_block_matches_the_code(block, recomputed):
    text = README.read_text()
    written = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"<!-- BEGIN (\w+) -->\n(.*?)<!-- END \1 -->", text, flags=re.S)
    }
    assert block in written, f"data_samples/README.md lacks the {block} block"
    assert written[block] == recomputed[block].strip(), f"the {block} table is stale: run `python -m qa_helpers sample`"


def test_sample_is_the_documented_world():
    """The committed sample is exactly what the generator makes for the sample profile."""
    w = world.generate(datasheet.SAMPLE_PROFILE)
    assert read_jsonl(datasheet.SAMPLE_DIR / "users_downstream.jsonl") == w.downstream
    assert read_jsonl(datasheet.SAMPLE_DIR / "users_pretrain.jsonl") == w.pretrain
    loaded = world.load(datasheet.SAMPLE_DIR, datasheet.SAMPLE_PROFILE)
    assert (loaded.labels == w.labels).all()


def test_sample_useru_pairs_are_reproducible():
    rows, _ = datasheet.build_sample_useru()
    assert read_jsonl(datasheet.SAMPLE_DIR / "userU.jsonl") == rows


def test_sample_has_every_modality_and_labels():
    loaded = world.load(datasheet.SAMPLE_DIR, datasheet.SAMPLE_PROFILE)
    present = {m for r in loaded.downstream + loaded.pretrain for m in r["events"]}
    assert present == {"bill", "mini", "spm", "app", "search"}
    assert any(r.get("tabular") for r in loaded.downstream)
    assert loaded.labels.shape == (25, 10)
