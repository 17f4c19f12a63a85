"""World version 2 (interests with a long tail): what the datasheet's design promises, checked on small worlds."""

import numpy as np
import pytest

from qa_helpers.series import config
from qa_helpers.synthetic import catalog, interests, tasks, traits, world


@pytest.fixture(scope="module")
def pair():
    """The same small world in versions 1 and 2 (one seed)."""
    sizes = {"n_pretrain_users": 40, "n_downstream_users": 60}
    v1, v2 = config.load("smoke", world_version=1, **sizes), config.load("smoke", world_version=2, **sizes)
    return v2, world.generate(v1), world.generate(v2)


def test_version_2_keeps_version_1s_users_and_adds_interests(pair):
    _, w1, w2 = pair
    for split in ("pretrain", "downstream"):
        np.testing.assert_array_equal(w1.traits[split], w2.traits[split])
        np.testing.assert_array_equal(w1.future_traits[split], w2.future_traits[split])
        np.testing.assert_array_equal(w1.shared_device[split], w2.shared_device[split])
        assert w2.interests[split].shape == (len(w2.traits[split]), interests.N_INTERESTS)
    assert w1.interests is None and w1.latent_state().shape == (60, traits.N_TRAITS)
    assert w2.latent_state().shape == (60, traits.N_TRAITS + interests.N_INTERESTS)
    assert not np.array_equal(w1.probs, w2.probs)


def test_every_interest_event_is_about_an_interest_its_user_holds(pair):
    """Nothing is generated from a hidden field the record cannot show: each interest text names an interest the
    user holds (on a shared device, App and Search come from the other household member, so those are skipped)."""
    _, _, w2 = pair
    seen = 0
    for u, rec in enumerate(w2.downstream):
        shared = w2.shared_device["downstream"][u]
        for m, evs in rec["events"].items():
            for ev in evs:
                entry = catalog.lookup(m, ev["text"])
                assert entry is not None, ev["text"]
                if catalog.interest_of(entry) is None:  # a version-1 catalogue event
                    continue
                seen += 1
                if not (shared and m in ("app", "search")):
                    assert w2.interests["downstream"][u, interests.INDEX[catalog.interest_of(entry)]] > 0
        if "app" in rec["events"]:
            texts = [ev["text"] for ev in rec["events"]["app"]]
            assert len(texts) == len(set(texts))  # an app list has no repeats
    assert seen > 0


def test_save_load_round_trip_keeps_the_interests(tmp_path, pair):
    cfg, _, w2 = pair
    world.save(w2, tmp_path, cfg)
    back = world.load(tmp_path, cfg)
    assert back.downstream == w2.downstream
    for split in ("pretrain", "downstream"):
        np.testing.assert_allclose(back.interests[split], w2.interests[split], atol=1e-5)
        np.testing.assert_allclose(back.future_interests[split], w2.future_interests[split], atol=1e-5)
    np.testing.assert_allclose(back.latent_state(), w2.latent_state(), atol=1e-5)


def test_interest_texts_are_many_fixed_and_carry_the_coarse_facet_only():
    for m in catalog.EVENT_MODALITIES:
        entries = catalog.interest_entries(m)
        texts = [t for e in entries for t in e.texts]
        assert len(texts) == len(set(texts)) == catalog.INTEREST_POOL[m] * interests.N_INTERESTS
        version_1 = {t for entries in catalog.ENTRIES.values() for e in entries for t in e.texts}
        assert not set(texts) & version_1  # no version-1 text is reused
    bill = catalog.interest_entries("bill")[interests.INDEX["jazz"]]
    label = catalog.FACETS["concert"][0]
    assert all(f"| {label} |" in t for t in bill.texts)  # the category field is the facet's
    assert catalog.lookup("bill", bill.texts[0]) is bill and catalog.interest_of(bill) == "jazz"
    assert catalog.interest_of(catalog.BY_KEY["bill"]["takeout"]) is None
    with pytest.raises(ValueError, match="unknown event modality"):
        catalog.interest_entries("tabular")


def test_popularity_has_a_long_tail_and_follows_the_facet_trait():
    rng = np.random.default_rng(0)
    z = traits.sample(20000, rng)
    held = interests.sample(z, rng) > 0
    share = np.sort(held.mean(0))[::-1]
    assert share[0] > 0.25 and share[len(share) // 2] < 0.05 and share[-1] < 0.02
    k = interests.INDEX["tree planting"]
    eco = traits.column(z, "eco_mindedness")
    assert held[eco > 1, k].mean() > 2 * held[eco < -1, k].mean()


def test_version_2_labels_keep_the_design_base_rates():
    rng = np.random.default_rng(3)
    z = traits.sample(40000, rng)
    future = traits.drift(z, rng)
    probs = tasks.label_probabilities(future, interests.drift(interests.sample(z, rng), future, rng))
    design = np.array([t.base_rate for t in tasks.TASKS])
    np.testing.assert_allclose(probs.mean(0), design, atol=0.01)


def test_an_unknown_world_version_is_an_error():
    with pytest.raises(ValueError, match="unknown world_version 3"):
        world.generate(config.load("smoke", world_version=3, n_pretrain_users=4, n_downstream_users=4))


def test_a_user_holding_no_interest_has_only_catalogue_events():
    """About one user in 200 holds no interest (and a shared device's other member may hold none): no error, and
    every event comes from version 1's catalogue."""
    rng = np.random.default_rng(4)
    z = traits.sample(1, rng)[0]
    none = np.zeros(interests.N_INTERESTS)
    rec = world.generate_user("u", z, rng, interests=none, household=z, household_interests=none)
    texts = [(m, ev["text"]) for m, evs in rec["events"].items() for ev in evs]
    assert texts and all(catalog.interest_of(catalog.lookup(m, t)) is None for m, t in texts)
