"""A dataset's shape, declared by the data: its event modalities, how many events of each the model reads, their
numeric fields, the tabular width and the window. One small JSON file beside the records:

    {"name": "streaming-service", "window_days": 60, "tabular": 0,
     "modalities": [{"name": "watch", "cap": 24, "numeric": ["minutes"]},
                    {"name": "query", "cap": 8}]}

- `modalities`: the event modalities in the order the encoder lays them out; `cap` (K_m) is how many most recent
  events of the modality the model reads; `numeric` names fields every event of the modality carries (finite,
  >= 0, e.g. an amount or a duration; the encoder reads log1p of each).
- `tabular`: the width F of an optional per-user row of numbers (0: the records have none).
- `window_days`: events carry a `day` in 0 .. window_days - 1 (the last day is "today").

The encoder, the token layout, the user tensors and the record validator all take their modalities from a spec;
the synthetic world is one (`synthetic.world.spec`). Every event also carries `day`, `hour` (0..23) and `text`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

TABULAR = "tabular"  # the name the tabular row takes among the modalities
EVENT_FIELDS = ("day", "hour", "text")  # what every event carries besides its modality's numeric fields
_SPEC_KEYS = {"name", "window_days", "tabular", "modalities"}
_MODALITY_KEYS = {"name", "cap", "numeric"}


class SpecError(ValueError):
    """A dataset spec that cannot be used; the message names the field and how to fix it."""


@dataclass(frozen=True)
class Modality:
    """One event modality: its name, K_m (events read, most recent first) and its numeric fields."""

    name: str
    cap: int
    numeric: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    modalities: tuple[Modality, ...]
    tabular: int = 0
    window_days: int = 90
    name: str = "dataset"

    def __post_init__(self):
        object.__setattr__(self, "modalities", tuple(self.modalities))
        _check(self)

    @property
    def event_modalities(self) -> tuple[str, ...]:
        """The event modalities' names, in layout order."""
        return tuple(m.name for m in self.modalities)

    @property
    def all_modalities(self) -> tuple[str, ...]:
        """Event modalities, then 'tabular' when the records carry a tabular row: one modality token each."""
        return self.event_modalities + ((TABULAR,) if self.tabular else ())

    @property
    def caps(self) -> tuple[int, ...]:
        return tuple(m.cap for m in self.modalities)

    @property
    def n_numeric(self) -> int:
        """Numeric inputs per event: the widest modality's numeric fields (others padded with 0), sin and cos of
        the hour."""
        return max((len(m.numeric) for m in self.modalities), default=0) + 2

    def modality(self, name: str) -> Modality:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(f"no modality {name!r} in spec {self.name!r}; its modalities are {list(self.event_modalities)}")

    def with_caps(self, caps: tuple[int, ...]) -> DatasetSpec:
        """The same spec with other K_m (one per event modality)."""
        if len(caps) != len(self.modalities):
            raise SpecError(f"caps must give one K_m per event modality {list(self.event_modalities)}, got {caps}")
        return replace(self, modalities=tuple(replace(m, cap=int(k)) for m, k in zip(self.modalities, caps)))

    def with_window(self, window_days: int) -> DatasetSpec:
        return replace(self, window_days=window_days)

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "window_days": self.window_days,
            "tabular": self.tabular,
            "modalities": [{"name": m.name, "cap": m.cap, "numeric": list(m.numeric)} for m in self.modalities],
        }

    @classmethod
    def from_dict(cls, d, source: str = "spec") -> DatasetSpec:
        """A spec from its JSON object; a SpecError naming the field for anything malformed."""

        def fail(field: str, problem: str):
            raise SpecError(f"{source}: {field}: {problem}")

        if not isinstance(d, dict):
            fail("spec", f"expected a JSON object, got {type(d).__name__}")
        unknown = set(d) - _SPEC_KEYS
        if unknown:
            fail(sorted(unknown)[0], f"unknown field; allowed fields are {sorted(_SPEC_KEYS)}")
        mods = d.get("modalities")
        if not isinstance(mods, list) or not mods:
            fail("modalities", "expected a non-empty list of {name, cap, numeric} objects")
        out = []
        for i, m in enumerate(mods):
            where = f"modalities[{i}]"
            if not isinstance(m, dict):
                fail(where, f"expected an object with name and cap, got {type(m).__name__}")
            extra = set(m) - _MODALITY_KEYS
            if extra:
                fail(f"{where}.{sorted(extra)[0]}", f"unknown field; allowed fields are {sorted(_MODALITY_KEYS)}")
            numeric = m.get("numeric", [])
            if not isinstance(numeric, list):
                fail(f"{where}.numeric", f"expected a list of field names, got {numeric!r}")
            out.append(Modality(m.get("name"), m.get("cap"), tuple(numeric)))
        try:
            return cls(tuple(out), d.get("tabular", 0), d.get("window_days", 90), d.get("name", "dataset"))
        except SpecError as e:
            raise SpecError(f"{source}: {e}") from None

    @classmethod
    def load(cls, path: str | Path) -> DatasetSpec:
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpecError(f"{path}: no such spec file; write one as described in qa_helpers/method/spec.py") from None
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}: malformed JSON ({e.msg}, line {e.lineno})") from None
        return cls.from_dict(d, str(path))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check(spec: DatasetSpec) -> None:
    if not spec.modalities:
        raise SpecError("modalities: a spec needs at least one event modality")
    seen = set()
    for i, m in enumerate(spec.modalities):
        where = f"modalities[{i}]"
        if not isinstance(m.name, str) or not m.name.isidentifier():
            raise SpecError(f"{where}.name: expected a name of letters, digits and _, got {m.name!r}")
        if m.name == TABULAR:
            raise SpecError(f"{where}.name: {TABULAR!r} is reserved for the tabular row; set 'tabular': F instead")
        if m.name in seen:
            raise SpecError(f"{where}.name: duplicate modality {m.name!r}")
        seen.add(m.name)
        if not _is_int(m.cap) or m.cap < 1:
            raise SpecError(f"{where}.cap: expected a positive integer (events read per user), got {m.cap!r}")
        for f in m.numeric:
            if not isinstance(f, str) or not f.isidentifier() or f in EVENT_FIELDS:
                raise SpecError(f"{where}.numeric: expected field names other than {list(EVENT_FIELDS)}, got {f!r}")
        if len(set(m.numeric)) != len(m.numeric):
            raise SpecError(f"{where}.numeric: duplicate field in {list(m.numeric)}")
    if not _is_int(spec.tabular) or spec.tabular < 0:
        raise SpecError(f"tabular: expected the tabular width F (an integer >= 0; 0: none), got {spec.tabular!r}")
    if not _is_int(spec.window_days) or spec.window_days < 1:
        raise SpecError(f"window_days: expected a positive integer, got {spec.window_days!r}")
    if not isinstance(spec.name, str) or not spec.name:
        raise SpecError(f"name: expected a non-empty string, got {spec.name!r}")
