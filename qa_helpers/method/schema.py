"""The user-record schema (JSONL, one user per line), its validator, and atomic readers/writers.

A record, as a user would write one for their own logs (the modalities and numeric fields come from the dataset's
spec, see spec.py; this one is the synthetic world's):

    {"user_id": "u42",
     "events": {"bill":   [{"day": 3, "hour": 21, "text": "pay Meituan Takeout | food delivery | via balance",
                            "amount": 32.5}],
                "search": [{"day": 80, "hour": 9, "text": "weather tomorrow"}]},
     "tabular": [0.1, 3.0, ...]}

- `events` maps a modality of the spec to a list of events; any subset may be present.
- Every event has `day` (integer, 0 <= day < window_days, 0 = first day of the window), `hour` (integer 0..23),
  a non-empty `text`, and each numeric field its modality declares (finite, >= 0), nothing else.
- `tabular` (optional, only when the spec declares a width F > 0) is a list of exactly F finite numbers.
- A record with no events and no tabular row is empty and rejected; nothing is dropped silently.

`record_problems` lists every problem of a record (the `validate` command prints them all); `validate_record`
raises the first.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .spec import EVENT_FIELDS, DatasetSpec

_RECORD_KEYS = {"user_id", "events", "tabular"}


class RecordError(ValueError):
    """A user record that does not follow the schema; the message names the record and the field."""


def _is_number(x) -> bool:
    """A finite int or float (not a bool) inside the float range (a model reads every number as a float)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    return abs(x) <= sys.float_info.max if isinstance(x, int) else math.isfinite(x)


def _is_unicode(text: str) -> bool:
    """False for a string JSON decoded from a lone surrogate escape ("\\ud800"): no UTF-8 text holds one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def record_problems(record, spec: DatasetSpec) -> list[tuple[str, str]]:
    """Every (field, problem) of `record` against `spec`; empty when the record is valid."""
    if not isinstance(record, dict):
        return [("record", f"expected a JSON object, got {type(record).__name__}")]
    out = []
    for key in sorted(set(record) - _RECORD_KEYS):
        out.append((key, f"unknown field; allowed fields are {sorted(_RECORD_KEYS)}"))
    if not isinstance(record.get("user_id"), str) or not record["user_id"]:
        out.append(("user_id", "missing or not a non-empty string"))
    elif not _is_unicode(record["user_id"]):
        out.append(("user_id", "not valid Unicode (a lone surrogate escape such as \\ud800)"))
    events = record.get("events", {})
    if not isinstance(events, dict):
        out.append(("events", f"expected an object mapping modality to a list of events, got {type(events).__name__}"))
        events = {}
    n_events = 0
    for modality, evs in events.items():
        if modality not in spec.event_modalities:
            out.append((f"events.{modality}", f"unknown modality; the spec declares {list(spec.event_modalities)}"))
            continue
        if not isinstance(evs, list):
            out.append((f"events.{modality}", f"expected a list of events, got {type(evs).__name__}"))
            continue
        numeric = spec.modality(modality).numeric
        for j, ev in enumerate(evs):
            out += [(f"events.{modality}[{j}]{f}", p) for f, p in _event_problems(ev, modality, numeric, spec)]
        n_events += len(evs)
    tab = record.get("tabular")
    if tab is not None:
        if not spec.tabular:
            out.append(("tabular", "the spec declares no tabular row; set 'tabular': F in the spec, or drop the row"))
        elif not isinstance(tab, list) or not tab:
            out.append(("tabular", "expected a non-empty list of numbers"))
        else:
            if len(tab) != spec.tabular:
                out.append(("tabular", f"wrong tabular length: expected {spec.tabular} values, got {len(tab)}"))
            out += [
                (f"tabular[{k}]", f"non-numeric or non-finite value {v!r}")
                for k, v in enumerate(tab)
                if not _is_number(v)
            ]
    if n_events == 0 and tab is None:
        out.append(("record", "empty record: no events in any modality and no tabular row"))
    return out


def _event_problems(ev, modality: str, numeric: tuple[str, ...], spec: DatasetSpec) -> list[tuple[str, str]]:
    """(field suffix, problem) of one event: '' for the event itself, '.day' for its day, and so on."""
    if not isinstance(ev, dict):
        return [("", f"expected an event object, got {type(ev).__name__}")]
    if _plainly_valid(ev, numeric, spec.window_days):
        return []
    out = []
    allowed = list(EVENT_FIELDS) + list(numeric)
    for extra in sorted(set(ev) - set(allowed)):
        out.append((f".{extra}", f"unknown event field; {modality} events carry {allowed}"))
    if not isinstance(ev.get("text"), str) or not ev["text"].strip():
        out.append((".text", "missing or empty text"))
    elif not _is_unicode(ev["text"]):
        out.append((".text", "not valid Unicode (a lone surrogate escape such as \\ud800)"))
    day = ev.get("day")
    if not _is_int(day):
        out.append((".day", f"expected an integer day offset, got {day!r}"))
    elif not 0 <= day < spec.window_days:
        out.append((".day", f"timestamp outside the {spec.window_days}-day window: day {day}"))
    hour = ev.get("hour")
    if not _is_int(hour) or not 0 <= hour <= 23:
        out.append((".hour", f"expected an integer hour 0..23, got {hour!r}"))
    for f in numeric:
        if f not in ev:
            out.append((f".{f}", f"{modality} events need {f!r} (a number >= 0, declared in the spec)"))
        elif not _is_number(ev[f]):
            out.append((f".{f}", f"non-numeric {f} {ev[f]!r}"))
        elif ev[f] < 0:
            out.append((f".{f}", f"negative {f} {ev[f]}"))
    return out


def _plainly_valid(ev: dict, numeric: tuple[str, ...], window_days: int) -> bool:
    """A quick check that passes only events `_event_problems` finds nothing wrong with (plain int and float
    values, exactly the allowed fields); anything else takes the full check, which names each problem."""
    text, day, hour = ev.get("text"), ev.get("day"), ev.get("hour")
    return (
        len(ev) == 3 + len(numeric)
        and type(text) is str
        and bool(text.strip())
        and _is_unicode(text)
        and type(day) is int
        and 0 <= day < window_days
        and type(hour) is int
        and 0 <= hour <= 23
        and all(type(v := ev.get(f)) is float and 0 <= v <= sys.float_info.max for f in numeric)
    )


def validate_record(record, spec: DatasetSpec, where: str = "record") -> None:
    """Raise RecordError naming `where`, the user and the field of the first problem of `record`."""
    problems = record_problems(record, spec)
    if problems:
        raise RecordError(describe(record, where, *problems[0]))


def describe(record, where: str, field: str, problem: str) -> str:
    """'<where> (user <id>): <field>: <problem>'."""
    uid = record.get("user_id") if isinstance(record, dict) else None
    who = f"{where} (user {uid!r})" if isinstance(uid, str) else where
    return f"{who}: {field}: {problem}"


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
    return [row for _, row in _iter_jsonl(path)]


class BadLine(str):
    """What is wrong with a line that is not a JSON value (not UTF-8, malformed JSON): it has no record to check."""


def text_lines(path: Path) -> Iterator[tuple[int, str | BadLine]]:
    """(line number, text or BadLine) of every non-blank line, read lazily as bytes: a byte-order mark at the start
    and CRLF line ends are accepted; a line that is not UTF-8 comes as a BadLine."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            bom = len(codecs.BOM_UTF8) if lineno == 1 and raw.startswith(codecs.BOM_UTF8) else 0
            try:
                line = raw[bom:].decode("utf-8")
            except UnicodeDecodeError as e:
                at = bom + e.start  # counted in the file's bytes, a byte-order mark included
                yield lineno, BadLine(f"not valid UTF-8 (byte 0x{raw[at]:02x} at byte {at + 1} of the line)")
                continue
            if line.strip():
                yield lineno, line


def iter_lines(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON value or BadLine) of every non-blank line (text_lines), read lazily; a line that is
    not UTF-8 or not JSON comes as a BadLine."""
    for lineno, line in text_lines(path):
        if isinstance(line, BadLine):
            yield lineno, line
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            yield lineno, BadLine(f"malformed JSON ({e.msg}, column {e.colno})")
        except RecursionError:
            yield lineno, BadLine("malformed JSON (nested too deeply)")


def _iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON) of every non-blank line, read lazily; a bad line is a RecordError naming it."""
    for lineno, row in iter_lines(path):
        if isinstance(row, BadLine):
            raise RecordError(f"{path}:{lineno}: {row}")
        yield lineno, row


def write_records(path: Path, records: list[dict], spec: DatasetSpec) -> None:
    """Validate every record, then write them atomically."""
    check_records(records, spec, str(path))
    write_jsonl(path, records)


def read_records(path: Path, spec: DatasetSpec) -> list[dict]:
    """Read and validate user records (for example your own logs) from a JSONL file; the first problem raises
    RecordError naming its line ('<file name> line N (user <id>): <field>: <problem>')."""
    path = Path(path)
    rows = list(iter_lines(path))
    for message in problems_of(((f"{path.name} line {lineno}", rec) for lineno, rec in rows), spec):
        raise RecordError(message)
    return [rec for _, rec in rows]


def check_records(records: list, spec: DatasetSpec, source: str = "records") -> None:
    """Validate a list of records against the spec and for unique user ids; raise on the first problem."""
    for message in find_problems(records, spec, source):
        raise RecordError(message)


def find_problems(records: Iterable, spec: DatasetSpec, source: str = "records") -> Iterator[str]:
    """Every problem of a sequence of records, one message each ('<source> record N (user id): field: problem'),
    duplicate user ids included; lazy, so a large file is checked in one pass."""
    return problems_of(((f"{source} record {i + 1}", rec) for i, rec in enumerate(records)), spec)


def problems_of(located: Iterable[tuple[str, object]], spec: DatasetSpec) -> Iterator[str]:
    """Every problem of (where, record) pairs, one message each, duplicate user ids included. A record may be a
    BadLine: a line that did not parse."""
    first_seen: dict[str, str] = {}
    for where, rec in located:
        if isinstance(rec, BadLine):
            yield f"{where}: {rec}"
            continue
        for field, problem in record_problems(rec, spec):
            yield describe(rec, where, field, problem)
        uid = rec.get("user_id") if isinstance(rec, dict) else None
        if isinstance(uid, str):
            if uid in first_seen:
                yield describe(rec, where, "user_id", f"duplicate user id {uid!r} (first in {first_seen[uid]})")
            else:
                first_seen[uid] = where
