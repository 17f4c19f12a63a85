"""No measured number is typed into a notebook's prose: what a chapter says about its own run is rendered from its
recorded numbers (qa_helpers/series/readings.py, claims.reading), so another seed, profile or model cannot contradict
it.

The markdown cells of every notebook may hold settings (integers, the profile's knobs), section and equation
references, and the paper's numbers; anything that looks like a measurement (a decimal, a percentage, a
speed-up, a duration or a size, a number with thousands separators) must be one of the paper's numbers in
qa_helpers/series/paper.py or a setting listed below with its reason.
"""

import re

import jupytext
import pytest

from qa_helpers.series import paper, runner

MEASURED = re.compile(
    r"(?<![\w.§$\\{])"  # not inside a word, a section reference or LaTeX
    r"(\d+(?:\.\d+)?\s?(?:%|x\b|ms\b|s\b|MiB|GiB|min\b|B\b)|\d+\.\d+(?:e-?\d+)?|\d+e-?\d+|\d{1,3}(?:,\d{3})+)"
)
LATEX = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)

SETTINGS = {
    "0.5": "chance AUC / a 0.5 probability; also Qwen2.5-0.5B's name",
    "1.0": "a bound (perfect score, gradient clipping, a temperature in an exercise)",
    "2.0": "the margin an exercise sets",
    "0.8": "the recipe rule's held-out query-swap threshold",
    "0.03": "the recipe rule's tie threshold",
    "1,000": "the number of downstream users notebook 03's read-out uses",
    "1,200": "the number of held-out pairs notebook 03 scores",
    "0.07": "tau (the reference code's default)",
    "0.1": "the margin (the reference code's default)",
    "2e-4": "the paper's learning rate",
    "1e8": "the paper's number of UserU pairs, rounded",
    "1.024e8": "the paper's number of UserU pairs",
    "2,048": "the paper's global batch",
    "500,000": "the paper's users per task",
    "0.5B": "the paper's backbone size",
    "1.5B": "the paper's backbone size",
    "3B": "the paper's backbone size",
    "95%": "the intervals' level",
    "2.5": "the interval's lower percentile",
    "97.5": "the interval's upper percentile",
    "300 x": "a row's name (steps x batch)",
    "5x": "an exercise's threshold",
    "0.010": "an exercise's difference",
    "0.015": "an exercise's half-width",
    "0.004": "an exercise's paired interval",
    "0.016": "an exercise's paired interval",
}


def paper_numbers() -> set[str]:
    """Every number of qa_helpers/series/paper.py, as the prose may write it."""
    values = [v for table in (*paper.MEAN.values(), *paper.MEAN_KS.values()) for v in table.values()]
    values += list(paper.PROMPT_TUNED_TASK_AUC.values()) + list(paper.ATTENTION_SHIFTS.values())
    out = set()
    for v in values:
        out |= {f"{v:.4f}", f"{v:.3f}", f"{v:.2f}", f"{v:.1f}", f"{v:g}"}
        out |= {f"{v:.1f}%", f"{v:g}%"}
    return out


def measured_looking(source: str) -> list[str]:
    return [m.group(1) for m in MEASURED.finditer(LATEX.sub("", source))]


def markdown_cells(path):
    return [c.source for c in jupytext.read(path.with_suffix(".py")).cells if c.cell_type == "markdown"]


def test_the_pattern_catches_typed_measurements():
    typed = "packed 5.1x of 4.5x (112%), 4,963 events, 2 s against 7 s, 86 MiB, AUC 0.652"
    assert measured_looking(typed) == ["5.1x", "4.5x", "112%", "4,963", "2 s", "7 s", "86 MiB", "0.652"]
    assert measured_looking("§3.2.1, Eq. 1-2, 14 traits, $\\tau = 0.07$, Table 10") == []


@pytest.mark.parametrize("path", runner.notebook_paths(), ids=lambda p: p.stem)
def test_no_measured_number_is_typed_into_the_prose(path):
    allowed = paper_numbers() | set(SETTINGS)
    typed = sorted({n for cell in markdown_cells(path) for n in measured_looking(cell) if n not in allowed})
    assert not typed, (
        f"{path.name} types numbers into its prose: {typed}. Render them from the recorded metrics "
        "(qa_helpers/series/readings.py), or add a setting to SETTINGS with its reason."
    )
