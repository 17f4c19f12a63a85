import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qa_helpers.method import metrics  # noqa: E402
from qa_helpers.series import config, outputs
from qa_helpers.series.outputs import MetricsRecorder, load_metrics  # noqa: E402


def test_auc_and_ks_hand_computed():
    y = [0, 0, 1, 1]
    assert metrics.auc(y, [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert metrics.ks(y, [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5)
    assert metrics.auc(y, [1, 2, 3, 4]) == 1.0 and metrics.ks(y, [1, 2, 3, 4]) == 1.0
    assert metrics.auc(y, [5, 5, 5, 5]) == 0.5 and metrics.ks(y, [5, 5, 5, 5]) == 0.0


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="equal length"):
        metrics.ks([0, 1], [0.2])


def test_evidence_map_finds_the_modality_that_carries_a_signal():
    from qa_helpers.synthetic import features

    rng = np.random.default_rng(0)
    records, labels = [], np.zeros((200, 10), dtype=int)
    for u in range(200):
        eco = u % 2
        n = 8 if eco else 1
        records.append(
            {
                "user_id": f"u{u}",
                "events": {
                    "spm": [{"day": d, "hour": 9, "text": "home > ant forest > collect energy"} for d in range(n)],
                    "search": [{"day": 1, "hour": 9, "text": "weather tomorrow"}],
                },
            }
        )
        labels[u] = eco if rng.random() < 0.9 else 1 - eco
    aucs = features.evidence_aucs(records, labels, n_tabular=3)
    assert aucs.shape == (10, 6)
    spm, search = 2, 4
    assert (aucs[:, spm] > 0.8).all() and (abs(aucs[:, search] - 0.5) < 1e-9).all()


def test_recorder_and_save_figure_write_provenance(tmp_path):
    cfg = config.load("smoke", figures_dir=str(tmp_path), seed=5)
    rec = MetricsRecorder("99_test", cfg)
    rec.log(auc=np.float32(0.75), per_task={"A": np.array([1, 2])})
    rec.save()
    saved = json.loads((tmp_path / "metrics_99_test.json").read_text())
    assert saved["profile"] == "smoke" and saved["seed"] == 5 and saved["git_hash"]
    assert load_metrics("99_test", cfg) == {"auc": 0.75, "per_task": {"A": [1, 2]}}

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = outputs.save_figure(fig, "99_line", cfg, {"y": np.array([0.0, 1.0])})
    sidecar = json.loads((tmp_path / "99_line.json").read_text())
    assert png.exists() and png.stat().st_size > 1000
    assert sidecar["data"] == {"y": [0.0, 1.0]} and sidecar["profile"] == "smoke" and sidecar["seed"] == 5
    assert sidecar["git_hash"] == outputs.git_hash()


def test_the_git_hash_is_dirty_for_changed_code_and_not_for_regenerated_outputs(tmp_path, monkeypatch):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip

    files = ["code.py", "README.md", "figures/f.json", "benchmarks/results/b.json", "benchmarks/b.py"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(outputs, "REPO_ROOT", tmp_path)

    def hash_after(changed: list[str]) -> str:
        git("checkout", "-q", ".")
        for name in changed:
            (tmp_path / name).write_text("2\n")
        outputs.git_hash.cache_clear()
        return outputs.git_hash()

    try:
        assert hash_after(["README.md", "figures/f.json", "benchmarks/results/b.json"]) == head
        assert hash_after(["code.py"]) == head + "-dirty"
        assert hash_after(["benchmarks/b.py"]) == head + "-dirty"
    finally:
        outputs.git_hash.cache_clear()


def test_a_recorded_command_holds_no_machines_own_folder():
    """A benchmark records its command as typed in the repository root: paths inside the checkout relative to it
    (also after `--opt=`), other paths and words unchanged, quoted as a shell would need."""
    from qa_helpers.series.config import REPO_ROOT

    argv = [str(REPO_ROOT / "benchmarks" / "x.py"), "--out", str(REPO_ROOT / "benchmarks" / "results" / "x.json")]
    argv += [f"--model={REPO_ROOT}/artifacts/m", "--name", "two words", "/elsewhere/file", "--users", "3"]
    assert outputs.command_line(argv) == (
        "python benchmarks/x.py --out benchmarks/results/x.json --model=artifacts/m --name 'two words' "
        "/elsewhere/file --users 3"
    )
    made = outputs.provenance(argv[:1])
    assert made == {"command": "python benchmarks/x.py", "git_hash": outputs.git_hash()}
