import csv
import json
import math

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from qa_helpers.synthetic import example_logs

N_USERS = 1600


@pytest.fixture(scope="module")
def data():
    return example_logs.generate(N_USERS, seed=0)


def check_record(record: dict, window_days: int) -> None:
    """Assert that `record` follows the example-logs format of the spec, strictly."""
    numeric = {m["name"]: set(m["numeric"]) for m in example_logs.SPEC["modalities"]}
    assert set(record) == {"user_id", "events"}, "no tabular row, no other keys"
    assert isinstance(record["user_id"], str) and record["user_id"]
    assert record["events"], "a user has at least one event"
    for modality, events in record["events"].items():
        assert modality in numeric
        assert events, "a modality with no events is omitted"
        for ev in events:
            assert set(ev) == {"day", "hour", "text"} | numeric[modality], ev
            assert type(ev["day"]) is int and 0 <= ev["day"] < window_days, ev
            assert type(ev["hour"]) is int and 0 <= ev["hour"] <= 23, ev
            assert isinstance(ev["text"], str) and ev["text"].strip(), ev
            for f in numeric[modality]:
                assert type(ev[f]) is float and math.isfinite(ev[f]) and ev[f] >= 0, ev


def count_features(records: list[dict]) -> np.ndarray:
    """Per modality: events and events in the last 15 days; per genre: events; watch: on TV, with ads, in 4K."""
    genres = [*example_logs.GENRES, "account"]
    rows = []
    for rec in records:
        ev = rec["events"]
        row = []
        for m in example_logs.MODALITIES:
            row += [len(ev.get(m, [])), sum(e["day"] >= example_logs.WINDOW_DAYS - 15 for e in ev.get(m, []))]
        by_genre = dict.fromkeys(genres, 0)
        for m, events in ev.items():
            for e in events:
                by_genre[example_logs.genre_of(m, e["text"])] += 1
        row += list(by_genre.values())
        row += [sum(tag in e["text"] for e in ev.get("watch", [])) for tag in (" on TV", "with ads", "in 4K")]
        rows.append(row)
    return np.array(rows, dtype=float)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = example_logs.generate(150, seed=3), example_logs.generate(150, seed=3), example_logs.generate(150, seed=4)
    assert a.records == b.records and a.future_records == b.future_records
    for t in example_logs.TASKS:
        np.testing.assert_array_equal(a.labels[t], b.labels[t])
    assert a.records != c.records


def test_records_follow_the_format(data):
    assert len(data.records) == len(data.future_records) == N_USERS
    for rec, fut in zip(data.records, data.future_records):
        check_record(rec, example_logs.WINDOW_DAYS)
        check_record(fut, example_logs.FUTURE_DAYS)
        assert rec["user_id"] == fut["user_id"]
        for events in rec["events"].values():
            assert events == sorted(events, key=lambda e: (e["day"], e["hour"]))
    assert len({r["user_id"] for r in data.records}) == N_USERS
    json.dumps(data.records)


def test_records_pass_the_project_validator(data):
    spec_mod = pytest.importorskip("qa_helpers.method.spec")
    from qa_helpers.method.schema import check_records

    spec = spec_mod.DatasetSpec.from_dict(example_logs.SPEC)
    assert spec.event_modalities == example_logs.MODALITIES and spec.tabular == 0 and spec.window_days == 60
    check_records(data.records, spec, "example history")
    check_records(data.future_records, spec.with_window(example_logs.FUTURE_DAYS), "example future")


def test_spec_modalities_and_shape(data):
    assert (
        example_logs.SPEC["tabular"] == 0
        and example_logs.SPEC["window_days"] == example_logs.WINDOW_DAYS == 60
        and example_logs.FUTURE_DAYS == 30
    )
    assert [m["name"] for m in example_logs.SPEC["modalities"]] == ["watch", "listen", "read", "query"]
    used = {m for rec in data.records for m in rec["events"]}
    assert used == set(example_logs.MODALITIES)
    for m in example_logs.MODALITIES:  # every modality is common, none universal except (nearly) watch
        assert 0.5 < np.mean([m in rec["events"] for rec in data.records]) <= 1.0
    n = np.array([sum(map(len, rec["events"].values())) for rec in data.records])
    assert n.mean() > 1.1 * np.median(n) and n.max() > 4 * np.median(n)  # heavy right tail


def test_every_text_has_its_genre(data):
    for rec in data.records[:300] + data.future_records[:300]:
        for m, events in rec["events"].items():
            for ev in events:
                assert example_logs.genre_of(m, ev["text"]) in (*example_logs.GENRES, "account"), (m, ev["text"])
    assert example_logs.genre_of("query", "an unknown query") is None
    assert example_logs.genre_of("watch", "watched something | no such genre | on TV") is None
    assert (
        len(example_logs.GENRES) >= 8
        and len(data.top_genre) == N_USERS
        and set(data.top_genre) == set(example_logs.GENRES)
    )


def test_label_base_rates(data):
    assert set(data.labels) == set(example_logs.TASKS) and len(example_logs.TASKS) >= 2
    for t, y in data.labels.items():
        assert y.shape == (N_USERS,) and set(np.unique(y)) == {0, 1}
        assert 0.1 <= y.mean() <= 0.4, (t, y.mean())


def test_labels_are_learnable_from_counts_but_not_perfectly(data):
    X = count_features(data.records)
    half = N_USERS // 2
    for t, y in data.labels.items():
        clf = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0).fit(X[:half], y[:half])
        score = roc_auc_score(y[half:], clf.predict_proba(X[half:])[:, 1])
        assert 0.6 < score < 0.95, (t, score)


def test_write_round_trips(tmp_path):
    data = example_logs.write(tmp_path, 60, seed=1)
    read = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    future = [json.loads(line) for line in (tmp_path / "future.jsonl").read_text().splitlines()]
    assert read == data.records and future == data.future_records
    assert json.loads((tmp_path / "spec.json").read_text()) == example_logs.SPEC
    assert json.loads((tmp_path / "tasks.json").read_text()) == example_logs.TASKS
    with open(tmp_path / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["user_id", *example_logs.TASKS]
    assert [r[0] for r in rows[1:]] == [rec["user_id"] for rec in data.records]
    for j, t in enumerate(example_logs.TASKS, start=1):
        np.testing.assert_array_equal([int(r[j]) for r in rows[1:]], data.labels[t])
