"""The user-record schema (JSONL, one user per line), its validator, and atomic readers/writers.

A record, as a user would write one for their own logs:

    {"user_id": "u42",
     "events": {"bill":   [{"day": 3, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance",
                            "amount": 32.5}],
                "search": [{"day": 80, "hour": 9, "text": "weather tomorrow"}]},
     "tabular": [0.1, 3.0, ...]}

- `events` maps a modality (bill, mini, spm, app, search) to a list of events; any subset may be present.
- Every event has `day` (integer, 0 <= day < window_days, 0 = first day of the window), `hour` (integer 0..23)
  and a non-empty `text`; bill events also carry a numeric `amount` (yuan, >= 0).
- `tabular` (optional) is a list of exactly F finite numbers.
- A record with no events and no tabular row is empty and rejected; nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

EVENT_MODALITIES = ("bill", "mini", "spm", "app", "search")
_RECORD_KEYS = {"user_id", "events", "tabular"}
_EVENT_KEYS = {"day", "hour", "text", "amount"}


class RecordError(ValueError):
    """A user record that does not follow the schema; the message names the record and the field."""


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def validate_record(record, where: str = "record", n_tabular: int | None = None, window_days: int = 90) -> None:
    """Raise RecordError naming `where` and the field if `record` breaks the schema.

    `n_tabular`: the required tabular length F (None: any length >= 1). `window_days`: days in the window.
    """

    def fail(field: str, problem: str):
        uid = record.get("user_id") if isinstance(record, dict) else None
        who = f"{where} (user {uid!r})" if isinstance(uid, str) else where
        raise RecordError(f"{who}: {field}: {problem}")

    if not isinstance(record, dict):
        fail("record", f"expected a JSON object, got {type(record).__name__}")
    unknown = set(record) - _RECORD_KEYS
    if unknown:
        fail(sorted(unknown)[0], f"unknown field; allowed fields are {sorted(_RECORD_KEYS)}")
    if not isinstance(record.get("user_id"), str) or not record["user_id"]:
        fail("user_id", "missing or not a non-empty string")
    events = record.get("events", {})
    if not isinstance(events, dict):
        fail("events", f"expected an object mapping modality to a list of events, got {type(events).__name__}")
    n_events = 0
    for modality, evs in events.items():
        if modality not in EVENT_MODALITIES:
            fail(f"events.{modality}", f"unknown modality; expected one of {list(EVENT_MODALITIES)}")
        if not isinstance(evs, list):
            fail(f"events.{modality}", f"expected a list of events, got {type(evs).__name__}")
        for j, ev in enumerate(evs):
            path = f"events.{modality}[{j}]"
            if not isinstance(ev, dict):
                fail(path, f"expected an event object, got {type(ev).__name__}")
            extra = set(ev) - _EVENT_KEYS
            if extra:
                fail(f"{path}.{sorted(extra)[0]}", f"unknown event field; allowed fields are {sorted(_EVENT_KEYS)}")
            if not isinstance(ev.get("text"), str) or not ev["text"].strip():
                fail(f"{path}.text", "missing or empty text")
            day = ev.get("day")
            if not _is_int(day):
                fail(f"{path}.day", f"expected an integer day offset, got {day!r}")
            if not 0 <= day < window_days:
                fail(f"{path}.day", f"timestamp outside the {window_days}-day window: day {day}")
            hour = ev.get("hour")
            if not _is_int(hour) or not 0 <= hour <= 23:
                fail(f"{path}.hour", f"expected an integer hour 0..23, got {hour!r}")
            if modality == "bill":
                if "amount" not in ev:
                    fail(f"{path}.amount", "bill events need an amount")
                if not _is_number(ev["amount"]):
                    fail(f"{path}.amount", f"non-numeric amount {ev['amount']!r}")
                if ev["amount"] < 0:
                    fail(f"{path}.amount", f"negative amount {ev['amount']}")
            elif "amount" in ev:
                fail(f"{path}.amount", f"only bill events carry an amount, not {modality} events")
        n_events += len(evs)
    tab = record.get("tabular")
    if tab is not None:
        if not isinstance(tab, list) or not tab:
            fail("tabular", "expected a non-empty list of numbers")
        if n_tabular is not None and len(tab) != n_tabular:
            fail("tabular", f"wrong tabular length: expected {n_tabular} values, got {len(tab)}")
        for k, v in enumerate(tab):
            if not _is_number(v):
                fail(f"tabular[{k}]", f"non-numeric or non-finite value {v!r}")
    if n_events == 0 and tab is None:
        fail("record", "empty record: no events in any modality and no tabular row")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Atomically write one JSON object per line."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    """Read one JSON object per line; blank lines are skipped, a malformed line is an error naming it."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise RecordError(f"{path}:{lineno}: malformed JSON ({e.msg})") from None
    return rows


def write_records(path: Path, records: list[dict], n_tabular: int | None = None, window_days: int = 90) -> None:
    """Validate every record, then write them atomically."""
    check_records(records, str(path), n_tabular, window_days)
    write_jsonl(path, records)


def read_records(path: Path, n_tabular: int | None = None, window_days: int = 90) -> list[dict]:
    """Read and validate user records (for example your own logs) from a JSONL file."""
    records = read_jsonl(path)
    check_records(records, str(path), n_tabular, window_days)
    return records


def check_records(records: list, source: str, n_tabular: int | None = None, window_days: int = 90) -> None:
    """Validate a list of records: each against the schema, a common tabular length, unique user ids."""
    seen: dict[str, int] = {}
    widths = set()
    for i, rec in enumerate(records):
        where = f"{source} record {i + 1}"
        validate_record(rec, where, n_tabular, window_days)
        if rec["user_id"] in seen:
            raise RecordError(
                f"{where}: user_id: duplicate user id {rec['user_id']!r} (first in record {seen[rec['user_id']] + 1})"
            )
        seen[rec["user_id"]] = i
        if rec.get("tabular") is not None:
            widths.add(len(rec["tabular"]))
            if len(widths) > 1:
                raise RecordError(
                    f"{where}: tabular: wrong tabular length {len(rec['tabular'])}; earlier records "
                    f"have {sorted(widths - {len(rec['tabular'])})[0]}"
                )
