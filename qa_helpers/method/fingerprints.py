"""Fingerprints of code and files, so that nothing stale is reused: a cached artifact's key holds the fingerprint of
the code its stage runs (series/artifacts.py), a pretraining run records what it was trained on (cli/your_logs.py),
and the text-vector store names the code that encoded its vectors (sentence_encoder.py).

    code_fingerprint(["synthetic.world"])   # synthetic/world.py and every package module it imports, recursively
    file_sha256("logs.jsonl")

Modules are named by their dotted path under the package ('method.train'). A module's imports are read from its
source (`from . import x`, `from ..method.x import y`, `import qa_helpers.x.y`, inside functions too), so the
fingerprint follows the code as it is: no version number has to be bumped by hand. `exclude` leaves modules out
(with what only they import): a caller that records settings by value leaves out the module that holds them.
Sources are read afresh at every call, so a live kernel that reloads edited code gets new keys (only the parse of a
source text is kept).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # qa_helpers/


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _module_path(module: str) -> Path:
    """The file of a package module: 'method.train' -> qa_helpers/method/train.py."""
    return PACKAGE.joinpath(*module.split(".")).with_suffix(".py")


def _is_module(module: str) -> bool:
    return bool(module) and _module_path(module).is_file()


def package_source(module: str) -> str:
    """The source text of a package module."""
    return _module_path(module).read_text(encoding="utf-8")


def imports_of(source: str, module: str) -> set[str]:
    """The package modules that `module`'s source imports, wherever the import statement stands."""
    package = module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            named = (node.module or "").split(".") if node.module else []
            if node.level:
                if node.level - 1 > len(package):
                    continue
                base = package[: len(package) - (node.level - 1)] + named
            elif named[:1] == [PACKAGE.name]:
                base = named[1:]
            else:
                continue
            stem = ".".join(base)
            if _is_module(stem):
                out.add(stem)  # from .x import y, from ..method.x import y
            out.update(
                f"{stem}.{a.name}" if stem else a.name for a in node.names if _is_module(f"{stem}.{a.name}".strip("."))
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.removeprefix(f"{PACKAGE.name}.")
                if alias.name.startswith(f"{PACKAGE.name}.") and _is_module(name):
                    out.add(name)
    return out


def closure(modules: Iterable[str], read: Callable[[str], str] | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """`modules` and every package module they import, recursively, sorted, the modules of `exclude` left out.
    `read` (module -> source) is for tests; by default the files as they are now."""
    read, exclude = read or package_source, set(exclude)
    seen, todo = set(), [m for m in modules if m not in exclude]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if not _is_module(name):
            raise ValueError(f"{name!r} is not a module of {PACKAGE.name}")
        seen.add(name)
        todo += [m for m in _imports(read(name), name) if m not in seen and m not in exclude]
    return sorted(seen)


def code_fingerprint(
    modules: Iterable[str], read: Callable[[str], str] | None = None, exclude: Iterable[str] = ()
) -> str:
    """16 hex digits over the source of `modules` and of every package module they import, recursively (`exclude`
    left out, see above): a change to any of them changes it, a change to any other module does not."""
    read = read or package_source
    h = hashlib.sha256()
    for name in closure(modules, read, exclude):
        h.update(f"{name}\0{read(name)}\0".encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=512)
def _imports(source: str, module: str) -> frozenset[str]:
    """imports_of, parsed once per source text."""
    return frozenset(imports_of(source, module))
