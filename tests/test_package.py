"""The package's shape: five layers, each importing only the ones below it (imports inside functions count too), no
import cycle, and the README's package map naming every module where it lives.

    method     the method on any dataset spec        (imports nothing above it)
    useru      UserU: pretraining pairs from any logs
    synthetic  the synthetic world
    series     the notebook series: profiles, caches, plots, claims
    cli        the command line and batch embedding
"""

import re

from qa_helpers.method import fingerprints

PACKAGE = fingerprints.PACKAGE
LAYERS = ("method", "useru", "synthetic", "series", "cli")
README = PACKAGE.parent / "README.md"


def modules() -> list[str]:
    """Every module of the package as a dotted name ('method.train'), __init__ files aside."""
    return sorted(
        ".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
    )


def layer(module: str) -> int:
    """The rank of a module's layer; the package's own __main__ stands above them all."""
    return len(LAYERS) if module == "__main__" else LAYERS.index(module.split(".")[0])


def graph() -> dict[str, set[str]]:
    return {m: fingerprints.imports_of(fingerprints.package_source(m), m) for m in modules()}


def test_every_module_lives_in_a_layer():
    stray = [m for m in modules() if m != "__main__" and m.split(".")[0] not in LAYERS]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


def test_a_layer_imports_only_the_layers_below_it():
    upward = [
        f"{m} ({LAYERS[layer(m)] if m != '__main__' else 'package'}) imports {d} ({LAYERS[layer(d)]})"
        for m, deps in graph().items()
        for d in sorted(deps)
        if layer(d) > layer(m)
    ]
    assert not upward, "imports of a higher layer:\n" + "\n".join(upward)


def test_the_method_imports_neither_the_world_nor_the_series():
    """What the method needs from a dataset comes in as arguments (a spec, task names, a question bank, settings,
    cache folders), so it runs on anyone's logs without the synthetic world."""
    method = {m: deps for m, deps in graph().items() if m.startswith("method.")}
    outside = {m: sorted(d for d in deps if not d.startswith("method.")) for m, deps in method.items()}
    assert not {m: d for m, d in outside.items() if d}


def test_no_import_cycle():
    deps = graph()
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for dep in sorted(deps[module]):
            visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(deps):
        visit(module)


def test_the_import_reader_sees_every_form():
    source = (
        "import numpy\nfrom . import losses, metrics as m\nfrom .spec import DatasetSpec\n"
        "import qa_helpers.method.schema\nfrom qa_helpers.synthetic.tasks import TASKS\nfrom ..useru import facts\n"
        "\ndef g():\n    from ..series.config import load\n"
    )
    assert fingerprints.imports_of(source, "method.train") == {
        "method.losses",
        "method.metrics",
        "method.spec",
        "method.schema",
        "synthetic.tasks",
        "useru.facts",
        "series.config",
    }


def test_the_readme_package_map_matches_the_folders():
    """Every module appears in the README's package map under its own folder, and the map names no module that is
    not there."""
    text = README.read_text()
    section = text[text.index("## The package") :]
    section = section[: section.index("\n## ", 1)]
    named = set()
    for folder, cell in re.findall(r"^\| `(\w+)/` \| (.*?) \|", section, re.M):
        named |= {f"{folder}.{m}" for m in re.findall(r"`(\w+)`", cell)}
    real = {m for m in modules() if m != "__main__"}
    assert named == real, f"in the README only: {sorted(named - real)}; in the package only: {sorted(real - named)}"
