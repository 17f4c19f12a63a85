"""Figure checks that a reviewer would otherwise do by eye: distinct legend colours, no empty panels, labels clear of
intervals, axes that fit the data, readable ticks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgb

from qa_helpers.series import plots
from qa_helpers.series.outputs import FONT_SIZES, use_style
from qa_helpers.synthetic import catalog


@pytest.fixture(autouse=True)
def _close_figures():
    use_style()
    yield
    plt.close("all")


def _legend_colors(fig) -> list[str]:
    legend = fig.axes[0].get_legend()
    return [to_hex(h.get_facecolor()[0]) for h in legend.legend_handles]


def _assert_distinct(colors: list[str]) -> None:
    """No colour repeats, and no two are near-twins (24 evenly spaced husl hues come to 0.05 in RGB)."""
    rgb = np.array([to_rgb(c) for c in colors])
    gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[np.triu_indices(len(rgb), 1)]
    assert gaps.min() > 0.08


def _avg_rows(n: int = 9) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i, auc in enumerate(np.sort(rng.uniform(0.6, 0.7, n))):
        half = rng.uniform(0.01, 0.04)
        rows.append(
            {
                "task": "Avg",
                "probe": "linear",
                "method": f"variant {i}",
                "auc": auc,
                "auc_lo": auc - half,
                "auc_hi": auc + half,
            }
        )
    return rows


def test_user_timeline_gives_every_facet_its_own_colour():
    rng = np.random.default_rng(0)
    events = {
        m: [{"text": e.texts[0], "day": int(rng.integers(90)), "hour": int(rng.integers(24))} for e in entries]
        for m, entries in catalog.ENTRIES.items()
    }
    fig, data = plots.user_timeline({"user_id": "u0", "events": events})
    colors = _legend_colors(fig)
    assert len(colors) == len(catalog.FACETS) == 24
    _assert_distinct(colors)
    assert data == {m: len(events.get(m, [])) for m in catalog.EVENT_MODALITIES}


def test_text_space_gives_every_facet_its_own_colour_and_keeps_the_legend_off_the_data():
    facets = sorted(catalog.FACETS) * 3
    vectors = np.random.default_rng(0).normal(size=(len(facets), 8))
    fig, _ = plots.text_space(vectors, facets)
    colors = _legend_colors(fig)
    assert len(colors) == 24
    _assert_distinct(colors)
    fig.canvas.draw()
    legend_box = fig.axes[0].get_legend().get_window_extent()
    assert legend_box.x0 >= fig.axes[0].get_window_extent().x1  # outside, right of the axes


@pytest.mark.parametrize("title", [None, "Ablations"])
def test_mean_scores_labels_clear_the_intervals_and_the_axis_fits_them(title):
    rows = _avg_rows()
    fig, data = plots.mean_scores(rows, "auc", title=title)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo <= min(r["auc_lo"] for r in rows) and hi >= max(r["auc_hi"] for r in rows)
    assert hi - lo < 0.2  # fitted to the data, not a fixed 0.5-1.0
    by_value = {f"{r['auc']:.3f}": r for r in rows}
    assert len(ax.texts) == len(rows)
    for text in ax.texts:
        assert text.get_position()[0] > by_value[text.get_text()]["auc_hi"]
    assert ax.get_title() == (title or "Downstream AUC: every method on the same users, split and probe")
    assert set(data) == {r["method"] for r in rows}


def test_prompt_sweeps_draws_the_intervals_when_given():
    def run(auc, ks):
        return {
            "auc": auc,
            "auc_lo": auc - 0.03,
            "auc_hi": auc + 0.03,
            "ks": ks,
            "ks_lo": ks - 0.05,
            "ks_hi": ks + 0.05,
        }

    tokens = {n: run(0.62, 0.25) for n in (1, 2, 4)}
    steps = {s: run(0.61, 0.24) for s in (50, 100)}
    paper = {
        "tokens": {1: {"auc": 0.8, "ks": 0.4}},
        "steps": {100: {"auc": 0.8, "ks": 0.4}},
        "base": {"auc": 0.79, "ks": 0.39},
    }
    fig, data = plots.prompt_sweeps(tokens, steps, run(0.6, 0.2), paper)
    for ax in fig.axes:
        ymin, ymax = ax.get_ylim()
        assert ymin < -0.02 and ymax > 0.04  # the intervals and Base's band are on the axes
    assert data["auc_vs_prompt_tokens"] == {"1": 0.02, "2": 0.02, "4": 0.02}
    assert data["auc_vs_prompt_tokens_95"]["1"] == pytest.approx([-0.01, 0.05])
    # without intervals it still plots (the older call)
    bare = {n: {"auc": 0.62, "ks": 0.25} for n in (1, 2)}
    plots.prompt_sweeps(bare, bare, {"auc": 0.6, "ks": 0.2}, paper)


def test_serving_speedups_has_no_empty_panel_and_integer_query_ticks():
    rows = [
        {
            "n_q": n,
            "theoretical_speedup": n / 2 + 0.5,
            "packed_speedup": n / 2,
            "batched_speedup": n / 3,
            "sequential_speedup": n / 4,
        }
        for n in (1, 2, 5, 10, 20)
    ]
    fig, data = plots.serving_speedups({f"run {i}": rows for i in range(5)})
    assert len(fig.axes) == 5
    assert all(ax.has_data() for ax in fig.axes)
    fig.canvas.draw()
    for ax in fig.axes:
        assert all(float(t).is_integer() for t in ax.get_xticks())
        assert "speed-up" in ax.get_ylabel()
    assert "seconds" not in fig.get_suptitle()
    assert list(data) == [f"run {i}" for i in range(5)]


def test_query_moves_labels_its_axes():
    xy = np.random.default_rng(0).normal(size=(3 * 4, 2))
    fig, data = plots.query_moves(xy, ["a", "b", "c"], 4)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC 1", "PC 2")
    assert data == {"queries": ["a", "b", "c"], "users": 4}


def test_scaling_curves_tick_labels_do_not_collide():
    series = {
        "data (pairs seen)": ([320, 640, 1280], [0.63, 0.64, 0.65], [0.59, 0.6, 0.62], [0.66, 0.66, 0.68]),
        "backbone parameters": (
            [220_000, 687_000, 1_950_000],
            [0.64, 0.64, 0.61],
            [0.61, 0.6, 0.57],
            [0.67, 0.66, 0.64],
        ),
    }
    fig, _ = plots.scaling_curves(series)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax, (_, ys, _, hi) in zip(fig.axes, series.values()):
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert [t.get_text() for t in labels] in (["320", "640", "1.28k"], ["220k", "687k", "1.95M"])
        boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))
        assert [t.xy[1] for t in ax.texts] == list(np.maximum(hi, ys))  # each value label sits on its upper cap


def test_use_style_sets_one_type_scale():
    assert all(plt.rcParams[k] == v for k, v in FONT_SIZES.items())


def test_pretraining_curves_draw_user_nats_and_every_module_without_an_empty_panel():
    rng = np.random.default_rng(0)
    history = []
    for step in range(1, 21):
        h = {"step": step, "cl": 3 - 0.05 * step, "ntp": 6 - 0.1 * step, "masked_share": 0.01}
        if step % 10 == 0:
            h |= {k: float(rng.uniform(0.1, 0.9)) for k in ("exact_recall@1", "exact_chance@1", "held_out_recall@1")}
            h |= {k: 0.6 for k in ("exact_query_swap_win", "held_out_query_swap_win", "prefix_shuffle_win")}
            h |= {"user_share": 0.5, "query_share": 0.4, "interaction_share": 0.1, "cos_same_query_other_user": 0.5}
            h |= {"user_nats": 0.1 * step, "heldout_loss": 2.0}
            h |= {f"weight_change/{g}": 0.01 * step for g in ("LLM", "head", "encoder adapters")}
        history.append(h)
    fig, data = plots.pretraining_curves(history)
    assert len(fig.axes) == 6 and all(ax.lines for ax in fig.axes)
    assert [line.get_label() for line in fig.axes[5].lines] == ["LLM", "encoder adapters", "head"]
    assert data["eval"][-1]["user_nats"] == 2.0 and data["eval"][-1]["weight_change/head"] == 0.2
