"""Linear probing: a standardised logistic regression on frozen features, scored by AUC and KS."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import catalog as C
from .features import modality_features
from .metrics import auc, ks


def linear_probe(X: np.ndarray, y: np.ndarray, seed: int = 0, test_size: float = 0.5) -> dict:
    """Fit on a stratified split of (X (n, d), y (n,)) and return test {'auc', 'ks'}."""
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, d) with n = len(y), got {X.shape} and {len(y)} labels")
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(X_tr, y_tr)
    score = model.decision_function(X_te)
    return {"auc": auc(y_te, score), "ks": ks(y_te, score)}


def evidence_aucs(records: list[dict], labels: np.ndarray, n_tabular: int, seed: int = 0) -> np.ndarray:
    """Linear-probe test AUC of each task (rows) from one modality's features at a time (columns, MODALITIES order).

    labels: (n_users, n_tasks). Returns (n_tasks, 6).
    """
    feats = [modality_features(records, m, n_tabular) for m in C.MODALITIES]
    return np.array([[linear_probe(X, labels[:, k], seed)["auc"] for X in feats] for k in range(labels.shape[1])])
