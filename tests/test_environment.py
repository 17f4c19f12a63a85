"""environment.yml (conda users) must install the same pinned set as pyproject.toml."""

import re
import tomllib

import yaml

from qa_helpers.series.config import REPO_ROOT


def _name(req: str) -> str:
    return re.split(r"[=<>!\[ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda = {_name(d): d for d in deps if isinstance(d, str)}
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert conda["python"].endswith("3.11")
    # every pinned runtime and extra dependency appears with the same pin, in conda or pip
    wanted = list(project["dependencies"]) + [
        d for ds in project["optional-dependencies"].values() for d in ds if not d.startswith("qa-helpers")
    ]
    listed = {**{_name(p): p for p in pip if not p.startswith("-e")}, **conda}
    for req in wanted:
        name = _name(req)
        conda_name = {"torch": "pytorch"}.get(name, name)
        spec = listed.get(name) or listed.get(conda_name)
        assert spec is not None, f"{name} is in pyproject.toml but not in environment.yml"
        pin = req.split("==")[1]
        assert pin in spec, f"{name}: pyproject pins {pin}, environment.yml says {spec}"
    assert any(p.startswith("-e") and "[dev]" in p for p in pip), "environment.yml must install the package"
