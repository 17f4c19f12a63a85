import copy
import json
import os

import pytest

from qa_helpers import schema
from qa_helpers.schema import RecordError, check_records, read_records, validate_record, write_records

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
    validate_record(GOOD, n_tabular=3)
    validate_record({"user_id": "u2", "events": {"app": [{"day": 0, "hour": 0, "text": "installed app X"}]}})
    validate_record({"user_id": "u3", "tabular": [0.5]})  # tabular only
    validate_record({"user_id": "u4", "events": {"search": [{"day": 89, "hour": 23, "text": "a custom text"}]}})


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
    ("bill without amount", changed(("events", "bill", 0, "amount"), delete=True), "bill events need an amount"),
    ("amount on a search event", changed(("events", "search", 0, "amount"), 1.0), "only bill events carry an amount"),
    ("negative amount", changed(("events", "bill", 0, "amount"), -3), "negative amount"),
    ("non-finite tabular", changed(("tabular", 1), float("nan")), "tabular[1]: non-numeric or non-finite"),
    ("unknown field", changed(("email",), "x"), "email: unknown field"),
    ("unknown event field", changed(("events", "bill", 0, "merchant"), "x"), "unknown event field"),
    ("not an object", ["u1"], "expected a JSON object"),
]


@pytest.mark.parametrize("name,record,message", BAD, ids=[b[0] for b in BAD])
def test_bad_records_are_rejected_with_a_named_problem(name, record, message):
    with pytest.raises(RecordError) as err:
        validate_record(record, where="logs.jsonl record 7", n_tabular=4 if name == "wrong tabular length" else None)
    text = str(err.value)
    assert message in text
    assert text.startswith("logs.jsonl record 7")
    if isinstance(record, dict) and isinstance(record.get("user_id"), str):
        assert f"user {record['user_id']!r}" in text


def test_duplicate_ids_and_inconsistent_tabular_widths():
    with pytest.raises(RecordError, match="record 2.*duplicate user id 'u1'"):
        check_records([GOOD, GOOD], "f")
    other = dict(GOOD, user_id="u2", tabular=[1.0])
    with pytest.raises(RecordError, match="record 2.*wrong tabular length 1"):
        check_records([GOOD, other], "f")


def test_round_trip_and_malformed_line(tmp_path):
    path = tmp_path / "users.jsonl"
    records = [GOOD, dict(GOOD, user_id="u2")]
    write_records(path, records, n_tabular=3)
    assert read_records(path, n_tabular=3) == records
    path.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(RecordError, match=r"users.jsonl:2: malformed JSON"):
        read_records(path)


def test_a_bad_record_is_never_written(tmp_path):
    path = tmp_path / "users.jsonl"
    with pytest.raises(RecordError):
        write_records(path, [GOOD, {"user_id": "u2"}])
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
