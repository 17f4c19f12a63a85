"""The one rule that turns recorded numbers into a claim's verdict (qa_helpers.claims)."""

import pytest

from qa_helpers import claims


def test_a_difference_is_real_only_beyond_both_half_widths():
    assert claims.difference_verdict(0.70, 0.68, 0.72, 0.66, 0.64, 0.68) == "reproduced"  # d 0.04 > 0.02
    assert claims.difference_verdict(0.66, 0.64, 0.68, 0.70, 0.68, 0.72) == "reversed"
    assert claims.difference_verdict(0.70, 0.68, 0.72, 0.69, 0.67, 0.71) == "inside the noise"
    # the wider interval decides: 0.04 is not beyond a half-width of 0.05
    assert claims.difference_verdict(0.70, 0.65, 0.75, 0.66, 0.65, 0.67) == "inside the noise"
    with pytest.raises(ValueError, match="above its high end"):
        claims.difference_verdict(0.9, 0.3, 0.2, 0.5, 0.4, 0.6)


def test_counts_against_a_fair_coin():
    assert [claims.count_verdict(k, 10) for k in range(11)] == (
        ["reversed"] * 3 + ["inside the noise"] * 5 + ["reproduced"] * 3
    )
    with pytest.raises(ValueError):
        claims.count_verdict(11, 10)


def test_check_recomputes_and_catches_a_typed_verdict():
    c = claims.difference_claim("A above B", (0.7, 0.68, 0.72), (0.6, 0.58, 0.62), paper="+0.1")
    claims.check(c)
    assert c["verdict"] == "reproduced" and c["difference"] == pytest.approx(0.1)
    with pytest.raises(AssertionError, match="the numbers say 'reproduced'"):
        claims.check({**c, "verdict": "inside the noise"})
    n = claims.count_claim("wins", 8, 10)
    claims.check(n)
    assert claims.table([c, n]).loc["wins", "ours"] == "8 of 10"


def test_reading_states_every_claim_with_its_verdict_and_the_rule():
    recorded = [
        claims.difference_claim("a above b", (0.70, 0.68, 0.72), (0.60, 0.58, 0.62), paper="0.8 vs 0.7"),
        claims.count_claim("wins", 2, 10),
    ]
    text = claims.reading(recorded)
    assert "*a above b*: **reproduced**" in text and "*wins*: **reversed**" in text
    assert "1 reproduced, 1 reversed, 0 inside the noise" in text
    assert text.endswith(claims.RULE)


def test_reading_refuses_a_claim_whose_verdict_disagrees_with_its_numbers():
    tampered = claims.difference_claim("a above b", (0.61, 0.55, 0.67), (0.60, 0.54, 0.66))
    tampered["verdict"] = "reproduced"  # the numbers say inside the noise
    with pytest.raises(AssertionError, match="the numbers say 'inside the noise'"):
        claims.reading([tampered])
