"""Your own logs end to end (your_logs.py, batch_embedding.py, the CLI): a dataset with other modalities than the
synthetic world's (example_logs: watch/listen/read/query, no tabular row) through validate -> pretrain -> embed ->
probe, streaming and its output formats, the validator's and the CLI's messages, resumable pretraining, and the
optional Ray Data path. One tiny model (hashing text and query encoders, 3 steps) is pretrained per module."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from qa_helpers.cli import batch_embedding, your_logs
from qa_helpers.cli.main import main
from qa_helpers.method.prompt_tuning import PromptSet
from qa_helpers.method.schema import RecordError
from qa_helpers.method.spec import DatasetSpec, SpecError
from qa_helpers.series import config
from qa_helpers.synthetic import example_logs

os.environ.setdefault("HF_HUB_OFFLINE", "1")

N_USERS = 120
TASKS = example_logs.TASKS
QUERIES = list(TASKS.values())


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The model is tiny: one thread beats several, by far when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """example_logs (120 users) written to disk, and a tiny model pretrained on it for 3 steps (checkpoint at 3)."""
    root = tmp_path_factory.mktemp("your_logs")
    data = root / "data"
    example_logs.write(data, N_USERS, seed=0)
    spec = DatasetSpec.load(data / "spec.json")
    cfg = config.load(
        "smoke",
        eval_pairs=40,
        eval_every=0,
        batch_size=8,
        tokenizer_vocab=600,
        query_encoder="hashing-16",  # no MiniLM download
        checkpoint_every=3,
    )
    torch.manual_seed(0)
    out = root / "run"
    history = your_logs.pretrain(
        data / "records.jsonl",
        spec,
        out,
        cfg,
        data / "future.jsonl",
        steps=3,
        n_facets=6,
        text_encoder="hashing-32",
        progress=False,
    )
    queries_file = root / "queries.txt"
    queries_file.write_text("\n".join(QUERIES) + "\n", encoding="utf-8")
    return SimpleNamespace(
        root=root,
        records=data / "records.jsonl",
        future=data / "future.jsonl",
        spec_path=data / "spec.json",
        labels=data / "labels.csv",
        tasks=data / "tasks.json",
        queries_file=queries_file,
        spec=spec,
        cfg=cfg,
        out=out,
        model=out / "model",
        history=history,
        user_ids=[json.loads(line)["user_id"] for line in (data / "records.jsonl").read_text().splitlines()],
    )


@pytest.fixture(scope="module")
def embedded(tiny):
    """embed_file's Parquet output for every user under the three task queries (one chunk)."""
    path = tiny.root / "emb.parquet"
    report = batch_embedding.embed_file(tiny.records, tiny.model, QUERIES, path, chunk_size=1000, progress=False)
    return SimpleNamespace(path=path, report=report, read=batch_embedding.read_embeddings(path))


def write_lines(path: Path, lines: list) -> Path:
    """Write one line per item: a dict as JSON, a str as it is (a malformed line, a blank line)."""
    path.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines), encoding="utf-8")
    return path


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


# ----------------------------------------------------------------------------- 1. a spec of its own, end to end


def test_other_modalities_round_trip_to_embeddings(tiny, embedded):
    spec = tiny.spec
    assert spec.event_modalities == ("watch", "listen", "read", "query") and spec.tabular == 0
    assert list(your_logs.validate_file(tiny.records, spec)) == []
    records = your_logs.load_records(tiny.records, spec)
    assert [r["user_id"] for r in records] == tiny.user_ids

    # the model carries the dataset's spec, not the synthetic world's, through save_pretrained / from_pretrained
    model, cache = batch_embedding.load_model(tiny.model)
    assert model.config.spec == spec
    assert DatasetSpec.load(tiny.out / "spec.json") == spec
    assert model.config.text_encoder == "hashing-32"
    for name in ("userU.jsonl", "facets.json", "userU_stats.json", "history.json"):
        assert (tiny.out / name).exists(), name
    assert len(tiny.history) == 3

    # one row per (user, query), users in file order, each user's queries in the order given
    table = pq.read_table(embedded.path)
    assert table.num_rows == N_USERS * len(QUERIES)
    assert table.column("user_id").to_pylist() == [u for u in tiny.user_ids for _ in QUERIES]
    assert table.column("query").to_pylist() == QUERIES * N_USERS
    users, queries, emb = embedded.read
    assert users == tiny.user_ids and queries == QUERIES
    assert emb.shape == (N_USERS, len(QUERIES), tiny.cfg.emb_dim) and emb.dtype == np.float32
    assert np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=-1), 1.0, atol=1e-5)
    assert embedded.report["users"] == N_USERS and embedded.report["queries"] == len(QUERIES)
    # the query matters and users differ
    assert not np.allclose(emb[:, 0], emb[:, 1]) and not np.allclose(emb[0], emb[1])

    # the per-chunk function gives the same numbers on a few records
    with torch.no_grad():
        direct = batch_embedding.embed_records(model, cache, records[:5], QUERIES)
    np.testing.assert_allclose(direct, emb[:5], atol=1e-5)


# ----------------------------------------------------------------------------- 2. streaming and formats


def test_chunk_size_and_formats_do_not_change_embeddings(tiny, embedded, tmp_path):
    users_1000, queries_1000, emb_1000 = embedded.read
    npy = tmp_path / "one_by_one.npy"
    report = batch_embedding.embed_file(tiny.records, tiny.model, QUERIES, npy, chunk_size=1, progress=False)
    assert report["users"] == N_USERS
    assert npy.with_suffix(".json").exists()
    users_1, queries_1, emb_1 = batch_embedding.read_embeddings(npy)
    assert users_1 == users_1000 == tiny.user_ids and queries_1 == queries_1000
    np.testing.assert_allclose(emb_1, emb_1000, atol=1e-5)

    # the same chunking in both formats: .npy and .parquet hold the same numbers
    parquet = tmp_path / "one_by_one.parquet"
    batch_embedding.embed_file(tiny.records, tiny.model, QUERIES, parquet, chunk_size=7, progress=False)
    users_p, queries_p, emb_p = batch_embedding.read_embeddings(parquet)
    assert users_p == users_1 and queries_p == queries_1
    np.testing.assert_allclose(emb_p, emb_1, atol=1e-6)


def test_the_model_batch_size_does_not_change_embeddings(tiny, embedded, tmp_path, capsys):
    users, queries, default = embedded.read
    for batch_size in (1, 7, 128):
        out = tmp_path / f"batch_{batch_size}.npy"
        batch_embedding.embed_file(
            tiny.records, tiny.model, QUERIES, out, chunk_size=50, progress=False, batch_size=batch_size
        )
        assert batch_embedding.read_embeddings(out)[:2] == (users, queries)
        np.testing.assert_allclose(batch_embedding.read_embeddings(out)[2], default, atol=1e-6)
    rc, printed, _ = run_cli(capsys, "embed", tiny.records, "--model", tiny.model, "--queries", tiny.queries_file,
                             "--out", tmp_path / "cli.npy", "--batch-size", "5")  # fmt: skip
    assert rc == 0
    np.testing.assert_allclose(batch_embedding.read_embeddings(tmp_path / "cli.npy")[2], default, atol=1e-6)
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    assert f"(default {batch_embedding.BATCH_USERS}, batch_embedding.BATCH_USERS)" in " ".join(
        capsys.readouterr().out.split()
    )


def test_packed_path_agrees_with_cached(tiny, embedded, tmp_path):
    out = tmp_path / "packed.npy"
    batch_embedding.embed_file(tiny.records, tiny.model, QUERIES, out, chunk_size=50, path="packed", progress=False)
    users, queries, emb = batch_embedding.read_embeddings(out)
    assert users == embedded.read[0] and queries == embedded.read[1]
    np.testing.assert_allclose(emb, embedded.read[2], atol=1e-4)


def test_embed_file_rejects_bad_arguments(tiny, tmp_path):
    with pytest.raises(ValueError, match=r"output must end in one of \('.parquet', '.npy'\), got 'emb.csv'"):
        batch_embedding.embed_file(tiny.records, tiny.model, QUERIES, tmp_path / "emb.csv", progress=False)
    with pytest.raises(ValueError, match="no queries"):
        batch_embedding.embed_file(tiny.records, tiny.model, [], tmp_path / "emb.npy", progress=False)
    with pytest.raises(FileNotFoundError, match="pretrain one first"):
        batch_embedding.embed_file(tiny.records, tmp_path, QUERIES, tmp_path / "emb.npy", progress=False)
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        next(batch_embedding.iter_chunks(tiny.records, tiny.spec, 0))
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        batch_embedding.embed_file(
            tiny.records, tiny.model, QUERIES, tmp_path / "emb.npy", progress=False, batch_size=0
        )
    assert not (tmp_path / "emb.npy").exists()


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_a_failed_embed_leaves_no_partial_output(tiny, tmp_path, suffix):
    lines = tiny.records.read_text().splitlines()
    bad = {"user_id": "late", "events": {"read": [{"day": 99, "hour": 1, "text": "read 'X' | history | article"}]}}
    records = write_lines(tmp_path / "bad.jsonl", lines[:4] + [bad] + lines[4:10])
    out = tmp_path / f"emb{suffix}"
    with pytest.raises(RecordError, match="line 5"):
        batch_embedding.embed_file(records, tiny.model, QUERIES, out, chunk_size=2, progress=False)
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_an_empty_records_file_is_refused_or_round_trips(tiny, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "emb.parquet"
    try:
        batch_embedding.embed_file(empty, tiny.model, QUERIES, out, progress=False)
    except ValueError as e:
        assert "no records" in str(e) or "empty" in str(e)
        return
    users, _, emb = batch_embedding.read_embeddings(out)
    assert users == [] and emb.shape[0] == 0


# ----------------------------------------------------------------------------- 3. the validator


def _event(modality: str, day: int = 10, **fields) -> dict:
    ev = {"day": day, "hour": 20, "text": f"{modality} something | crime drama | on TV"}
    if modality in ("watch", "listen"):
        ev["minutes"] = 12.5
    return {**ev, **fields}


@pytest.fixture
def bad_file(tmp_path):
    """Lines 1..9: a good record, a blank line, then one problem per line."""
    missing = _event("listen")
    del missing["minutes"]
    lines = [
        {"user_id": "good", "events": {"watch": [_event("watch")], "read": [_event("read")]}},  # 1
        "",  # 2: blank lines are skipped but counted
        {"user_id": "neg", "events": {"watch": [_event("watch", minutes=-5.0)]}},  # 3
        {"user_id": "unk", "events": {"podcast": [_event("read")], "read": [_event("read")]}},  # 4
        '{"user_id": "broken", "events": ',  # 5
        {"user_id": "good", "events": {"query": [_event("query")]}},  # 6
        {"user_id": "late", "events": {"read": [_event("read", day=60)]}},  # 7
        {"user_id": "nomin", "events": {"listen": [missing]}},  # 8
        {"user_id": "fine", "events": {"query": [_event("query", day=59)]}},  # 9
    ]
    return write_lines(tmp_path / "bad.jsonl", lines)


EXPECTED_PROBLEMS = [
    "bad.jsonl line 3 (user 'neg'): events.watch[0].minutes: negative minutes -5.0",
    "bad.jsonl line 4 (user 'unk'): events.podcast: unknown modality; the spec declares "
    "['watch', 'listen', 'read', 'query']",
    "bad.jsonl line 5: malformed JSON",
    "bad.jsonl line 6 (user 'good'): user_id: duplicate user id 'good' (first in bad.jsonl line 1)",
    "bad.jsonl line 7 (user 'late'): events.read[0].day: timestamp outside the 60-day window: day 60",
    "bad.jsonl line 8 (user 'nomin'): events.listen[0].minutes: listen events need 'minutes'",
]


def test_validate_file_lists_every_problem(tiny, bad_file):
    problems = list(your_logs.validate_file(bad_file, tiny.spec))
    assert len(problems) == len(EXPECTED_PROBLEMS), problems
    for problem, expected in zip(problems, EXPECTED_PROBLEMS):
        assert problem.startswith(expected), (problem, expected)
    assert list(your_logs.validate_file(tiny.records, tiny.spec)) == []
    empty = bad_file.with_name("empty.jsonl")
    empty.write_text("\n")
    assert list(your_logs.validate_file(empty, tiny.spec)) == ["empty.jsonl: no records (the file is empty)"]


def test_iter_chunks_raises_on_the_first_bad_line(tiny, bad_file, tmp_path):
    chunks = batch_embedding.iter_chunks(bad_file, tiny.spec, 1)
    assert [r["user_id"] for r in next(chunks)] == ["good"]
    with pytest.raises(RecordError, match=r"^bad\.jsonl line 3 \(user 'neg'\): events\.watch\[0\]\.minutes: negative"):
        next(chunks)
    lines = bad_file.read_text().splitlines()
    malformed = write_lines(tmp_path / "malformed.jsonl", [lines[0], lines[4]])
    with pytest.raises(RecordError, match=r"^malformed\.jsonl line 2: malformed JSON"):
        list(batch_embedding.iter_chunks(malformed, tiny.spec, 10))
    duplicate = write_lines(tmp_path / "duplicate.jsonl", [lines[0], lines[5]])
    with pytest.raises(RecordError, match=r"^duplicate\.jsonl line 2 \(user 'good'\): user_id: duplicate user id"):
        list(batch_embedding.iter_chunks(duplicate, tiny.spec, 10))
    # load_records (pretrain, probe) stops on the first problem too, and says how to list them all
    with pytest.raises(RecordError, match="python -m qa_helpers validate"):
        your_logs.load_records(duplicate, tiny.spec)


def test_cli_validate(tiny, bad_file, capsys):
    rc, out, _ = run_cli(capsys, "validate", bad_file, "--spec", tiny.spec_path)
    assert rc == 1
    for expected in EXPECTED_PROBLEMS:
        assert expected in out
    assert f"{bad_file}: 6 problem(s)" in out
    rc, out, _ = run_cli(capsys, "validate", bad_file, "--spec", tiny.spec_path, "--max-problems", "2")
    assert rc == 1 and "more problems not listed (--max-problems 2)" in out and "2+ problem(s)" in out
    assert EXPECTED_PROBLEMS[2] not in out
    rc, out, _ = run_cli(capsys, "validate", tiny.records, "--spec", tiny.spec_path)
    assert rc == 0 and f"every record follows {tiny.spec_path}" in out


WEIRD_VALUES = [None, True, 0, -1, 59, 60, 24, 2.5, -0.0, 1e308, 10**400, float("nan"), float("inf"), -float("inf"),
                "", " ", "x", "\ud800", [], {}, [1.0], {"a": 1}]  # fmt: skip
PROBLEM_LINE = re.compile(r"^mutated\.jsonl line (\d+)(?: \(user '[^']*'\): [\w.\[\]]+:|:) \S")


def mutate(records: list[dict], rng: np.random.Generator) -> bytes:
    """A records file with one to three random mutations: of a record (a value of another type or range, a key
    removed or added) or of the bytes (a byte that is not UTF-8, a byte-order mark, CRLF ends, a cut line, a
    user repeated, a blank line)."""
    records = json.loads(json.dumps(records))
    lines_done = False
    for _ in range(rng.integers(1, 4)):
        rec = records[rng.integers(len(records))]
        kind = rng.integers(8)
        intact = (
            isinstance(rec.get("events"), dict)
            and rec["events"]
            and all(
                isinstance(evs, list) and evs and all(isinstance(ev, dict) for ev in evs)
                for evs in rec["events"].values()
            )
        )
        if kind in (0, 1, 2, 3, 5) and not intact:  # an earlier mutation broke this record's events: mutate its id
            rec["user_id"] = WEIRD_VALUES[rng.integers(len(WEIRD_VALUES))]
        elif kind <= 3:  # a record's value
            modality = list(rec["events"])[rng.integers(len(rec["events"]))]
            ev = rec["events"][modality][rng.integers(len(rec["events"][modality]))]
            target = [rec, rec, rec["events"], ev, ev, ev][rng.integers(6)]
            keys = list(target) + ["extra"]
            key = keys[rng.integers(len(keys))]
            if rng.random() < 0.2:
                target.pop(key, None)
            else:
                target[key] = WEIRD_VALUES[rng.integers(len(WEIRD_VALUES))]
        elif kind == 4:
            records.append(json.loads(json.dumps(rec)))  # the same user twice
        elif kind == 5:
            rec["events"][list(rec["events"])[0]].append({"day": int(rng.integers(-5, 70)), "hour": 3, "text": "t"})
        else:
            lines_done = True
    lines = [json.dumps(r).encode() for r in records]
    if lines_done:
        i = int(rng.integers(len(lines)))
        how = rng.integers(5)
        if how == 0:
            cut = int(rng.integers(1, len(lines[i])))
            lines[i] = lines[i][:cut] + b"\xff\xfe" + lines[i][cut:]  # not UTF-8
        elif how == 1:
            lines[i] = lines[i][: int(rng.integers(1, len(lines[i])))]  # a truncated line
        elif how == 2:
            lines.insert(i, b"   " if rng.random() < 0.5 else "\u00a0\u2003\x1c".encode())  # blank, in Unicode too
        elif how == 3:
            return b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"  # a spreadsheet's BOM and CRLF: fine
        else:
            lines[i] = lines[i].replace(b'"day": ', b'"day": 1e999 + ', 1)  # not JSON
    return b"\n".join(lines) + b"\n"


def test_every_mutated_file_is_accepted_or_each_problem_is_named(tiny, tmp_path):
    """Records mutated at random are either accepted by every reader, or every reader names a problem with its line,
    and the user and field where there is a record; nothing raises anything else, and embed writes nothing."""
    records = [json.loads(line) for line in tiny.records.read_text().splitlines()[:4]]
    path = tmp_path / "mutated.jsonl"
    rng = np.random.default_rng(0)
    accepted = rejected = embedded = 0
    for trial in range(300):
        path.write_bytes(mutate(records, rng))
        problems = list(your_logs.validate_file(path, tiny.spec))
        for problem in problems:
            assert PROBLEM_LINE.match(problem), (trial, problem)
        try:
            loaded = your_logs.load_records(path, tiny.spec)
        except RecordError as e:
            assert problems and PROBLEM_LINE.match(str(e)), (trial, str(e))
            with pytest.raises(RecordError, match=r"^mutated\.jsonl line \d+"):
                list(batch_embedding.iter_chunks(path, tiny.spec, 2))
            rejected += 1
            if embedded < 3:  # a file rejected late: no output is left behind
                out = tmp_path / "emb.npy"
                with pytest.raises(RecordError):
                    batch_embedding.embed_file(path, tiny.model, QUERIES[:1], out, chunk_size=1, progress=False)
                assert not out.exists() and not out.with_suffix(".json").exists()
                embedded += 1
            continue
        assert not problems, (trial, problems)
        assert [r["user_id"] for c in batch_embedding.iter_chunks(path, tiny.spec, 2) for r in c] == [
            r["user_id"] for r in loaded
        ]
        assert batch_embedding.count_records(path) == len(loaded)  # the rows embed reserves: the records it reads
        accepted += 1
    assert accepted > 10 and rejected > 100  # both outcomes were drawn many times


# ----------------------------------------------------------------------------- 4. the CLI's help and errors


@pytest.mark.parametrize("command", ["run", "validate", "pretrain", "embed", "probe", "sample", "results"])
def test_cli_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: python -m qa_helpers {command}" in capsys.readouterr().out


def test_cli_names_what_is_wrong(tiny, embedded, tmp_path, capsys):
    # a spec file that does not exist
    missing_spec = tmp_path / "nope.json"
    with pytest.raises(SpecError, match="qa_helpers/method/spec.py"):
        DatasetSpec.load(missing_spec)
    rc, _, err = run_cli(capsys, "validate", tiny.records, "--spec", missing_spec)
    assert rc == 2 and "nope.json: no such spec file" in err and "qa_helpers/method/spec.py" in err

    # pretrain --records without --spec
    rc, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--records", tiny.records)
    assert rc == 2 and "--records needs --spec" in err
    assert not (tmp_path / "run").exists()

    # embed with a folder that is no model, and to an unsupported suffix
    embed = ["embed", tiny.records, "--queries", tiny.queries_file]
    rc, _, err = run_cli(capsys, *embed, "--model", tmp_path, "--out", tmp_path / "e.npy")
    assert rc == 2 and "is not a saved Q-Anchor model" in err and "pretrain one first" in err
    rc, _, err = run_cli(capsys, *embed, "--model", tiny.model, "--out", tmp_path / "e.csv")
    assert rc == 2 and "output must end in one of" in err and "'e.csv'" in err

    probe_args = ["--records", tiny.records, "--spec", tiny.spec_path, "--tasks", tiny.tasks]
    header = tiny.labels.read_text().splitlines()[0]

    # labelled users without embeddings
    ghosts = tmp_path / "ghosts.csv"
    ghosts.write_text(tiny.labels.read_text() + "ghost,0,1,0\n")
    rc, _, err = run_cli(capsys, "probe", embedded.path, "--labels", ghosts, *probe_args)
    assert rc == 2 and "1 labelled users have no record, e.g. 'ghost'" in err

    # a label that is not 0/1
    bad_value = tmp_path / "bad_value.csv"
    bad_value.write_text(f"{header}\ns00000,0,1,0\ns00001,0,2,0\n")
    rc, _, err = run_cli(capsys, "probe", embedded.path, "--labels", bad_value, *probe_args)
    assert rc == 2 and "bad_value.csv line 3 (user 's00001'): labels must be 0 or 1" in err

    # several queries embedded and no --tasks to say which one each task probes
    rc, _, err = run_cli(
        capsys, "probe", embedded.path, "--labels", tiny.labels, "--records", tiny.records, "--spec", tiny.spec_path
    )
    assert rc == 2 and "the embeddings hold 3 queries" in err and "--tasks" in err


def test_cli_embed_and_probe_happy_path(tiny, embedded, tmp_path, capsys):
    out = tmp_path / "emb.parquet"
    rc, printed, _ = run_cli(
        capsys, "embed", tiny.records, "--model", tiny.model, "--queries", tiny.queries_file, "--out", out
    )
    assert rc == 0 and f"{N_USERS} users x 3 queries -> {out}" in printed
    np.testing.assert_allclose(batch_embedding.read_embeddings(out)[2], embedded.read[2], atol=1e-6)
    rows_json = tmp_path / "rows.json"
    rc, printed, _ = run_cli(
        capsys,
        "probe",
        out,
        "--labels",
        tiny.labels,
        "--records",
        tiny.records,
        "--spec",
        tiny.spec_path,
        "--tasks",
        tiny.tasks,
        "--out",
        rows_json,
    )
    assert rc == 0 and "Q-Anchor (linear probe)" in printed and "counts + GBDT" in printed
    rows = json.loads(rows_json.read_text())
    assert {r["task"] for r in rows} == {*TASKS, "Avg"}


# ----------------------------------------------------------------------------- 5. resumable pretraining


def test_pretraining_resumes_from_its_checkpoint(tiny):
    assert tiny.cfg.checkpoint_every == 3
    assert (tiny.out / "checkpoints" / "ckpt-000003" / "trainer_state.pt").exists()
    trainer, data = your_logs.pretrainer(
        tiny.records, tiny.spec, tiny.out, tiny.cfg, tiny.future, n_facets=6, text_encoder="hashing-32"
    )
    assert trainer.step == 3 and len(trainer.history) == 3
    assert [h["loss"] for h in trainer.history] == [h["loss"] for h in tiny.history]
    assert data["users"].user_ids == tiny.user_ids
    history = trainer.run(4, progress=False)  # one more step, continuing the count (no checkpoint at 4)
    assert trainer.step == 4 and len(history) == 4 and np.isfinite(history[-1]["loss"])


def test_a_run_resumes_only_checkpoints_of_the_same_data_settings_and_code(tiny, tmp_path, capsys, monkeypatch):
    """pretrain into a folder whose checkpoints were trained on other records, settings or code stops and names the
    difference and --fresh; --fresh starts afresh; the same run resumes."""
    import shutil

    from qa_helpers.method import train

    out = tmp_path / "run"
    shutil.copytree(tiny.out / "checkpoints", out / "checkpoints")
    args = dict(n_facets=6, text_encoder="hashing-32")
    trainer, _ = your_logs.pretrainer(tiny.records, tiny.spec, out, tiny.cfg, tiny.future, **args)
    assert trainer.step == 3  # the same run: resumed
    fewer = write_lines(tmp_path / "fewer.jsonl", tiny.records.read_text().splitlines()[:-1])
    with pytest.raises(train.RunMismatch, match=r"records changed.*--fresh"):
        your_logs.pretrainer(fewer, tiny.spec, out, tiny.cfg, None, **args)
    other = config.load("smoke", **{**{f: getattr(tiny.cfg, f) for f in ("eval_pairs", "eval_every", "batch_size",
        "tokenizer_vocab", "query_encoder", "checkpoint_every")}, "lr": 1e-3})  # fmt: skip
    with pytest.raises(train.RunMismatch, match=r"settings: lr 0\.0002 -> 0\.001"):
        your_logs.pretrainer(tiny.records, tiny.spec, out, other, tiny.future, **args)
    with pytest.raises(train.RunMismatch, match="facets 6 -> 7"):
        your_logs.pretrainer(tiny.records, tiny.spec, out, tiny.cfg, tiny.future, n_facets=7, text_encoder="hashing-32")
    monkeypatch.setattr(your_logs, "code_fingerprint", lambda modules, **kwargs: "edited")
    with pytest.raises(train.RunMismatch, match="code changed"):
        your_logs.pretrainer(tiny.records, tiny.spec, out, tiny.cfg, tiny.future, **args)
    rc, _, err = run_cli(capsys, "pretrain", "--records", fewer, "--spec", tiny.spec_path, "--out", out)
    assert rc == 2 and "holds checkpoints of another run" in err and "--fresh" in err
    trainer, _ = your_logs.pretrainer(fewer, tiny.spec, out, tiny.cfg, None, fresh=True, **args)
    assert trainer.step == 0 and not list((out / "checkpoints").glob("ckpt-*"))
    saved = json.loads((out / "checkpoints" / "fingerprint.json").read_text())
    assert saved["code"] == "edited" and saved["settings"]["facets"] == 6 and saved["future"] is None


def test_pretrain_defaults_to_the_logs_profile_and_says_so(capsys):
    """pretrain and tune default to the logs profile, whose sizes their --help states: a real model, not smoke's."""
    logs = config.load("logs")
    helps = {}
    for command in ("pretrain", "tune"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert f"default logs: {logs.pretrain_steps} steps of {logs.batch_size} pairs" in helps["pretrain"]
    assert f"{logs.own_logs_facets} for logs" in helps["pretrain"]
    assert f"default logs: {logs.prompt_tokens} tokens, {logs.prompt_steps} steps" in helps["tune"]
    assert logs.pretrain_steps >= 600 and logs.own_logs_facets == 24 and logs.prompt_steps == 500


def test_pretrain_ends_with_a_report(tiny):
    report = your_logs.pretrain_report(tiny.out)
    assert str(tiny.out / "model") in report and "UserU:" in report and "next: python -m qa_helpers embed" in report
    assert "held-out users: not evaluated" in report  # the tiny run evaluates nothing (eval_every 0)


def test_pretrainer_refuses_a_future_file_of_other_users(tiny, tmp_path):
    lines = tiny.future.read_text().splitlines()
    shuffled = write_lines(tmp_path / "future.jsonl", lines[1:] + lines[:1])
    with pytest.raises(RecordError, match="the same users"):
        your_logs.pretrainer(tiny.records, tiny.spec, tmp_path / "run", tiny.cfg, shuffled, text_encoder="hashing-32")


# ----------------------------------------------------------------------------- 6. probe


def test_probe_reports_every_task_for_both_methods(tiny, embedded):
    rows = your_logs.probe(
        embedded.path, tiny.labels, tiny.records, tiny.spec, json.loads(tiny.tasks.read_text()), n_boot=50
    )
    methods = ("Q-Anchor (linear probe)", "counts + GBDT")
    assert {(r["method"], r["task"]) for r in rows} == {(m, t) for m in methods for t in (*TASKS, "Avg")}
    for row in rows:
        for metric in ("auc", "ks"):
            lo, value, hi = row[f"{metric}_lo"], row[metric], row[f"{metric}_hi"]
            assert np.isfinite([lo, value, hi]).all(), row
            if row["task"] != "Avg":  # a task's percentile interval holds its estimate
                assert lo <= value <= hi, row
        assert 0.0 <= row["auc"] <= 1.0 and 0.0 <= row["ks"] <= 1.0
    per_task = [r for r in rows if r["task"] != "Avg"]
    assert all(r["n_test"] == N_USERS // 2 for r in per_task)


def test_probe_and_read_labels_errors(tiny, embedded, tmp_path):
    users, tasks, labels = your_logs.read_labels(tiny.labels)
    assert users == tiny.user_ids and tasks == list(TASKS) and labels.shape == (N_USERS, 3)
    assert set(np.unique(labels)) <= {0, 1}

    def labels_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    with pytest.raises(ValueError, match="the header must be user_id followed by one column per task"):
        your_logs.read_labels(labels_file("header.csv", "user,churn\ns00000,1\n"))
    with pytest.raises(ValueError, match="the header must be user_id"):
        your_logs.read_labels(labels_file("no_tasks.csv", "user_id\ns00000\n"))
    with pytest.raises(ValueError, match="columns.csv line 3: expected 3 columns, got 2"):
        your_logs.read_labels(labels_file("columns.csv", "user_id,a,b\ns00000,1,0\ns00001,1\n"))
    with pytest.raises(ValueError, match=r"values.csv line 2 \(user 's00000'\): labels must be 0 or 1, got \['yes'\]"):
        your_logs.read_labels(labels_file("values.csv", "user_id,a\ns00000,yes\n"))
    with pytest.raises(ValueError, match="duplicate user ids"):
        your_logs.read_labels(labels_file("dup.csv", "user_id,a\ns00000,1\ns00000,0\n"))

    one_task = labels_file("one_task.csv", "user_id,churn\n" + "".join(f"{u},{i % 2}\n" for i, u in enumerate(users)))
    with pytest.raises(ValueError, match="map each task to one"):
        your_logs.probe(embedded.path, one_task, tiny.records, tiny.spec)
    with pytest.raises(ValueError, match="no query for task 'churn'"):
        your_logs.probe(embedded.path, one_task, tiny.records, tiny.spec, {"other": QUERIES[0]})
    with pytest.raises(ValueError, match="query 'never embedded' was not embedded"):
        your_logs.probe(embedded.path, one_task, tiny.records, tiny.spec, {"churn": "never embedded"})
    fewer = write_lines(tmp_path / "fewer.jsonl", tiny.records.read_text().splitlines()[1:])
    with pytest.raises(ValueError, match="1 labelled users have no record, e.g. 's00000'"):
        your_logs.probe(embedded.path, one_task, fewer, tiny.spec, {"churn": TASKS["churn"]})


# ----------------------------------------------------------------------------- 7. Ray Data


@pytest.fixture
def ray_session():
    """Ray, shut down after the test whatever happens (embed_with_ray starts the local cluster itself)."""
    ray = pytest.importorskip("ray")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.multiprocess
def test_ray_job_matches_single_process(tiny, tmp_path, ray_session):
    small = write_lines(tmp_path / "small.jsonl", tiny.records.read_text().splitlines()[:40])
    single = tmp_path / "single.parquet"
    single_report = batch_embedding.embed_file(small, tiny.model, QUERIES, single, chunk_size=16, progress=False)

    shards = tmp_path / "shards"
    assert batch_embedding.records_to_parquet(small, shards, tiny.spec, shard_users=16) == 3
    out = tmp_path / "ray_out"
    ray_report = batch_embedding.embed_with_ray(shards, tiny.model, QUERIES, out, chunk_size=16, workers=2)
    assert ray_report["users"] == 40

    users, queries, emb = batch_embedding.read_embeddings(out)
    ref_users, ref_queries, ref_emb = batch_embedding.read_embeddings(single)
    order = np.argsort(users)
    assert [users[i] for i in order] == sorted(ref_users) == ref_users
    assert queries == ref_queries
    np.testing.assert_allclose(emb[order], ref_emb, atol=1e-5)
    print(
        f"\nusers/s on 40 users x 3 queries: single process {single_report['users_per_second']:.1f}, "
        f"Ray (2 actors, excluding ray.init) {ray_report['users_per_second']:.1f}"
    )


# ----------------------------------------------------------------------------- 8. tuned prompts for your tasks


def test_tune_then_embed_with_the_prompts(tiny, embedded, tmp_path, capsys):
    prompts = tmp_path / "prompts"
    rc, printed, _ = run_cli(
        capsys, "tune", "--model", tiny.model, "--records", tiny.records, "--labels", tiny.labels,
        "--tasks", tiny.tasks, "--out", prompts, "--profile", "smoke",
    )  # fmt: skip
    assert rc == 0 and f"3 prompts of {config.load('smoke').prompt_tokens} vectors" in printed
    saved = PromptSet.load(prompts)
    assert saved.tasks == list(TASKS) and saved.queries == QUERIES and saved.step == config.load("smoke").prompt_steps
    out = tmp_path / "tuned.parquet"
    rc, _, _ = run_cli(
        capsys, "embed", tiny.records, "--model", tiny.model, "--queries", tiny.queries_file,
        "--out", out, "--prompts", prompts,
    )  # fmt: skip
    users, queries, tuned = batch_embedding.read_embeddings(out)
    assert rc == 0 and users == tiny.user_ids and queries == QUERIES
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=-1), 1.0, atol=1e-5)
    assert not np.allclose(tuned, embedded.read[2], atol=1e-3)  # the prompts move the embeddings
    rc, _, err = run_cli(
        capsys, "embed", tiny.records, "--model", tiny.model, "--queries", tiny.queries_file,
        "--out", tmp_path / "x.parquet", "--prompts", tmp_path / "nowhere",
    )  # fmt: skip
    assert rc == 2 and "error" in err
