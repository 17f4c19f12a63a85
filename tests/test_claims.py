"""Every paper claim a notebook recorded agrees with its recorded numbers under the one rule of
qa_helpers.series.claims.

`make test` checks the committed figures/metrics_*.json of the default profile; CI then reruns the default profile
end to end (`make reproduce`) and checks the fresh JSON again (.ci/run). Nothing here fixes an outcome: a better
(or worse) model changes the verdicts, and these tests still pass as long as each verdict follows from the numbers
and the numbers are the ones the notebook's tables hold.
"""

import pytest

from qa_helpers.series import claims, config
from qa_helpers.series.outputs import load_metrics, metrics_path

CFG = config.load("default")
WITH_CLAIMS = (
    "04_downstream_evaluation",
    "05_soft_prompt_tuning",
    "07_embedding_geometry",
    "08_ablations_and_scaling",
    "09_your_own_logs",
)


def metrics(notebook: str) -> dict:
    if not metrics_path(notebook, CFG).exists():
        pytest.fail(f"{notebook} has no recorded default-profile metrics: run `make reproduce`")
    return load_metrics(notebook, CFG)


@pytest.mark.claims
@pytest.mark.parametrize("notebook", WITH_CLAIMS)
def test_every_recorded_verdict_follows_from_its_numbers(notebook):
    recorded = metrics(notebook)["claims"]
    assert recorded, f"{notebook} recorded no claims"
    for c in recorded:
        claims.check(c)
        assert c["verdict"] in claims.VERDICTS


@pytest.mark.claims
@pytest.mark.parametrize(
    "notebook, rows_key",
    [("04_downstream_evaluation", "rows"), ("08_ablations_and_scaling", "rows"), ("09_your_own_logs", "rows")],
)
def test_compared_methods_carry_the_numbers_of_the_recorded_tables(notebook, rows_key):
    m = metrics(notebook)
    rows = m[rows_key] + m.get("scale_rows", []) + m.get("model_rows", [])
    for c in m["claims"]:
        if "methods" in c and c["claim"].startswith("long-tail suite"):  # scored on the suite's rows (notebook 04)
            above, below = c["methods"]
            assert tuple(c["above"]) == pytest.approx(tuple(m["suite"]["mean_auc"][above]))
            assert tuple(c["below"]) == pytest.approx(tuple(m["suite"]["mean_auc"][below]))
        elif "methods" in c:
            above, below = c["methods"]
            assert tuple(c["above"]) == pytest.approx(claims.mean_with_interval(rows, above, c["metric"]))
            assert tuple(c["below"]) == pytest.approx(claims.mean_with_interval(rows, below, c["metric"]))


@pytest.mark.claims
def test_04_matched_query_count_is_the_recorded_matrix():
    import numpy as np

    m = metrics("04_downstream_evaluation")
    match = np.array(m["query_match"])
    diag = np.diag(match)
    off = (match.sum(0) - diag) / (len(match) - 1)  # per task's labels (a column), the other queries
    count = next(c for c in m["claims"] if c["kind"] == "count")
    assert count["per_task"] == m["query_match_differences"]
    assert [d for d, _, _ in count["per_task"]] == pytest.approx(list(diag - off))


@pytest.mark.claims
def test_06_fast_paths_equal_the_plain_forward_and_the_update_equals_scratch():
    m = metrics("06_kv_cache_inference")
    assert max(g["max |diff|"] for g in m["gate"]) < 1e-4  # float32 rounding over a few layers
    inc = m["incremental"]
    assert inc["same token masks every day"] and inc["max |diff| of prefix tokens (worst day)"] < 1e-5
    assert inc["events encoded (incremental)"] == inc["new events"]  # exactly the day's new events, nothing else
    assert inc["events encoded (from scratch, same days)"] > 10 * inc["events encoded (incremental)"]


def stated_readings(executed: dict) -> list[str]:
    """The Markdown outputs of an executed notebook that start like claims.reading's."""
    found = []
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown")
            text = "".join(text) if isinstance(text, list) else text
            if text and text.startswith("**On this run**"):
                found.append(text)
    return found


@pytest.mark.claims
@pytest.mark.parametrize("profile", ["smoke", "default"])
@pytest.mark.parametrize("notebook", WITH_CLAIMS)
def test_the_claims_a_notebook_states_are_its_recorded_numbers(notebook, profile):
    """The verdicts and numbers an executed notebook printed are claims.reading of the claims it recorded, so a
    stated claim cannot disagree with its numbers (or with the rule)."""
    import json

    cfg = config.load(profile)
    executed_path = cfg.artifacts_path() / "notebooks" / f"{notebook}.ipynb"
    if not executed_path.exists() or not metrics_path(notebook, cfg).exists():
        pytest.skip(f"no executed {profile} run of {notebook} in this checkout")
    if executed_path.stat().st_mtime < metrics_path(notebook, cfg).stat().st_mtime - 600:
        pytest.skip(f"the executed {notebook} is older than its metrics (metrics copied from another run)")
    stated = stated_readings(json.loads(executed_path.read_text()))
    assert stated, f"{notebook} states no claims reading"
    assert stated[-1] == claims.reading(load_metrics(notebook, cfg)["claims"])
