"""The shape of the embedding space (notebook 07): 2-D maps, class separation, and how far the query moves a user.

    xy = project_2d(X, "umap", seed=0)                      # (n, 2)
    sep = separation(X, y)                                   # {"silhouette": .., "knn_auc": ..}
    parts = query_variance(emb)                              # emb (N, Q, e): shares of query / user / interaction

Separation is measured in the embedding itself, not in a 2-D map (t-SNE and UMAP distort distances). Both scores
suit imbalanced labels (several tasks have 2% positives): the silhouette is averaged per class, then over the
two classes; the kNN AUC scores each user by the share of positives among its k nearest neighbours (itself
excluded) and reports the ROC AUC of that score.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_samples
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from . import metrics

METHODS = ("pca", "tsne", "umap")


def project_2d(X: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """(n, 2) map of the rows of X (n, e) by PCA, t-SNE (cosine) or UMAP (cosine); deterministic for a seed.

    Runs single-threaded: next to torch's thread pool, t-SNE's OpenMP threads spin and ran 100x slower here."""
    X = np.asarray(X, np.float32)
    if X.ndim != 2 or len(X) < 5:
        raise ValueError(f"need a 2-D array of at least 5 rows, got shape {X.shape}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    with threadpool_limits(1):
        return _project(X, method, seed)


def _project(X: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(X)
    if method == "tsne":
        return TSNE(
            2, metric="cosine", init="pca", perplexity=min(30.0, (len(X) - 1) / 3), random_state=seed
        ).fit_transform(X)
    import umap  # UMAP: slow to import, so only when asked for

    return umap.UMAP(
        n_components=2, metric="cosine", n_neighbors=min(15, len(X) - 1), random_state=seed, n_jobs=1
    ).fit_transform(X)


def _check_labels(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, np.float64), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, e) with one label per row: X {X.shape}, y {y.shape}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("y must hold both classes 0 and 1")
    return X, y.astype(int)


def balanced_silhouette(X: np.ndarray, y: np.ndarray) -> float:
    """Cosine silhouette averaged within each class, then over the two classes: in [-1, 1], 0 = no structure."""
    X, y = _check_labels(X, y)
    return balanced_mean(y, silhouette_samples(X, y, metric="cosine"))


def balanced_mean(y: np.ndarray, values: np.ndarray) -> float:
    """The mean of per-user `values` within each class of y, then over the two classes."""
    return float(np.mean([values[y == k].mean() for k in (0, 1)]))


def knn_scores(X: np.ndarray, y: np.ndarray, k: int = 15) -> np.ndarray:
    """(n,) share of positives among each row's k nearest neighbours by cosine distance, the row itself excluded."""
    X, y = _check_labels(X, y)
    if not 0 < k < len(X):
        raise ValueError(f"k must be in [1, {len(X) - 1}], got {k}")
    _, idx = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(X).kneighbors(X)
    own = idx == np.arange(len(X))[:, None]
    # drop the row itself (or, with exact duplicates, the last neighbour) so each row keeps k neighbours
    drop = np.where(own.any(1), own.argmax(1), k)
    keep = np.ones_like(idx, bool)
    keep[np.arange(len(X)), drop] = False
    return y[idx[keep].reshape(len(X), k)].mean(1)


def separation(X: np.ndarray, y: np.ndarray, k: int = 15, n_boot: int = 0, seed: int = 0) -> dict:
    """{"silhouette": balanced cosine silhouette, "knn_auc": AUC of the leave-one-out kNN positive share}; with
    `n_boot`, also "knn_auc_boot" and "silhouette_boot": both on n_boot stratified resamples of the users
    (metrics.bootstrap; the users' own silhouette values and kNN shares are kept, the users resampled). The same
    seed and labels give the same resamples, so two embeddings of the same users get paired samples."""
    X, y = _check_labels(X, y)
    knn = knn_scores(X, y, k)
    silhouettes = silhouette_samples(X, y, metric="cosine")
    out = {"silhouette": balanced_mean(y, silhouettes), "knn_auc": metrics.auc(y, knn)}
    if n_boot:
        out["knn_auc_boot"] = metrics.bootstrap(y, knn, metrics.auc, n_boot, seed)
        out["silhouette_boot"] = metrics.bootstrap(y, silhouettes, balanced_mean, n_boot, seed)
    return out


def query_variance(emb: np.ndarray) -> dict:
    """Split the spread of emb (N users, Q queries, e) into what the query, the user and their interaction explain.

    Two-way decomposition of the squared distances to the grand mean: query = N * sum_q |mean_q - grand|^2, user =
    Q * sum_i |mean_i - grand|^2, interaction = the rest; returned as shares of the total (they sum to 1).
    Also the mean cosine between one user's embeddings under two different queries, and between two users'
    embeddings under the same query."""
    emb = np.asarray(emb, np.float64)
    if emb.ndim != 3 or emb.shape[0] < 2 or emb.shape[1] < 2:
        raise ValueError(f"need (users >= 2, queries >= 2, dim), got shape {emb.shape}")
    emb = np.ascontiguousarray(emb.transpose(1, 0, 2))  # (Q, N, e), query-major as the sums below are written
    Q, N, _ = emb.shape
    grand = emb.mean((0, 1))
    total = ((emb - grand) ** 2).sum()
    query = N * ((emb.mean(1) - grand) ** 2).sum()
    user = Q * ((emb.mean(0) - grand) ** 2).sum()
    unit = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)
    same_user = np.einsum("qne,pne->qpn", unit, unit)  # (Q, Q, N)
    same_query = np.einsum("qne,qme->qnm", unit, unit)  # (Q, N, N)
    return {
        "query_share": float(query / total),
        "user_share": float(user / total),
        "interaction_share": float((total - query - user) / total),
        "cos_same_user_other_query": float(same_user[~np.eye(Q, dtype=bool)].mean()),
        "cos_same_query_other_user": float(same_query[:, ~np.eye(N, dtype=bool)].mean()),
    }
