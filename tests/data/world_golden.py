"""Embeddings of a tiny Q-Anchor on the small test world, written by the code before dataset specs (commit
776aa25) and checked by tests/test_spec_parity.py against the code of today: the synthetic world read through its
spec must give the same model, the same embeddings and the same training steps.

    git worktree add /tmp/before 776aa25 && cd /tmp/before && python <this file> <repo>/tests/data/world_golden.npz
"""

import sys

import numpy as np

from qa_helpers.method import inference, sentence_encoder
from qa_helpers.method.train import Pretrainer
from qa_helpers.method.user_tensors import TextTable
from qa_helpers.series import config, pipeline
from qa_helpers.synthetic import world
from qa_helpers.synthetic.useru_catalogue import catalogue_facets
from qa_helpers.useru import builder

QUERIES = ["Will this person order takeout?", "Is this user likely to travel abroad?"]
# settings added since the golden file was written, at the values that reproduce the code of then
BEFORE = {"numeric_init_scale": 1.0, "readout": "anchor", "head": "mlp"}


def golden(tmp_folder) -> dict[str, np.ndarray]:
    """Embeddings (2, 8, 16) of a fresh model, the losses of two training steps, and the embeddings after them."""
    cfg = config.load(
        "smoke",
        world_version=1,  # the world before dataset specs existed
        n_pretrain_users=40,
        n_downstream_users=60,
        batch_size=8,
        tokenizer_vocab=600,
        emb_dim=16,
        **{k: v for k, v in BEFORE.items() if hasattr(config.PROFILES["smoke"], k)},
    )
    w = world.generate(cfg)
    pairs, _ = builder.build(w.pretrain, w.pretrain_future, catalogue_facets(), seed=0)
    cache = sentence_encoder.EmbeddingCache(sentence_encoder.HashingEncoder(32), tmp_folder)
    table = TextTable.build(w.pretrain + w.downstream, cache)
    users = pipeline.user_tensors(cfg, w.pretrain, table)
    model = pipeline.new_model(cfg, pairs, users).eval()
    sample = users.subset(list(range(8)))
    before = inference.embed(model, sample, QUERIES)
    trainer = Pretrainer(model, users, pairs, pairs[:8], pipeline.pretrain_settings(cfg), catalogue_facets().bank)
    losses = [trainer.train_step()["loss"] for _ in range(2)]
    after = inference.embed(model.eval(), sample, QUERIES)
    # stored query-major, (Q, N, e), as the golden file was recorded before embeddings became (N, Q, e)
    return {"before": inference.query_major(before), "losses": np.array(losses), "after": inference.query_major(after)}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        np.savez(sys.argv[1], **golden(tmp))
