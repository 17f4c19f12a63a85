"""Cache keys: derived from the settings each stage declares, so no setting can be left out by accident."""

import dataclasses

import pytest

from qa_helpers.method import fingerprints
from qa_helpers.series import artifacts, config


def test_every_profile_setting_is_declared_for_exactly_one_stage():
    declared = [f for fields in config.CACHED_BY.values() for f in fields]
    assert len(declared) == len(set(declared)), "a setting is declared twice"
    assert set(declared) == {f.name for f in dataclasses.fields(config.Profile)} - {"name"}
    assert set(config.CACHED_BY) == set(artifacts.BUILDS_ON) | {"nothing"}


def test_a_stage_key_moves_with_its_settings_and_those_upstream_only():
    base = config.load("smoke")
    keys = {stage: artifacts.key(base, stage) for stage in artifacts.BUILDS_ON}
    # a run-time setting changes no key
    assert all(artifacts.key(config.load("smoke", bootstrap=7), s) == k for s, k in keys.items())
    # a pretraining setting changes the model's and the prompts' keys, not the world's or UserU's
    steps = config.load("smoke", pretrain_steps=99)
    assert artifacts.key(steps, "world") == keys["world"] and artifacts.key(steps, "userU") == keys["userU"]
    assert artifacts.key(steps, "pretrain") != keys["pretrain"] and artifacts.key(steps, "prompts") != keys["prompts"]
    # a world setting changes every key; ablation switches separate the models
    bigger = config.load("smoke", n_pretrain_users=201)
    assert all(artifacts.key(bigger, s) != k for s, k in keys.items())
    ablations = [{}, {"use_user_token": False}, {"use_modality_tokens": False}]
    assert len({artifacts.key(config.load("smoke", **o), "pretrain") for o in ablations}) == 3
    with pytest.raises(ValueError, match="unknown stage"):
        artifacts.key(base, "tokenizer")


def test_a_new_setting_declared_for_a_stage_joins_its_key(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class WithNewSetting(config.Profile):
        new_knob: int = 1

    cfg = WithNewSetting(name="smoke")
    before = artifacts.key(cfg, "pretrain")
    monkeypatch.setitem(config.CACHED_BY, "pretrain", (*config.CACHED_BY["pretrain"], "new_knob"))
    assert artifacts.key(cfg, "pretrain") != before
    assert artifacts.key(dataclasses.replace(cfg, new_knob=2), "pretrain") != artifacts.key(cfg, "pretrain")


def test_the_profile_names_the_event_text_encoder_of_its_table_and_its_model(small_world):
    """The text table follows the profile's `text_encoder` (its vector size, and no MiniLM pass for a hashing one),
    a fresh model records it (so embedding new records later uses the same encoder), and it keys the model."""
    from qa_helpers.series import pipeline
    from qa_helpers.synthetic.useru_catalogue import catalogue_facets
    from qa_helpers.useru import builder

    cfg = config.load("smoke", world_version=1, n_pretrain_users=40, n_downstream_users=60, text_encoder="hashing-24")
    table = artifacts.text_table(small_world, cfg)
    assert table.dim == 24 and len(table.texts) == len(
        {
            ev["text"]
            for r in small_world.pretrain + small_world.downstream
            for evs in r["events"].values()
            for ev in evs
        }
    )
    pairs, _ = builder.build(small_world.pretrain, small_world.pretrain_future, catalogue_facets(), seed=0)
    model = pipeline.new_model(cfg, pairs, pipeline.user_tensors(cfg, small_world.pretrain, table))
    assert model.config.text_encoder == "hashing-24"
    minilm = dataclasses.replace(cfg, text_encoder="minilm")
    assert artifacts.key(cfg, "pretrain") != artifacts.key(minilm, "pretrain")
    assert artifacts.key(cfg, "userU") == artifacts.key(minilm, "userU")
    assert config.load("default").text_encoder == "minilm"  # the series' own runs read MiniLM vectors


def keys_after_editing(monkeypatch, module: str | None) -> dict[str, str]:
    """Every stage's key of the smoke profile with a function added to `module`'s source (None: no edit)."""
    real = fingerprints.package_source

    def read(name: str) -> str:
        return real(name) + ("\n\ndef _an_edit():\n    return 1\n" if name == module else "")

    with monkeypatch.context() as patch:  # undone on return, so each call edits the true source
        patch.setattr(fingerprints, "package_source", read)
        return {stage: artifacts.key(config.load("smoke"), stage) for stage in artifacts.BUILDS_ON}


def test_a_stage_key_follows_the_code_it_runs_and_nothing_else(monkeypatch):
    """Edit the code a stage runs (or a module it imports) and its key moves, with every key built on it; edit a
    module no stage runs and no key moves. No version number is involved: rewording a verdict, a plot or the probe
    protocol retrains nothing, and editing the loss retrains the model."""
    before = keys_after_editing(monkeypatch, None)
    assert keys_after_editing(monkeypatch, None) == before
    edited = (
        "synthetic.catalog",
        "useru.builder",
        "method.losses",
        "method.prompt_tuning",
        "series.plots",
        "series.claims",
        "method.evaluation",
        "series.config",
    )
    moved = {m: {s for s, k in keys_after_editing(monkeypatch, m).items() if k != before[s]} for m in edited}
    assert moved["synthetic.catalog"] == {"world", "userU", "pretrain", "prompts"}  # the world's code
    assert moved["useru.builder"] == {"userU", "pretrain", "prompts"}
    assert moved["method.losses"] == {"pretrain", "prompts"}  # imported by the trainer
    assert "prompts" in moved["method.prompt_tuning"] and "pretrain" not in moved["method.prompt_tuning"]
    assert moved["series.plots"] == moved["series.claims"] == set()  # no stage runs plotting or verdict code
    assert moved["method.evaluation"] == {"prompts"}  # the probe splits choose the prompts' training users
    assert moved["series.config"] == set()  # settings enter keys by value (the tests above)
    assert not any(name.endswith("_VERSION") for name in vars(artifacts))


def test_the_pretrained_model_key_covers_the_method_and_useru_it_runs():
    """The model's key covers the code that builds and trains it (the trainer, the model, the diagnostics, UserU and
    the world's questions), not the series' plots, claims, outputs or the probe protocol."""
    covered = fingerprints.closure(artifacts.STAGE_CODE["pretrain"], exclude=artifacts.SETTINGS_MODULES)
    assert {"method.train", "method.losses", "method.model", "method.diagnostics"} <= set(covered)
    assert not {"series.plots", "series.claims", "series.outputs", "method.evaluation"} & set(covered)
    assert all(m.split(".")[0] in ("method", "useru", "synthetic") or m == "series.pipeline" for m in covered)


def test_a_fingerprint_reads_imports_wherever_they_stand():
    source = (
        "import numpy\nfrom . import catalog, traits as T\nfrom ..method.spec import DatasetSpec\n"
        "import qa_helpers.method.schema\nfrom qa_helpers.synthetic.tasks import TASKS\n\ndef g():\n"
        "    from .interests import INDEX\n    from ..series.config import load\n"
    )
    assert fingerprints.imports_of(source, "synthetic.world") == {
        "synthetic.catalog",
        "synthetic.traits",
        "method.spec",
        "method.schema",
        "synthetic.tasks",
        "synthetic.interests",
        "series.config",
    }
    assert "series.config" in fingerprints.closure(["series.pipeline"])
    assert "series.config" not in fingerprints.closure(["series.pipeline"], exclude=["series.config"])  # by value
    with pytest.raises(ValueError, match="not a module"):
        fingerprints.closure(["no_such_module"])
