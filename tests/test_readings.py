"""What the notebooks say about their runs is rendered from the numbers: parity with explicit counts, the numbers
appear as recorded, and the exercise checks and run-time records behave."""

import json

import pytest
import torch

from qa_helpers.method import inference
from qa_helpers.series import chapter, exercises, paper, readings, runner


@pytest.mark.parametrize("l_p, l_q, n_q", [(8, 3, 1), (105, 28, 10), (20, 5, 7)])
def test_masked_share_equals_counting_the_packed_mask(l_p, l_q, n_q):
    mask, _, _ = inference.packed_layout(torch.ones(1, l_p, dtype=torch.bool), [l_q] * n_q)
    t = l_p + n_q * l_q
    allowed = int((mask[0, 0] == 0).sum())
    assert readings.masked_share(l_p, l_q, n_q) == pytest.approx(1 - allowed / (t * (t + 1) / 2))


def test_masked_share_grows_with_the_queries_against_the_prefix():
    assert readings.masked_share(100, 20, 1) == 0
    assert readings.masked_share(100, 20, 10) < readings.masked_share(50, 20, 10) < readings.masked_share(50, 20, 20)


def test_serving_reading_states_the_recorded_numbers():
    row = {
        "n_q": 10,
        "L_p": 105,
        "L_q": 28.0,
        "theoretical_speedup": 3.7,
        "packed_speedup": 3.33,
        "packed_fraction_of_theory": 0.9,
        "batched_speedup": 1.85,
        "batched_fraction_of_theory": 0.5,
        "sequential_speedup": 2.96,
        "cache_bytes_per_user": {"full": 0, "sequential": 2**20, "batched": 10 * 2**20, "packed": 0},
    }
    gate = [{"max |diff|": 2e-6, "min cosine": 0.9999997}]
    inc = {
        "days": 10,
        "users": 500,
        "new events": 4963,
        "events encoded (incremental)": 4963,
        "events encoded (from scratch, same days)": 263076,
        "encoder seconds (incremental)": 1.9,
        "encoder seconds (from scratch)": 7.3,
        "max |diff| of prefix tokens (worst day)": 1e-6,
        "expired": 0,
        "same token masks every day": True,
    }
    text = readings.serving(gate, {"run": [row, {**row, "n_q": 20, "packed_fraction_of_theory": 0.6}]}, inc)
    assert "| run | 105 | 3.7x | 3.3x (90%) | 1.9x (50%) | 3.0x (80%) | 60% at n_q = 20 |" in text
    assert "10.0 MiB / 1.0 MiB" in text and "equals the plain forward" in text
    assert "on 1 of 1 runs" in text and "4,963 new events" in text and "263,076" in text and "(53x as many)" in text
    assert "tokens equal encoding from scratch" in text and "No event left the window" in text
    wrong = readings.serving([{"max |diff|": 0.1, "min cosine": 0.9}], {"run": [row]}, {**inc, "expired": 3})
    assert "does NOT equal" in wrong and "3 events left the window" in wrong


def test_other_readings_use_their_inputs():
    assert str(paper.PREFIX_TOKENS) in readings.prefix_length(105) and "105 tokens" in readings.prefix_length(105)
    said = readings.oracle_range({"Concert": 0.61, "Forest": 0.97, "Fraud": 0.9})
    assert "0.61 (Concert) to 0.97 (Forest)" in said
    cost = readings.prompt_cost(4000, 7.9, {"cached prefix": 0.02, "full forward": 0.2}, 16)
    assert "20.0 ms" in cost and "200.0 ms" in cost and "10% of its cost" in cost and "10.0x faster" in cost
    assert "0.0437 (w/o Contrastive)" in readings.ablation_effects(0.01)
    assert "1 of the 6 paper effects (w/o Contrastive)" in readings.ablation_effects(0.01)
    assert "none of the 6" in readings.ablation_effects(0.05)
    assert "no faster" in readings.prompt_cost(10, 1.0, {"cached prefix": 0.3, "full forward": 0.2}, 16)


def test_exercise_check_compares_the_prediction_with_the_outcome(capsys):
    assert exercises.check(None, 0.5) is None
    assert "set PREDICTION" in capsys.readouterr().out
    assert exercises.check("Higher ", "higher") is True
    assert exercises.check(0.69, 0.693) is True
    assert exercises.check(0.5, 0.693) is False
    assert exercises.check("no", True) is False


def test_runtimes_are_recorded_per_profile_and_printed(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "runtimes_path", lambda profile: tmp_path / profile / "runtimes.json")
    assert "not measured yet" in chapter.runtime_line("03_userU_pretraining")
    runner.record_runtime("03_userU_pretraining", "default", 332.3)
    runner.record_runtime("03_userU_pretraining", "smoke", 41.0)
    assert runner.measured_runtimes("03_userU_pretraining") == {"smoke": 41.0, "default": 332.3}
    line = chapter.runtime_line("03_userU_pretraining")
    assert "smoke 41 s" in line and "default 5.5 min" in line
    assert json.loads((tmp_path / "default" / "runtimes.json").read_text())["03_userU_pretraining"]["seconds"] == 332.3
