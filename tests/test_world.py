import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from qa_helpers.method.metrics import auc
from qa_helpers.method.schema import check_records
from qa_helpers.method.spec import DatasetSpec
from qa_helpers.series import config
from qa_helpers.synthetic import catalog, tasks, traits, world


def test_same_seed_same_world(small_cfg, small_world):
    again = world.generate(small_cfg)
    assert again.downstream == small_world.downstream
    assert again.pretrain_future == small_world.pretrain_future
    np.testing.assert_array_equal(again.labels, small_world.labels)
    np.testing.assert_array_equal(again.probs, small_world.probs)


def test_different_seed_different_world(small_cfg, small_world):
    other = world.generate(config.load("smoke", seed=1, n_pretrain_users=40, n_downstream_users=60))
    assert other.downstream != small_world.downstream
    assert not np.array_equal(other.probs, small_world.probs)


def test_records_follow_the_schema(small_cfg, small_world):
    spec = world.spec(small_cfg, small_cfg.event_caps)
    for records, days in ((small_world.pretrain, 90), (small_world.downstream, 90), (small_world.pretrain_future, 30)):
        check_records(records, spec.with_window(days), "generated")


def test_pretraining_and_downstream_users_are_disjoint(small_world):
    assert not {r["user_id"] for r in small_world.pretrain} & {r["user_id"] for r in small_world.downstream}


def test_every_generated_text_is_in_the_catalogue(small_world):
    for rec in small_world.downstream:
        for m, evs in rec["events"].items():
            assert all(catalog.lookup(m, ev["text"]) is not None for ev in evs)


def test_save_load_round_trip(tmp_path, small_cfg, small_world):
    world.save(small_world, tmp_path, small_cfg)
    back = world.load(tmp_path, small_cfg)
    assert DatasetSpec.load(tmp_path / "spec.json") == world.spec(small_cfg, world.EVENT_CAPS)
    assert back.downstream == small_world.downstream and back.pretrain_future == small_world.pretrain_future
    np.testing.assert_array_equal(back.labels, small_world.labels)
    np.testing.assert_allclose(back.probs, small_world.probs, atol=1e-6)
    np.testing.assert_allclose(back.traits["downstream"], small_world.traits["downstream"], atol=1e-5)


def test_mess_heavy_tail_missing_modalities_and_shared_devices():
    cfg = config.load("smoke", n_pretrain_users=1, n_downstream_users=600)
    w = world.generate(cfg)
    n = np.array([sum(len(v) for v in r["events"].values()) for r in w.downstream])
    assert n.mean() > 1.3 * np.median(n) and n.max() > 5 * np.median(n)  # heavy right tail
    for m in catalog.EVENT_MODALITIES:
        share_missing = np.mean([m not in r["events"] for r in w.downstream])
        assert 0.0 < share_missing < 0.5, m
    assert 0.03 < w.shared_device["downstream"].mean() < 0.15


def test_signature_events_follow_their_trait():
    rng = np.random.default_rng(0)
    z = np.zeros(traits.N_TRAITS)
    fraudster = z.copy()
    fraudster[traits.INDEX["fraud_propensity"]] = 3.0

    def night_small_transfers(zz):
        rec = world.generate_user("u", zz, rng)
        return sum(
            ev["text"] == catalog.FRAUD_TEXT and ev["hour"] < 6 and ev["amount"] <= 80
            for ev in rec["events"].get("bill", [])
        )

    assert np.mean([night_small_transfers(fraudster) for _ in range(30)]) > 5 * max(
        np.mean([night_small_transfers(z) for _ in range(30)]), 0.2
    )


def test_base_rates_span_the_design():
    rates = [t.base_rate for t in tasks.TASKS]
    assert min(rates) <= 0.02 and max(rates) >= 0.4


@pytest.mark.slow
def test_oracle_is_not_beaten_by_a_model_on_the_true_traits():
    """The stored probability is the ceiling: logistic regression on the traits (history or even future)
    may not beat it by more than sampling noise on held-out users."""
    rng = np.random.default_rng(123)
    z = traits.sample(40_000, rng)
    future = traits.drift(z, rng)
    probs = tasks.label_probabilities(future)
    labels = tasks.draw_labels(probs, rng)
    half = len(z) // 2
    for k, name in enumerate(tasks.TASK_NAMES):
        y_tr, y_te = labels[:half, k], labels[half:, k]
        oracle = auc(y_te, probs[half:, k])
        n_pos, n_neg = y_te.sum(), len(y_te) - y_te.sum()
        se = np.sqrt(oracle * (1 - oracle) * (1 / n_pos + 1 / n_neg))  # a generous AUC standard error
        for feats in (z, future):
            model = LogisticRegression(max_iter=1000).fit(feats[:half], y_tr)
            assert auc(y_te, model.decision_function(feats[half:])) <= oracle + 2 * se, name


def test_oracle_spread_matches_design():
    from qa_helpers.series.datasheet import population_task_stats

    stats = population_task_stats(n=50_000)
    aucs = {t: s["oracle_auc"] for t, s in stats.items()}
    assert min(aucs.values()) < 0.66 and max(aucs.values()) > 0.95
    for t in tasks.TASKS:
        assert abs(stats[t.name]["base_rate"] - t.base_rate) < 0.15 * t.base_rate + 0.005, t.name
