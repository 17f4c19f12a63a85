"""The long-tail scenario suite: many scenarios beside the paper's ten tasks, each read from the world's own latent
state and asked by its own natural-language query (datasheet, Changes: the long-tail scenario suite).

The paper's setting is one user embedding serving many business scenarios that are not known when it is made. Ten
known tasks cannot test that: 64 numbers hold ten tasks' scores. The suite has one scenario per broad trait, one
per interest at every INTEREST_STRIDE-th popularity rank (world version 2), and CONJUNCTIONS interests gated by a
broad trait (version 2). Labels are drawn as the ten tasks' are (tasks.py): p = 1 - exp(-exp(a + SLOPE * z)), z the
scenario's score on the future window standardised on the tasks' reference population, a solved for its base rate.
They come from their own random stream, so the world's events, its ten tasks' labels and UserU are untouched.

    suite = scenarios.suite(world_version=2)                 # tuple of Scenario, names unique
    probs, labels = scenarios.labels(future_traits, future_interests, seed)   # (n, S) oracle and int8 labels
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import interests, tasks, traits

SLOPE = 1.5  # b of every scenario
TRAIT_BASE_RATE = 0.15
INTEREST_STRIDE = 6  # interests at popularity ranks 1, 7, 13, ...: 32 of 192, from the most held to the tail
CONJUNCTIONS = 8  # interests at ranks 4, 28, 52, ... (every 24th), each gated by a broad trait not its own
_LABEL_STREAM = 29  # the suite's labels: default_rng([seed, 29]), apart from every stream the world draws from

# one behaviour per broad trait, asked as the next month's (worded from traits.DESCRIPTIONS, unlike UserU's questions)
TRAIT_QUERIES: dict[str, str] = {
    "age": "Will this person pay for insurance, pharmacy or household bills next month?",
    "income": "Will this person buy a premium, high-priced product next month?",
    "activity_level": "Will this person use many services of the app, often, next month?",
    "evening_orientation": "Will most of this person's activity next month happen late at night?",
    "social_activity": "Will this person send gifts or money to friends, or eat out with them, next month?",
    "entertainment_interest": "Will this person buy tickets for shows, films or music next month?",
    "eco_mindedness": "Will this person choose green options, like shared bikes or eco products, next month?",
    "takeout_habit": "Will this person order food delivery several times next month?",
    "price_sensitivity": "Will this person hunt for the lowest price before buying next month?",
    "promo_sensitivity": "Will this person use coupons or sale discounts next month?",
    "brand_loyalty": "Will this person shop at the flagship stores of brands they like next month?",
    "wealth_interest": "Will this person buy funds or stocks next month?",
    "fraud_propensity": "Will this account send small sums to new payees in the small hours next month?",
    "laundering_pattern": "Will this account pass round sums straight through next month?",
}
# who a conjunction's gate picks out, as a noun phrase
TRAIT_NOUNS: dict[str, str] = {
    "age": "an older customer",
    "income": "a well-off customer",
    "activity_level": "a heavy app user",
    "evening_orientation": "a night owl",
    "social_activity": "a sociable customer",
    "entertainment_interest": "a keen show-goer",
    "eco_mindedness": "a green-minded customer",
    "takeout_habit": "a regular delivery customer",
    "price_sensitivity": "a price-conscious customer",
    "promo_sensitivity": "a coupon hunter",
    "brand_loyalty": "a brand-loyal shopper",
    "wealth_interest": "an active investor",
    "fraud_propensity": "a risky account",
    "laundering_pattern": "an account that passes money through",
}


@dataclass(frozen=True)
class Scenario:
    name: str  # "trait:income", "interest:jazz" or "interest:jazz & night owl"
    query: str  # the scenario's own question
    trait: str | None  # the broad trait it reads (trait scenarios), or that gates its interest (conjunctions)
    interest: str | None  # the interest it reads
    base_rate: float  # design base rate

    @property
    def kind(self) -> str:
        return "trait" if self.interest is None else "interest" if self.trait is None else "conjunction"


def _interest_base_rate(interest: interests.Interest) -> float:
    """0.02 plus half the interest's design popularity (the chance an average user holds it)."""
    return 0.02 + 0.5 * interests.MOST_POPULAR * interest.rank**-interests.POPULARITY_EXPONENT


def _gate(interest: interests.Interest, k: int) -> str:
    """The k-th conjunction's broad trait: the trait list in order from position k, skipping the interest's own."""
    order = traits.TRAITS[k % traits.N_TRAITS :] + traits.TRAITS[: k % traits.N_TRAITS]
    return next(t for t in order if t != interest.trait)


@lru_cache(maxsize=2)
def suite(world_version: int) -> tuple[Scenario, ...]:
    """The suite of a world version: the trait scenarios, and on version 2 the interest and conjunction ones."""
    out = [Scenario(f"trait:{t}", TRAIT_QUERIES[t], t, None, TRAIT_BASE_RATE) for t in traits.TRAITS]
    if world_version == 2:
        by_rank = sorted(interests.INTERESTS, key=lambda i: i.rank)
        for i in by_rank[::INTEREST_STRIDE]:
            query = f"Will this user spend on {i.name} next month?"
            out.append(Scenario(f"interest:{i.name}", query, None, i.name, _interest_base_rate(i)))
        for k, i in enumerate(by_rank[3::24][:CONJUNCTIONS]):
            gate = _gate(i, k)
            noun = TRAIT_NOUNS[gate]
            query = f"Is this {noun} who will spend on {i.name} next month?"
            name = f"interest:{i.name} & {noun.split(' ', 1)[1]}"
            out.append(Scenario(name, query, gate, i.name, _interest_base_rate(i)))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise AssertionError("scenario names must be unique")
    return tuple(out)


def names(world_version: int) -> tuple[str, ...]:
    return tuple(s.name for s in suite(world_version))


def score(scenario: Scenario, future_traits: np.ndarray, strength: np.ndarray | None) -> np.ndarray:
    """(n,) raw score of a scenario: a trait's value; an interest's strength log(1 + intensity); a conjunction's
    strength times 2 sigmoid(2 gate trait), as Takeout's conjunction in tasks.py."""
    if scenario.interest is None:
        return traits.column(future_traits, scenario.trait)
    if strength is None:
        raise ValueError(f"scenario {scenario.name} reads an interest: give the interests' intensities")
    s = strength[:, interests.INDEX[scenario.interest]]
    if scenario.trait is not None:
        s = s * 2 / (1 + np.exp(-2 * traits.column(future_traits, scenario.trait)))
    return s


@lru_cache(maxsize=2)
def _calibration(world_version: int) -> dict[str, tuple[float, float, float]]:
    """Per scenario (score mean, score std, intercept a) on the ten tasks' reference population."""
    future, intensity = tasks.reference_population(world_version)
    strength = None if intensity is None else interests.strength(intensity)
    out = {}
    for scenario in suite(world_version):
        s = score(scenario, future, strength)
        mu, sd = float(s.mean()), float(s.std())
        out[scenario.name] = (mu, sd, tasks.solve_intercept((s - mu) / sd, SLOPE, scenario.base_rate))
    return out


def label_probabilities(future_traits: np.ndarray, future_interests: np.ndarray | None = None) -> np.ndarray:
    """Oracle probabilities (n, S), columns in suite order: world version 2's suite when the future interests
    (n, N_INTERESTS) are given, else version 1's."""
    version = 1 if future_interests is None else 2
    cal = _calibration(version)
    strength = None if future_interests is None else interests.strength(future_interests)
    cols = []
    for scenario in suite(version):
        mu, sd, a = cal[scenario.name]
        z = (score(scenario, future_traits, strength) - mu) / sd
        cols.append(-np.expm1(-np.exp(a + SLOPE * z)))
    return np.stack(cols, axis=1)


def draw_labels(probs: np.ndarray, seed: int) -> np.ndarray:
    """Bernoulli labels (n, S) int8 from the suite's own random stream of the world's seed."""
    return tasks.draw_labels(probs, np.random.default_rng([seed, _LABEL_STREAM]))


def labels(future_traits: np.ndarray, future_interests: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(probs, labels), each (n, S): the suite's oracle and labels for users of a world with this seed (a World's
    downstream users: its future_traits and future_interests of the "downstream" split)."""
    probs = label_probabilities(future_traits, future_interests)
    return probs, draw_labels(probs, seed)
