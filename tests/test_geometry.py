"""Separation scores against naive references, the variance decomposition on built cases, the 2-D maps."""

import numpy as np
import pytest

from qa_helpers.method import geometry, metrics


def _clusters(n=60, shift=4.0, seed=0):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) < n // 4).astype(int)  # imbalanced: a quarter positive
    X = rng.normal(size=(n, 8))
    X[y == 1, 0] += shift
    X[y == 0, 1] += shift
    return X, y


def _cos_dist(X):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return 1 - U @ U.T


def test_knn_scores_match_a_naive_loop():
    X, y = _clusters(shift=0.8)
    D, k = _cos_dist(X), 7
    naive = []
    for i in range(len(X)):
        order = [j for j in np.argsort(D[i], kind="stable") if j != i][:k]
        naive.append(y[order].mean())
    np.testing.assert_allclose(geometry.knn_scores(X, y, k), naive)


def test_balanced_silhouette_matches_the_definition():
    X, y = _clusters(n=24, shift=1.0)
    D = _cos_dist(X)
    s = np.zeros(len(X))
    for i in range(len(X)):
        own = (y == y[i]) & (np.arange(len(X)) != i)
        a, b = D[i, own].mean(), D[i, y != y[i]].mean()
        s[i] = (b - a) / max(a, b)
    expected = np.mean([s[y == k].mean() for k in (0, 1)])
    assert geometry.balanced_silhouette(X, y) == pytest.approx(expected, abs=1e-9)


def test_separated_classes_score_high_and_shuffled_labels_score_chance():
    X, y = _clusters()
    sep = geometry.separation(X, y, k=5)
    assert sep["knn_auc"] > 0.99 and sep["silhouette"] > 0.4
    shuffled = np.random.default_rng(1).permutation(y)
    noise = geometry.separation(X, shuffled, k=5)
    assert abs(noise["silhouette"]) < 0.1 and abs(noise["knn_auc"] - 0.5) < 0.2


def test_knn_auc_is_the_auc_of_the_knn_scores():
    X, y = _clusters(shift=0.5)
    assert geometry.separation(X, y, k=9)["knn_auc"] == metrics.auc(y, geometry.knn_scores(X, y, 9))


def test_duplicate_rows_still_keep_k_neighbours():
    X, y = _clusters(n=20)
    X = np.concatenate([X, X[:1]])
    y = np.concatenate([y, y[:1]])
    assert geometry.knn_scores(X, y, 5).shape == (21,)


def test_query_variance_on_built_cases():
    rng = np.random.default_rng(0)
    user, query = rng.normal(size=(30, 1, 6)), rng.normal(size=(1, 4, 6))  # (users, queries, e) throughout
    additive = geometry.query_variance(user + query)  # no interaction by construction
    assert additive["interaction_share"] == pytest.approx(0, abs=1e-12)
    assert additive["query_share"] + additive["user_share"] == pytest.approx(1)
    static = geometry.query_variance(np.repeat(user, 4, 1))  # the same embedding for every query
    assert static["query_share"] == pytest.approx(0, abs=1e-12) and static["user_share"] == pytest.approx(1)
    assert static["cos_same_user_other_query"] == pytest.approx(1)
    mixed = geometry.query_variance(rng.normal(size=(30, 4, 6)))
    assert sum(mixed[k] for k in ("query_share", "user_share", "interaction_share")) == pytest.approx(1)
    assert mixed["interaction_share"] > 0.5


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_project_2d_is_deterministic(method):
    X, _ = _clusters(n=40)
    a, b = geometry.project_2d(X, method, seed=3), geometry.project_2d(X, method, seed=3)
    assert a.shape == (40, 2)
    np.testing.assert_array_equal(a, b)


def test_bad_inputs_raise():
    X, y = _clusters(n=20)
    with pytest.raises(ValueError, match="both classes"):
        geometry.separation(X, np.zeros(20, int))
    with pytest.raises(ValueError, match="one label per row"):
        geometry.separation(X, y[:-1])
    with pytest.raises(ValueError, match="k must be"):
        geometry.knn_scores(X, y, 20)
    with pytest.raises(ValueError, match="unknown method"):
        geometry.project_2d(X, "mds")
    with pytest.raises(ValueError, match="2-D array"):
        geometry.project_2d(X[:3], "pca")
    with pytest.raises(ValueError, match="users >= 2, queries >= 2"):
        geometry.query_variance(X[:, None])


def test_separation_samples_of_two_embeddings_of_the_same_users_are_paired():
    X, y = _clusters(shift=0.8)
    sharper = X * np.where(y[:, None] == 1, 1.0, 1.0) + 0.6 * y[:, None]  # the positives pushed further out
    a = geometry.separation(X, y, k=5, n_boot=50, seed=3)
    b = geometry.separation(sharper, y, k=5, n_boot=50, seed=3)
    assert len(a["silhouette_boot"]) == 50 and a["silhouette_boot"].mean() == pytest.approx(a["silhouette"], abs=0.05)
    # the same resamples: the difference's spread is far below either sample's
    assert np.std(b["silhouette_boot"] - a["silhouette_boot"]) < np.std(a["silhouette_boot"])
    rng = np.random.default_rng(3)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])  # metrics.bootstrap's first draw
    from sklearn.metrics import silhouette_samples

    s = silhouette_samples(X, y, metric="cosine")
    assert a["silhouette_boot"][0] == pytest.approx(geometry.balanced_mean(y[idx], s[idx]))
