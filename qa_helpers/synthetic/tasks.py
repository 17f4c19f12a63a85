"""The ten downstream tasks (paper Table 4), their label mechanism and their natural-language queries.

Label rule, as in the paper: y = 1 if the user triggers at least one target event in the prediction window.
Target events arrive as a Poisson process with rate `exp(a + b * s(traits_future))`, so

    p = P(y = 1) = 1 - exp(-exp(a + b * s))

where s is the task's standardised trait score on the *future* (drifted) traits, b sets how predictable the
task is (the oracle AUC), and a is solved so the population base rate hits its design value. p is stored per
user: it is the oracle, the best score any model could produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import catalog, interests, traits


def _late_takeout(z: np.ndarray) -> np.ndarray:
    """log(takeout orders x share of them placed late): the conjunction the Takeout label depends on."""
    late = catalog.BY_KEY["bill"]["takeout"].late
    return 1.6 * traits.column(z, "takeout_habit") + np.log(
        catalog.late_share(traits.column(z, "evening_orientation"), late)
    )


@dataclass(frozen=True)
class Task:
    name: str  # the paper's abbreviation
    title: str  # the paper's task name
    domain: str  # Engagement, Risk or Marketing
    evidence: tuple[str, ...]  # modalities carrying most of the evidence by design (notebook 01 measures it)
    mechanism: str  # one sentence for the datasheet
    score: Callable[[np.ndarray], np.ndarray]  # traits (n, N_TRAITS) -> raw score (n,)
    slope: float  # b: larger is easier
    base_rate: float  # design base rate
    query: str  # the downstream query (worded unlike the UserU topics)


def _t(name):
    return lambda z: traits.column(z, name)


TASKS: tuple[Task, ...] = (
    Task(
        "Active",
        "Interest Community Active User Identification",
        "Engagement",
        ("mini", "spm", "app"),
        "community activity driven by social activity, some entertainment interest and overall activity",
        lambda z: (
            0.7 * traits.column(z, "social_activity")
            + 0.4 * traits.column(z, "entertainment_interest")
            + 0.3 * traits.column(z, "activity_level")
        ),
        slope=0.6,
        base_rate=0.22,
        query="Is this person likely to post, comment or like in interest communities soon?",
    ),
    Task(
        "Concert",
        "Concert Click Prediction",
        "Engagement",
        ("search", "app", "spm"),
        "clicks on concert items driven by entertainment interest",
        lambda z: traits.column(z, "entertainment_interest") + 0.2 * traits.column(z, "social_activity"),
        slope=0.45,
        base_rate=0.06,
        query="Would this person click on a concert or live show recommendation?",
    ),
    Task(
        "Login",
        "User Log-in Prediction",
        "Engagement",
        ("tabular", "spm"),
        "log-ins driven by overall activity level",
        _t("activity_level"),
        slope=2.4,
        base_rate=0.40,
        query="Will this person open the app and log in during the coming weeks?",
    ),
    Task(
        "Forest",
        "Ant Forest Engagement",
        "Engagement",
        ("spm", "mini"),
        "Ant Forest interactions driven by eco-mindedness",
        _t("eco_mindedness"),
        slope=4.0,
        base_rate=0.30,
        query="Is this person going to collect energy or plant trees in Ant Forest?",
    ),
    Task(
        "Fraud",
        "Fraud Detection",
        "Risk",
        ("bill", "tabular", "spm"),
        "flags driven by fraud propensity; its sharpest evidence is a conjunction: small transfers to new payees "
        "at 0-5 h",
        _t("fraud_propensity"),
        slope=3.0,
        base_rate=0.02,
        query="Does this account show signs of being involved in fraud?",
    ),
    Task(
        "Money",
        "Money Laundering Detection",
        "Risk",
        ("bill", "tabular"),
        "flags driven by the laundering pattern; its sharpest evidence is a conjunction: a round-amount transfer "
        "in, passed out the same day",
        _t("laundering_pattern"),
        slope=3.0,
        base_rate=0.02,
        query="Is this account likely being used to move illicit money?",
    ),
    Task(
        "Takeout",
        "Takeout Interest",
        "Marketing",
        ("bill", "mini"),
        "takeout conversions driven by late-evening takeout, a conjunction of takeout habit and evening "
        "orientation (rate ~ takeout orders x share of them placed at 20-01 h)",
        _late_takeout,
        slope=2.2,
        base_rate=0.25,
        query="Would this person respond to a late-night food-delivery offer?",
    ),
    Task(
        "Brand",
        "Brand Sensitivity",
        "Marketing",
        ("bill", "tabular", "spm"),
        "brand-campaign interactions driven by brand loyalty and income",
        lambda z: traits.column(z, "brand_loyalty") + 0.4 * traits.column(z, "income"),
        slope=1.6,
        base_rate=0.10,
        query="Would this person engage with a campaign from a brand's flagship store?",
    ),
    Task(
        "Promo",
        "Big Sale Sensitivity",
        "Marketing",
        ("spm", "search", "mini"),
        "big-sale interactions driven by promo sensitivity",
        _t("promo_sensitivity"),
        slope=0.55,
        base_rate=0.15,
        query="Is this person going to take part in the next big shopping festival sale?",
    ),
    Task(
        "Value",
        "Cost-Performance Sensitivity",
        "Marketing",
        ("bill", "search", "app"),
        "value-for-money interactions driven by price sensitivity (less so for high income)",
        lambda z: traits.column(z, "price_sensitivity") - 0.2 * traits.column(z, "income"),
        slope=2.0,
        base_rate=0.20,
        query="Does this person go for the cheapest option with the best value?",
    ),
)
TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASKS)
# One fixed, task-agnostic query: asking it for every task turns Q-Anchor into a static (FOUND-like) embedding.
GENERIC_QUERY = "Give an overall picture of this person's behaviour."

_REFERENCE_USERS = 200_000  # size of the fixed reference population used to calibrate every task
_REFERENCE_USERS_V2 = 50_000  # world version 2's (its 192 interests per user cost 14x the draws; see the datasheet)
_REFERENCE_SEED = 20260216

# World version 2 (datasheet, Changes): a task's score is V2_TRAIT_WEIGHT times its version-1 score (standardised on
# the reference population) plus the strength, log(1 + intensity), of a few specific interests times their weight,
# plus for Takeout a conjunction: the strength of late-night snacks times 2 sigmoid(2 price_sensitivity). Login stays
# broad. A held interest has a strength near 0.7, so a weight of 2.5 moves its holders about 1.7 version-1 sds.
V2_TRAIT_WEIGHT = 0.5
V2_INTERESTS: dict[str, tuple[tuple[str, float], ...]] = {
    "Active": (("board games", 2.5), ("photography club", 2.5), ("anime fandom", 2.5)),
    "Concert": (("live house gigs", 2.5), ("jazz", 2.5), ("music festivals", 2.5), ("pop star tours", 2.5)),
    "Login": (),
    "Forest": (("tree planting", 2.5), ("carbon tracking", 2.5)),
    "Fraud": (("online gambling", 2.5), ("VPN and proxies", 2.5), ("SIM card changes", 2.5)),
    "Money": (("crypto trading", 2.5), ("overseas remittance", 2.5), ("multiple accounts", 2.5)),
    "Takeout": (("fried chicken", 1.5),),
    "Brand": (("designer handbags", 2.5), ("sneaker drops", 2.5), ("luxury watches", 2.5)),
    "Promo": (("Double 11 pre-sales", 2.5), ("live-stream shopping", 2.5), ("coupon stacking", 2.5)),
    "Value": (("second-hand electronics", 2.5), ("price comparison", 2.5), ("refurbished appliances", 2.5)),
}
V2_CONJUNCTIONS: dict[str, tuple[str, str, float]] = {"Takeout": ("late-night snacks", "price_sensitivity", 2.5)}


def _v1_score(task: Task, z: np.ndarray) -> np.ndarray:
    mu, sd, _ = _calibration(1)[task.name]
    return (task.score(z) - mu) / sd


def score(task: Task, z: np.ndarray, strength: np.ndarray | None = None) -> np.ndarray:
    """The task's raw score (n,): version 1 from z (n, N_TRAITS); version 2 when the interests' strengths
    (n, N_INTERESTS), interests.strength of their intensities, are given."""
    if strength is None:
        return task.score(z)
    s = V2_TRAIT_WEIGHT * _v1_score(task, z)
    for name, weight in V2_INTERESTS[task.name]:
        s = s + weight * strength[:, interests.INDEX[name]]
    if task.name in V2_CONJUNCTIONS:
        name, trait, weight = V2_CONJUNCTIONS[task.name]
        s = s + weight * strength[:, interests.INDEX[name]] * 2 / (1 + np.exp(-2 * traits.column(z, trait)))
    return s


@lru_cache(maxsize=2)
def reference_population(world_version: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed population every task (and scenario) is calibrated on, independent of any seed: future traits
    (n, N_TRAITS) and, on world version 2, interest intensities (n, N_INTERESTS)."""
    rng = np.random.default_rng(_REFERENCE_SEED)
    v2 = world_version == 2
    return interests.draw_future(_REFERENCE_USERS_V2 if v2 else _REFERENCE_USERS, rng, v2)


def solve_intercept(z: np.ndarray, slope: float, base_rate: float) -> float:
    """The intercept a at which the mean of 1 - exp(-exp(a + slope * z)) over the scores z is the base rate."""
    lo, hi = -20.0, 10.0
    for _ in range(80):  # bisection: the mean of p is increasing in a
        a = 0.5 * (lo + hi)
        rate = float(np.mean(-np.expm1(-np.exp(a + slope * z))))
        lo, hi = (a, hi) if rate < base_rate else (lo, a)
    return 0.5 * (lo + hi)


@lru_cache(maxsize=2)
def _calibration(world_version: int = 1) -> dict[str, tuple[float, float, float]]:
    """Per task (score mean, score std, intercept a), from the reference population."""
    future, intensity = reference_population(world_version)
    strength = None if intensity is None else interests.strength(intensity)
    out = {}
    for task in TASKS:
        s = score(task, future, strength)
        mu, sd = float(s.mean()), float(s.std())
        out[task.name] = (mu, sd, solve_intercept((s - mu) / sd, task.slope, task.base_rate))
    return out


def label_probabilities(future_traits: np.ndarray, future_interests: np.ndarray | None = None) -> np.ndarray:
    """Oracle probabilities P(y = 1), shape (n, 10), columns in TASK_NAMES order; world version 2 when the future
    interests (n, N_INTERESTS) are given."""
    cal = _calibration(1 if future_interests is None else 2)
    strength = None if future_interests is None else interests.strength(future_interests)
    cols = []
    for task in TASKS:
        mu, sd, a = cal[task.name]
        z = (score(task, future_traits, strength) - mu) / sd
        cols.append(-np.expm1(-np.exp(a + task.slope * z)))
    return np.stack(cols, axis=1)


def draw_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli labels from the oracle probabilities, shape like `probs`, dtype int8."""
    return (rng.random(probs.shape) < probs).astype(np.int8)
