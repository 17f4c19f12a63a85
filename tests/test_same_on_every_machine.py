"""The synthetic world, its ground truth and UserU are the same to the byte on every machine.

A fresh clone of d4e855c on a machine with AVX-512 built other UserU pairs than this one (../shared/evidence/): numpy's
AVX-512 log1p and glibc's differ in the last bit of log1p(2), and UserU's topic scores tie in exact arithmetic
(log(9) / 2 = log(3)), so the last bit picked which topic a user was asked about. Here the platform's exp, log, log1p
and expm1 are made one unit in the last place off, in each direction, as another machine's may be; the world and
UserU must not notice. (numpy's random generators draw from the same streams on every platform; the few libm calls
inside its C distributions cannot be perturbed from Python and are covered by the pinned digests instead.)"""

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from test_useru_pinned import digest, pairs_of

from qa_helpers.series import config
from qa_helpers.synthetic import world
from qa_helpers.useru import builder

PLATFORM_FUNCTIONS = ("exp", "log", "log1p", "expm1")


def off_by_one_ulp(monkeypatch, direction: float) -> None:
    """numpy's and math's exp, log, log1p and expm1 return the next float towards +inf (direction 1) or -inf (-1)."""
    for name in PLATFORM_FUNCTIONS:
        exact_np, exact_math = getattr(np, name), getattr(math, name)
        monkeypatch.setattr(np, name, lambda *a, f=exact_np, **k: np.nextafter(f(*a, **k), direction * np.inf))
        monkeypatch.setattr(math, name, lambda x, f=exact_math: math.nextafter(f(x), direction * math.inf))


def world_and_pairs(cfg) -> tuple[str, str, str]:
    """Digests of the world's records, its ground truth (traits, interests, labels, probabilities) and UserU."""
    w = world.generate(world.WorldSettings.of(cfg))
    rows = pairs_of(w, cfg)
    records = w.pretrain + w.pretrain_future + w.downstream
    return digest(records), digest(world._ground_truth_rows(w)), digest(rows)


def test_log_count_is_the_correctly_rounded_log():
    assert builder.log_count(2) == float.fromhex("0x1.193ea7aad030bp+0")  # log 3 rounded once (glibc log1p: ...030a)
    assert builder.log_count(8) == 2 * builder.log_count(2)  # so log(9) / 2 ties log(3) exactly, as it should
    for n in range(0, 3000, 7):
        with localcontext(prec=60) as ctx:
            assert builder.log_count(n) == float(ctx.ln(Decimal(n + 1)))


def test_a_topic_tie_in_exact_arithmetic_is_broken_by_the_banks_order(monkeypatch):
    """p000060 of the default world: its promo trend (8 events, 3 in the first half) scores log(9) / 2 and its
    food delivery habits (2 events) log(3), a tie whichever way the platform rounds its logs."""
    events = [("bill", {"day": d, "hour": 12}) for d in (1, 2, 3, 50, 60, 70, 80, 85)]
    trend = builder.facet_relevance("promo", events, 90)["promo/trend"]
    for direction in (1, -1):
        with monkeypatch.context() as m:
            off_by_one_ulp(m, direction)
            habits = builder.facet_relevance("takeout", events[:2], 90)["takeout/habits"]
            assert builder.facet_relevance("promo", events, 90)["promo/trend"] == trend == habits


@pytest.mark.parametrize("world_version", [2, 1])
def test_the_world_and_userU_do_not_see_the_platforms_last_bit(monkeypatch, world_version):
    cfg = config.load("smoke", world_version=world_version)
    exact = world_and_pairs(cfg)
    for direction in (1, -1):
        with monkeypatch.context() as m:
            off_by_one_ulp(m, direction)
            assert world_and_pairs(cfg) == exact, f"one ulp towards {direction:+} changed the world or UserU"
