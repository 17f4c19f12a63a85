import dataclasses
from pathlib import Path

import pytest

from qa_helpers.series import config


def test_profiles_exist_and_grow():
    smoke, default, full = (config.load(p) for p in ("smoke", "default", "full"))
    assert smoke.n_pretrain_users < default.n_pretrain_users < full.n_pretrain_users
    assert smoke.n_downstream_users < default.n_downstream_users < full.n_downstream_users


def test_overrides_apply_and_leave_presets_alone():
    cfg = config.load("smoke", seed=7, n_pretrain_users=11)
    assert (cfg.seed, cfg.n_pretrain_users, cfg.name) == (7, 11, "smoke")
    assert config.load("smoke").seed == 0


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown profile 'tiny'.*default"):
        config.load("tiny")


def test_unknown_setting_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown profile setting\(s\) \['n_users'\].*n_pretrain_users"):
        config.load("default", n_users=5)


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.load("default").seed = 3


def test_output_folders(monkeypatch):
    monkeypatch.delenv(config.CACHE_ENV, raising=False)
    assert config.cache_root() == config.REPO_ROOT / "artifacts"  # a checkout keeps its caches in artifacts/
    assert config.load("default").figures_path() == config.REPO_ROOT / "figures"
    assert config.load("smoke").figures_path() == config.REPO_ROOT / "artifacts" / "smoke" / "figures"


def test_every_cache_goes_under_one_root_and_never_inside_an_installed_package(monkeypatch, tmp_path):
    from qa_helpers.method import sentence_encoder

    def folders() -> list[Path]:
        return [
            config.load("smoke").artifacts_path(),
            config.load("smoke").figures_path(),
            config.load("default").figures_path(),
            sentence_encoder.text_cache("hashing-8", config.cache_root()).store.folder,
            config.cache_root() / "models",
        ]

    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "mine"))  # the variable wins everywhere
    assert all(tmp_path / "mine" in f.parents for f in folders())
    monkeypatch.delenv(config.CACHE_ENV)
    installed = tmp_path / "site-packages"  # an installed copy: no pyproject.toml, no notebooks beside it
    (installed / "qa_helpers").mkdir(parents=True)
    monkeypatch.setattr(config, "REPO_ROOT", installed)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert not config.in_checkout() and config.cache_root() == tmp_path / "xdg" / "qa_helpers"
    assert all(tmp_path / "xdg" in f.parents and installed not in f.parents for f in folders())
    from qa_helpers.cli.main import main

    for command in ("sample", "results"):  # they rewrite the project's files: refused outside a checkout
        with pytest.raises(ValueError, match="run it in a checkout"):
            config.require_checkout(command)
        assert main([command]) == 2
    assert list(installed.rglob("*")) == [installed / "qa_helpers"]  # nothing written inside the installed copy


def test_departures_from_the_paper_are_named_and_switch_back():
    cfg = config.load("default")
    assert set(config.PAPER_SETTINGS) <= {f for f in cfg.to_dict() if f != "name"}
    for setting, (paper_value, why) in config.PAPER_SETTINGS.items():
        assert why and isinstance(paper_value, type(getattr(cfg, setting))), setting
    paper = config.load("default", **{k: v for k, (v, _) in config.PAPER_SETTINGS.items()})
    assert config.departures(paper) == {}
    ours = config.departures(config.load("default", readout="anchor+prefix"))
    assert ours["readout"][:2] == ("anchor", "anchor+prefix")


def test_the_layers_settings_objects_are_the_profiles_own():
    """The world's and the trainer's settings objects hold exactly the settings the profile declares for them, with
    the default profile's values as their defaults, so the two cannot drift apart."""
    import dataclasses

    from qa_helpers.method.train import PretrainSettings
    from qa_helpers.series import pipeline
    from qa_helpers.synthetic.world import WorldSettings

    default = config.load("default")
    assert {f.name for f in dataclasses.fields(WorldSettings)} == set(config.CACHED_BY["world"])
    assert WorldSettings() == WorldSettings.of(default)
    assert PretrainSettings() == pipeline.pretrain_settings(default)
    seeded = pipeline.pretrain_settings(config.load("default", seed=3, train_seed=5))
    assert (seeded.seed, seeded.diagnostic_seed) == (5, 3)  # batches follow the model's seed, diagnostics the world's
