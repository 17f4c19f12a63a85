"""Latent user traits: the hidden ground truth every modality and every task label is generated from.

Each user has 14 named traits, drawn as correlated standard normals (a Gaussian with the designed
correlation matrix below). Traits are z-scores: 0 is the population average, +1 one standard deviation
above it. The future window uses a drifted copy of the traits (`drift`), so that the future is predictable
from the past but not perfectly.
"""

from __future__ import annotations

import numpy as np

DESCRIPTIONS: dict[str, str] = {
    "age": "older users: more utilities, pharmacy and insurance; fewer concerts and takeout",
    "income": "richer users: brand shopping, wealth products, less price sensitivity",
    "activity_level": "overall volume of every modality (heavy-tailed through exp) and log-ins",
    "evening_orientation": "night owl: shifts event hours late (20-01 h)",
    "social_activity": "community mini programs and pages, transfers and red packets, dining out",
    "entertainment_interest": "concerts and tickets, music and video apps, concert searches",
    "eco_mindedness": "Ant Forest pages and mini program, green purchases, bike sharing",
    "takeout_habit": "food-delivery orders, apps, pages and searches",
    "price_sensitivity": "discount platforms, value-for-money searches",
    "promo_sensitivity": "big-sale venues, coupons, sale searches",
    "brand_loyalty": "brand flagship stores, brand zones, membership cards",
    "wealth_interest": "funds, wealth pages, stock and brokerage apps",
    "fraud_propensity": "small transfers to new payees at 0-5 h, security pages, loan searches, many devices",
    "laundering_pattern": "round amounts passed through the same day, bank-card transfers, high balance turnover",
}
TRAITS: tuple[str, ...] = tuple(DESCRIPTIONS)
N_TRAITS = len(TRAITS)
INDEX = {name: i for i, name in enumerate(TRAITS)}

# Designed pairwise correlations (everything not listed is 0). Signs follow common sense about
# consumer behaviour; magnitudes are moderate so no trait is a copy of another.
_CORRELATIONS: dict[tuple[str, str], float] = {
    ("age", "income"): 0.30,
    ("age", "evening_orientation"): -0.30,
    ("age", "entertainment_interest"): -0.35,
    ("age", "takeout_habit"): -0.30,
    ("age", "activity_level"): -0.20,
    ("age", "wealth_interest"): 0.20,
    ("income", "price_sensitivity"): -0.45,
    ("income", "brand_loyalty"): 0.35,
    ("income", "wealth_interest"): 0.45,
    ("price_sensitivity", "promo_sensitivity"): 0.50,
    ("price_sensitivity", "brand_loyalty"): -0.30,
    ("takeout_habit", "evening_orientation"): 0.25,
    ("entertainment_interest", "social_activity"): 0.40,
    ("social_activity", "activity_level"): 0.30,
    ("social_activity", "eco_mindedness"): 0.20,
    ("activity_level", "eco_mindedness"): 0.15,
    ("fraud_propensity", "evening_orientation"): 0.20,
    ("fraud_propensity", "laundering_pattern"): 0.25,
}


def correlation_matrix() -> np.ndarray:
    """The designed trait correlation matrix, shape (N_TRAITS, N_TRAITS); positive definite."""
    c = np.eye(N_TRAITS)
    for (a, b), r in _CORRELATIONS.items():
        c[INDEX[a], INDEX[b]] = c[INDEX[b], INDEX[a]] = r
    return c


def sample(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw `n` users' traits, shape (n, N_TRAITS), standard-normal marginals with the designed correlations."""
    chol = np.linalg.cholesky(correlation_matrix())
    return rng.standard_normal((n, N_TRAITS)) @ chol.T


def drift(traits: np.ndarray, rng: np.random.Generator, stability: float = 0.92) -> np.ndarray:
    """Traits in the future window: `stability * z + sqrt(1 - stability^2) * noise`, same marginals.

    Correlations between traits are kept because the noise is drawn with the same correlation matrix.
    """
    noise = sample(len(traits), rng)
    return stability * traits + np.sqrt(1.0 - stability**2) * noise


def column(traits: np.ndarray, name: str) -> np.ndarray:
    """One named trait, shape (n,)."""
    return traits[:, INDEX[name]]
