"""The README's results section is generated from the committed metrics JSON and matches it."""

import pytest

from qa_helpers.series import config, results_page
from qa_helpers.series.outputs import load_metrics
from qa_helpers.synthetic import premise


def block(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end) + len(end)]


def test_readme_results_match_the_recorded_metrics():
    text = results_page.README.read_text()
    stale = "README is stale: run `python -m qa_helpers results`"
    assert block(text, results_page.START, results_page.END) == results_page.render(), stale
    assert block(text, results_page.HEADLINE_START, results_page.HEADLINE_END) == results_page.headline(), stale
    assert block(text, results_page.CONTROL_START, results_page.CONTROL_END) == results_page.render_control(), stale


def test_the_readme_opens_with_the_headline():
    text = results_page.README.read_text()
    assert text.index(results_page.HEADLINE_START) < text.index("## ")  # before the first section


def test_headline_states_the_recorded_verdict_and_tally():
    cfg = config.load("default")
    m = load_metrics("04_downstream_evaluation", cfg)
    central = next(c for c in m["claims"] if c.get("methods") == ["Q-Anchor (Base)", results_page.COUNTING])
    text = results_page.headline(cfg)
    assert f"**{central['verdict']}** here" in text
    base_auc = next(r for r in m["rows"] if r["method"] == "Q-Anchor (Base)" and r["task"] == "Avg")["auc"]
    assert f"mean AUC of {base_auc:.3f} [" in text


def test_every_recorded_method_is_in_the_table_with_its_numbers():
    cfg = config.load("default")
    table = results_page.render(cfg)
    for r in load_metrics("04_downstream_evaluation", cfg)["rows"]:
        if r["task"] == "Avg" and r["probe"] != "mlp":
            assert f"| {r['method']} | {r['probe']} | {r['auc']:.3f} [" in table


def test_control_block_states_every_recorded_claim_and_the_premise_verdict(tmp_path):
    import json

    control = json.loads(results_page.CONTROL_RESULTS.read_text())
    assert control["world_version"] == config.load(control["profile"]).world_version == 1
    text = results_page.render_control()
    for c in control["claims"]:
        assert f"| {c['claim']} | {c['difference'][0]:+.3f} [" in text and f"| {c['verdict']} |" in text
    for r in control["rows"]:
        if r["method"] in results_page.CONTROL_METHODS:
            assert f"| {r['method']} | {r['auc']:.3f} [" in text
    gaps = next(iter(control["premise_check"]["gaps"].values()))
    verdict = premise.verdict(gaps.get(premise.SIZE_GAP, gaps.get("full state")))  # read on the size gap
    assert f"**{verdict}**{results_page.MEANING[verdict]})" in text
    readings = {premise.verdict(g) for g in ([0.05, 0.01, 0.09], [0.02, 0.01, 0.03], [0.0, -0.01, 0.01])}
    assert readings == set(results_page.MEANING)  # every reading of the rule has its sentence
    # another run's numbers give another block: nothing in it is typed
    control["claims"][0]["verdict"] = "reversed"
    other = tmp_path / "control.json"
    other.write_text(json.dumps(control))
    assert results_page.render_control(other) != text and "| reversed |" in results_page.render_control(other)


def test_update_readme_round_trip(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n{results_page.HEADLINE_START}\nold\n{results_page.HEADLINE_END}\n"
        f"{results_page.START}\nold\n{results_page.END}\n"
        f"{results_page.CONTROL_START}\nold\n{results_page.CONTROL_END}\nrest\n"
    )
    assert results_page.update_readme(readme) is True
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "old" not in text
    assert results_page.update_readme(readme) is False  # idempotent


def test_update_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match="no markers"):
        results_page.update_readme(readme)


def test_committed_figures_and_metrics_come_from_one_run_of_one_commit():
    """Every figure sidecar, notebook metrics file and run time in figures/ carries one clean git hash: they were
    regenerated together (`make reproduce`); benchmarks write theirs to benchmarks/results/."""
    import json

    folder = config.load("default").figures_path()
    hashes = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        found = [t["git_hash"] for t in data.values()] if path.name == "runtimes.json" else [data["git_hash"]]
        for h in found:
            hashes.setdefault(h, []).append(path.name)
    assert len(hashes) == 1, {h: sorted(names)[:3] for h, names in hashes.items()}
    (only,) = hashes
    assert only != "unknown" and not only.endswith("-dirty"), only
