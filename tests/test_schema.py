import copy
import json
import os

import pytest

from qa_helpers.method import schema
from qa_helpers.method.schema import (
    RecordError,
    check_records,
    find_problems,
    read_records,
    record_problems,
    validate_record,
    write_records,
)
from qa_helpers.method.spec import DatasetSpec, Modality, SpecError
from qa_helpers.synthetic import catalog

WORLD = tuple(Modality(m, 8, ("amount",) if m == "bill" else ()) for m in catalog.EVENT_MODALITIES)
SPEC = DatasetSpec(WORLD, tabular=3)  # the synthetic world's modalities, a 3-wide tabular row

GOOD = {
    "user_id": "u1",
    "events": {
        "bill": [{"day": 3, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance", "amount": 32.5}],
        "search": [{"day": 80, "hour": 9, "text": "weather tomorrow"}],
    },
    "tabular": [1.0, 2.0, 3.0],
}


def changed(path, value=None, delete=False):
    rec = copy.deepcopy(GOOD)
    *parents, last = path
    node = rec
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return rec


def test_good_record_and_partial_modalities_are_valid():
    validate_record(GOOD, SPEC)
    validate_record({"user_id": "u2", "events": {"app": [{"day": 0, "hour": 0, "text": "installed app X"}]}}, SPEC)
    validate_record({"user_id": "u3", "tabular": [0.5, 1, 2]}, SPEC)  # tabular only
    validate_record({"user_id": "u4", "events": {"search": [{"day": 89, "hour": 23, "text": "a custom text"}]}}, SPEC)


BAD = [
    ("unknown modality", changed(("events", "email"), []), "events.email: unknown modality"),
    ("non-numeric amount", changed(("events", "bill", 0, "amount"), "32.5"), "events.bill[0].amount: non-numeric"),
    ("timestamp outside the window", changed(("events", "bill", 0, "day"), 90), "timestamp outside the 90-day window"),
    ("negative day", changed(("events", "search", 0, "day"), -1), "events.search[0].day: timestamp outside"),
    ("wrong tabular length", GOOD, "wrong tabular length: expected 4 values, got 3"),
    ("empty record", {"user_id": "u9", "events": {}}, "empty record"),
    ("empty lists only", {"user_id": "u9", "events": {"bill": [], "app": []}}, "empty record"),
    ("missing user id", changed(("user_id",), delete=True), "user_id: missing"),
    ("missing text", changed(("events", "search", 0, "text"), "  "), "events.search[0].text: missing or empty"),
    ("hour out of range", changed(("events", "bill", 0, "hour"), 24), "events.bill[0].hour: expected an integer"),
    ("day not an integer", changed(("events", "bill", 0, "day"), 3.5), "expected an integer day offset"),
    ("bool as day", changed(("events", "bill", 0, "day"), True), "expected an integer day offset"),
    ("events not a list", changed(("events", "bill"), {"day": 1}), "events.bill: expected a list"),
    ("bill without amount", changed(("events", "bill", 0, "amount"), delete=True), "bill events need 'amount'"),
    ("amount on a search event", changed(("events", "search", 0, "amount"), 1.0), "unknown event field; search"),
    ("negative amount", changed(("events", "bill", 0, "amount"), -3), "negative amount"),
    ("non-finite tabular", changed(("tabular", 1), float("nan")), "tabular[1]: non-numeric or non-finite"),
    ("unknown field", changed(("email",), "x"), "email: unknown field"),
    ("unknown event field", changed(("events", "bill", 0, "merchant"), "x"), "unknown event field"),
    ("not an object", ["u1"], "expected a JSON object"),
]


@pytest.mark.parametrize("name,record,message", BAD, ids=[b[0] for b in BAD])
def test_bad_records_are_rejected_with_a_named_problem(name, record, message):
    with pytest.raises(RecordError) as err:
        spec = DatasetSpec(WORLD, tabular=4) if name == "wrong tabular length" else SPEC
        validate_record(record, spec, where="logs.jsonl record 7")
    text = str(err.value)
    assert message in text
    assert text.startswith("logs.jsonl record 7")
    if isinstance(record, dict) and isinstance(record.get("user_id"), str):
        assert f"user {record['user_id']!r}" in text


def test_duplicate_ids_and_inconsistent_tabular_widths():
    with pytest.raises(RecordError, match="record 2.*duplicate user id 'u1'"):
        check_records([GOOD, GOOD], SPEC, "f")
    other = dict(GOOD, user_id="u2", tabular=[1.0])
    with pytest.raises(RecordError, match="record 2.*wrong tabular length: expected 3 values, got 1"):
        check_records([GOOD, other], SPEC, "f")


def test_every_problem_is_listed_with_record_user_and_field():
    bad = changed(("events", "bill", 0, "amount"), -1)
    bad["events"]["search"][0]["hour"] = 25
    bad["events"]["email"] = []
    bad["user_id"] = "u2"
    assert [f for f, _ in record_problems(bad, SPEC)] == [
        "events.bill[0].amount",
        "events.search[0].hour",
        "events.email",
    ]
    found = list(find_problems([GOOD, bad, dict(GOOD), "oops"], SPEC, "logs.jsonl"))
    assert found[0].startswith("logs.jsonl record 2 (user 'u2'): events.bill[0].amount: negative amount -1")
    assert found[3] == "logs.jsonl record 3 (user 'u1'): user_id: duplicate user id 'u1' (first in logs.jsonl record 1)"
    assert found[4] == "logs.jsonl record 4: record: expected a JSON object, got str"
    assert len(found) == 5


def test_a_spec_decides_the_modalities_fields_and_tabular_row():
    spec = DatasetSpec((Modality("watch", 4, ("minutes",)), Modality("query", 2)), tabular=0, window_days=30)
    ok = {"user_id": "s1", "events": {"watch": [{"day": 29, "hour": 1, "text": "a film", "minutes": 90}]}}
    validate_record(ok, spec)
    with pytest.raises(RecordError, match=r"events.bill: unknown modality; the spec declares \['watch', 'query'\]"):
        validate_record(GOOD, spec)
    with pytest.raises(RecordError, match="events.watch\\[0\\].minutes: watch events need 'minutes'"):
        validate_record({"user_id": "s2", "events": {"watch": [{"day": 1, "hour": 1, "text": "x"}]}}, spec)
    with pytest.raises(RecordError, match="tabular: the spec declares no tabular row"):
        validate_record(dict(ok, tabular=[1.0]), spec)
    with pytest.raises(RecordError, match="outside the 30-day window: day 30"):
        validate_record({"user_id": "s3", "events": {"query": [{"day": 30, "hour": 1, "text": "x"}]}}, spec)


def test_spec_round_trip_and_bad_specs_name_the_field(tmp_path):
    spec = DatasetSpec((Modality("watch", 4, ("minutes",)), Modality("query", 2)), tabular=5, window_days=30)
    spec.save(tmp_path / "spec.json")
    assert DatasetSpec.load(tmp_path / "spec.json") == spec
    assert spec.all_modalities == ("watch", "query", "tabular") and spec.n_numeric == 3
    assert spec.with_caps((1, 1)).caps == (1, 1)
    good = spec.to_dict()
    for change, message in [
        ({"modalities": []}, "modalities: expected a non-empty list"),
        ({"modalities": [{"name": "watch", "cap": 0}]}, r"modalities\[0\].cap: expected a positive integer"),
        ({"modalities": [{"name": "watch", "cap": 2}, {"name": "watch", "cap": 1}]}, "duplicate modality 'watch'"),
        ({"modalities": [{"name": "tabular", "cap": 2}]}, "'tabular' is reserved"),
        ({"modalities": [{"name": "a b", "cap": 2}]}, r"modalities\[0\].name: expected a name"),
        ({"modalities": [{"name": "w", "cap": 2, "numeric": ["day"]}]}, r"modalities\[0\].numeric"),
        ({"modalities": [{"name": "w", "cap": 2, "kind": "x"}]}, r"modalities\[0\].kind: unknown field"),
        ({"tabular": -1}, "tabular: expected the tabular width"),
        ({"window_days": "90"}, "window_days: expected a positive integer"),
        ({"colour": "red"}, "colour: unknown field"),
    ]:
        with pytest.raises(SpecError, match=message):
            DatasetSpec.from_dict({**good, **change}, "my_spec.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(SpecError, match="broken.json: malformed JSON"):
        DatasetSpec.load(tmp_path / "broken.json")
    with pytest.raises(SpecError, match="no such spec file"):
        DatasetSpec.load(tmp_path / "missing.json")


def test_round_trip_and_malformed_line(tmp_path):
    path = tmp_path / "users.jsonl"
    records = [GOOD, dict(GOOD, user_id="u2")]
    write_records(path, records, SPEC)
    assert read_records(path, SPEC) == records
    path.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(RecordError, match=r"users.jsonl line 2: malformed JSON"):
        read_records(path, SPEC)


def test_a_bad_record_is_never_written(tmp_path):
    path = tmp_path / "users.jsonl"
    with pytest.raises(RecordError):
        write_records(path, [GOOD, {"user_id": "u2"}], SPEC)
    assert not path.exists()


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    schema.atomic_write_text(path, "old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(schema.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        schema.atomic_write_text(path, "new content")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]  # no temporary file left behind


def test_atomic_write_replaces_in_one_step(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    schema.atomic_write_text(path, "old")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((open(src).read(), open(dst).read()))  # the new text is complete before the swap
        real_replace(src, dst)

    monkeypatch.setattr(schema.os, "replace", spy)
    schema.atomic_write_text(path, "new")
    assert seen == [("new", "old")] and path.read_text() == "new"


def test_the_quick_check_of_an_event_agrees_with_the_full_one(monkeypatch):
    """Events mutated at random (types, ranges, fields): record_problems lists the same problems with the quick check
    of plainly valid events as with the full check alone, so the quick path hides nothing."""
    import numpy as np

    rng = np.random.default_rng(0)
    values = [0, 5, 89, 90, -1, 23, 24, 2.0, True, None, "3", "", "  ", "pay", float("nan"), float("inf"), 1e308, -0.5]
    records = []
    for _ in range(400):
        record = copy.deepcopy(GOOD)
        ev = record["events"]["bill"][0]
        for _ in range(rng.integers(0, 3)):
            field = ["day", "hour", "text", "amount", "extra"][rng.integers(5)]
            if rng.random() < 0.2:
                ev.pop(field, None)
            else:
                ev[field] = values[rng.integers(len(values))]
        records.append(record)
    quick = [schema.record_problems(r, SPEC) for r in records]
    monkeypatch.setattr(schema, "_plainly_valid", lambda *args: False)
    assert quick == [schema.record_problems(r, SPEC) for r in records]
    assert any(quick) and not all(quick)  # both kinds were drawn
