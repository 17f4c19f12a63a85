"""Fingerprints of code and files, so that nothing stale is reused: a cached artifact's key holds the fingerprint of
the code its stage runs (artifacts.py), and a pretraining run records what it was trained on (your_logs.py).

    code_fingerprint(["world"])      # world.py and every package module it imports, recursively
    file_sha256("logs.jsonl")

A module's imports are read from its source (`from . import x`, `from .x import y`, `import qa_helpers.x`, inside
functions too), so the fingerprint follows the code as it is: no version number has to be bumped by hand. config.py
is left out: it holds the settings, which enter a cache key by value (config.CACHED_BY).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SETTINGS_MODULE = "config"  # settings enter keys by value, not by code


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_source(module: str) -> str:
    """The source text of a module of this package ('world' -> qa_helpers/world.py)."""
    return (PACKAGE / f"{module}.py").read_text(encoding="utf-8")


def is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file()


def imports_of(source: str) -> set[str]:
    """The package modules a module's source imports, wherever the import statement stands."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or (node.level == 0 and (node.module or "").split(".")[0] == PACKAGE.name):
                parts = (node.module or "").split(".")[0 if node.level else 1 :]
                if parts and parts[0]:
                    out.add(parts[0])  # from .x import y / from qa_helpers.x import y
                else:
                    out.update(alias.name for alias in node.names)  # from . import x, y
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith(f"{PACKAGE.name}."))
    return {name for name in out if is_module(name)}


def closure(modules: Iterable[str], read: Callable[[str], str] = package_source) -> list[str]:
    """`modules` and every package module they import, recursively, sorted; config.py left out (see above)."""
    seen, todo = set(), [m for m in modules if m != SETTINGS_MODULE]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if not is_module(name):
            raise ValueError(f"{name!r} is not a module of {PACKAGE.name}")
        seen.add(name)
        todo += [m for m in imports_of(read(name)) if m not in seen and m != SETTINGS_MODULE]
    return sorted(seen)


def code_fingerprint(modules: Iterable[str], read: Callable[[str], str] | None = None) -> str:
    """16 hex digits over the source of `modules` and of every package module they import, recursively: a change
    to any of them changes it, a change to any other module does not. `read` (module -> source) is for tests;
    by default the files are read once per process."""
    if read is None:
        return _fingerprint_of_files(tuple(sorted(set(modules))))
    h = hashlib.sha256()
    for name in closure(modules, read):
        h.update(f"{name}\0{read(name)}\0".encode())
    return h.hexdigest()[:16]


@cache
def _fingerprint_of_files(modules: tuple[str, ...]) -> str:
    return code_fingerprint(modules, package_source)
