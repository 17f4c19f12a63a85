"""The README's results section is generated from the committed metrics JSON and matches it."""

import pytest

from qa_helpers import config, results_page
from qa_helpers.outputs import load_metrics


def test_readme_results_match_the_recorded_metrics():
    text = results_page.README.read_text()
    block = text[text.index(results_page.START) : text.index(results_page.END) + len(results_page.END)]
    assert block == results_page.render(), "README results are stale: run `python -m qa_helpers results`"


def test_every_recorded_method_is_in_the_table_with_its_numbers():
    cfg = config.load("default")
    table = results_page.render(cfg)
    for r in load_metrics("04_downstream_evaluation", cfg)["rows"]:
        if r["task"] == "Avg" and r["probe"] != "mlp":
            assert f"| {r['method']} | {r['probe']} | {r['auc']:.3f} [" in table


def test_update_readme_round_trip(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results_page.START}\nold\n{results_page.END}\nrest\n")
    assert results_page.update_readme(readme) is True
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "old" not in text
    assert results_page.update_readme(readme) is False  # idempotent


def test_update_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match="no results markers"):
        results_page.update_readme(readme)
