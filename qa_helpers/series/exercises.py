"""The check behind each notebook exercise: the learner writes a prediction, the notebook computes the outcome.

    PREDICTION = "higher"                        # the learner's guess, before running the check
    exercises.check(PREDICTION, outcome)         # prints the outcome and whether the guess was right

An exercise with no prediction yet (None) still shows the outcome, so a papermill run of the series executes
every exercise and fails if one breaks.
"""

from __future__ import annotations


def check(prediction, outcome, why: str = "") -> bool | None:
    """Print the computed `outcome` next to the learner's `prediction`; True/False when a prediction was given,
    None otherwise. Strings compare case-insensitively; numbers within 1% (or 1e-9)."""
    if prediction is None:
        right = None
        verdict = "set PREDICTION above and run this cell again to check yourself"
    else:
        right = agrees(prediction, outcome)
        verdict = "your prediction was right" if right else f"your prediction ({prediction!r}) was not"
    print(f"outcome: {outcome!r}: {verdict}." + (f" {why}" if why else ""))
    return right


def agrees(prediction, outcome) -> bool:
    if isinstance(outcome, str) or isinstance(prediction, str):
        return str(prediction).strip().lower() == str(outcome).strip().lower()
    if isinstance(outcome, bool) or isinstance(prediction, bool):
        return bool(prediction) == bool(outcome)
    return abs(float(prediction) - float(outcome)) <= max(1e-9, 0.01 * abs(float(outcome)))
