"""Command line: `python -m qa_helpers COMMAND --help` for each.

The series:   run (every notebook with papermill), book (the executed notebooks as HTML), sample, results,
              pretrain (the synthetic world's model).
Your logs:    validate, pretrain --records, embed, probe, tune (a records file and its spec: qa_helpers/method/spec.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..series import config

LOGS_PROFILE = "logs"  # the profile `pretrain --records` and `tune` default to (config.PROFILES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa_helpers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks in order with papermill")
    run.add_argument("--profile", default="default", choices=sorted(config.PROFILES))
    run.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers or names to run (default: all)")
    book = sub.add_parser("book", help="render the executed notebooks as a static HTML book and check its links")
    book.add_argument("--profile", default="default", choices=sorted(config.PROFILES))
    book.add_argument("--notebooks", type=Path, help="the executed notebooks (default: artifacts/PROFILE/notebooks)")
    book.add_argument("--out", type=Path, help="the book's folder (default: artifacts/PROFILE/book)")
    sub.add_parser("sample", help="regenerate data_samples/ (the committed sample and its datasheet tables)")
    sub.add_parser("results", help="rewrite the README's results section from the default profile's metrics")

    val = sub.add_parser("validate", help="check a records file against its spec; every problem, one line each")
    val.add_argument("records", type=Path, help="JSONL, one user per line (qa_helpers/method/schema.py)")
    val.add_argument("--spec", type=Path, required=True, help="the dataset spec JSON (qa_helpers/method/spec.py)")
    val.add_argument("--max-problems", type=int, default=1000, help="stop listing after this many (default 1000)")

    pre = sub.add_parser(
        "pretrain",
        help="pretrain on your records (--records, --spec) or on the synthetic world; under torchrun on N processes",
    )
    pre.add_argument("--out", type=Path, required=True, help="checkpoints, history.json and model/ go here")
    pre.add_argument("--records", type=Path, help="your records (JSONL); without it, the profile's synthetic world")
    pre.add_argument("--spec", type=Path, help="their spec (required with --records)")
    pre.add_argument("--future", type=Path, help="the same users' next-period events, for D_future answers")
    logs = config.load(LOGS_PROFILE)
    pre.add_argument(
        "--profile",
        default=None,
        choices=sorted(config.PROFILES),
        help=f"sizes and recipe (default {LOGS_PROFILE}: {logs.pretrain_steps} steps of {logs.batch_size} pairs, "
        f"held-out diagnostics every {logs.eval_every} steps, a checkpoint every {logs.checkpoint_every}; "
        "without --records: default, the series' own recipe and world)",
    )
    pre.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: the profile's)")
    pre.add_argument(
        "--facets",
        type=int,
        default=None,
        help=f"facets (clusters of event texts) UserU asks about (default: the profile's, {logs.own_logs_facets} for "
        f"{LOGS_PROFILE})",
    )
    pre.add_argument(
        "--text-encoder",
        default=None,
        help=f"sentence encoder of event texts (default: the profile's, {logs.text_encoder})",
    )
    pre.add_argument(
        "--fresh", action="store_true", help="delete OUT's checkpoints and start afresh (a rerun resumes only a run "
        "of the same records, spec, settings and code)"
    )  # fmt: skip

    emb = sub.add_parser("embed", help="embed every user of a records file under every query")
    emb.add_argument("records", type=Path, help="JSONL records, validated against the model's spec")
    emb.add_argument("--model", type=Path, required=True, help="a saved model folder (pretrain's OUT/model)")
    emb.add_argument("--queries", type=Path, required=True, help="a text file, one query per line")
    emb.add_argument("--out", type=Path, required=True, help=".parquet or .npy (with --ray: a folder of shards)")
    emb.add_argument("--chunk-size", type=int, default=1000, help="users per chunk (memory stays flat)")
    emb.add_argument(
        "--batch-size", type=int, help="users per model batch within a chunk (default 32, batch_embedding.BATCH_USERS)"
    )
    emb.add_argument("--path", default="cached", choices=("cached", "packed"), help="inference path (notebook 06)")
    emb.add_argument("--prompts", type=Path, help="a tuned prompt set folder (notebook 05): one prompt per query")
    emb.add_argument("--ray", action="store_true", help="run as a Ray Data job (pip install 'qa-helpers[ray]')")
    emb.add_argument("--workers", type=int, default=2, help="Ray actors (one CPU each)")

    prb = sub.add_parser("probe", help="AUC / KS of linear probes on embeddings vs counts + GBDT, per labelled task")
    prb.add_argument("embeddings", type=Path, help="embed's output (.parquet file or folder, or .npy)")
    prb.add_argument("--labels", type=Path, required=True, help="CSV: user_id, then one 0/1 column per task")
    prb.add_argument("--records", type=Path, required=True, help="the users' records (for the counts baseline)")
    prb.add_argument("--spec", type=Path, required=True, help="their spec")
    prb.add_argument("--tasks", type=Path, help="JSON: task -> the query whose embedding it probes")
    prb.add_argument("--seed", type=int, default=0)
    prb.add_argument("--out", type=Path, help="write every row (with intervals) here as JSON")

    tun = sub.add_parser("tune", help="soft prompts per labelled task (Eq. 7), on the probe's training half")
    tun.add_argument("--model", type=Path, required=True, help="a saved model folder (pretrain's OUT/model)")
    tun.add_argument("--records", type=Path, required=True, help="the labelled users' records (JSONL)")
    tun.add_argument("--labels", type=Path, required=True, help="CSV: user_id, then one 0/1 column per task")
    tun.add_argument("--tasks", type=Path, required=True, help="JSON: task -> its query")
    tun.add_argument("--out", type=Path, required=True, help="the prompt set folder, for embed --prompts")
    tun.add_argument(
        "--profile",
        default=LOGS_PROFILE,
        choices=sorted(config.PROFILES),
        help=f"prompt settings (default {LOGS_PROFILE}: {logs.prompt_tokens} tokens, {logs.prompt_steps} steps of "
        f"{logs.prompt_batch} users per task)",
    )
    tun.add_argument("--seed", type=int, default=0, help="the probe split's seed (use probe's)")
    for command in (pre, emb, tun):
        command.add_argument(
            "--no-raw-text", action="store_true", help="the text cache keeps no event text: hashes and vectors only "
            "(pretrain still writes UserU's answers and the facets' names, which quote event texts, under --out)"
        )  # fmt: skip
    args = parser.parse_args(argv)
    if getattr(args, "no_raw_text", False):
        from ..method.sentence_encoder import NO_RAW_TEXT_ENV

        os.environ[NO_RAW_TEXT_ENV] = "1"  # read by every text cache, Ray workers and torchrun ranks included

    try:
        return COMMANDS[args.command](args)
    except (ValueError, KeyError, FileNotFoundError) as e:  # RecordError and SpecError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from ..series.runner import run as run_series

    config.require_checkout("python -m qa_helpers run")
    run_series(args.profile, args.only)
    return 0


def _book(args) -> int:
    from ..series.book import build, check_links

    out = build(args.profile, args.notebooks, args.out)
    report = check_links(out)
    print(
        f"{out / 'index.html'}: {report.pages} pages, {report.megabytes:.1f} MB, {report.inline_images} images inline; "
        f"{report.local_links} local links checked, {report.external_links} external ones not fetched"
    )
    for broken in report.broken:
        print(f"broken link: {broken}", file=sys.stderr)
    if report.broken:
        print(f"error: {len(report.broken)} broken link(s) in {out}", file=sys.stderr)
        return 1
    return 0


def _sample(args) -> int:
    from ..series.datasheet import write_sample

    config.require_checkout("python -m qa_helpers sample")
    write_sample()
    return 0


def _results(args) -> int:
    from ..series.results_page import README, update_readme

    config.require_checkout("python -m qa_helpers results")
    print(f"{README.name} results section", "updated" if update_readme() else "already up to date")
    return 0


def _validate(args) -> int:
    from ..method.spec import DatasetSpec
    from .your_logs import validate_file

    spec = DatasetSpec.load(args.spec)
    n = 0
    for n, problem in enumerate(validate_file(args.records, spec), 1):
        if n > args.max_problems:
            print(f"... more problems not listed (--max-problems {args.max_problems})")
            break
        print(problem)
    if n:
        print(f"{args.records}: {min(n, args.max_problems)}{'+' if n > args.max_problems else ''} problem(s)")
        return 1
    print(f"{args.records}: every record follows {args.spec}")
    return 0


def _pretrain(args) -> int:
    """Pretrain (one process, or every process of a torchrun launch); rank 0 writes history.json and the model."""
    import torch
    import torch.distributed as dist

    if args.records is not None and args.spec is None:
        raise ValueError("--records needs --spec (the dataset spec JSON beside your records)")
    cfg = config.load(args.profile or (LOGS_PROFILE if args.records is not None else "default"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        if args.records is not None:
            from ..method.spec import DatasetSpec
            from .your_logs import pretrain, pretrain_report

            spec = DatasetSpec.load(args.spec)
            facets = cfg.own_logs_facets if args.facets is None else args.facets
            encoder = args.text_encoder or cfg.text_encoder
            pretrain(args.records, spec, args.out, cfg, args.future, args.steps, facets, encoder, fresh=args.fresh)
            if int(os.environ.get("RANK", "0")) == 0:
                print(pretrain_report(args.out))
        else:
            from ..method.train import prepare_run_folder
            from ..series import artifacts, pipeline

            prepare_run_folder(args.out / "checkpoints", {"artifact": artifacts.key(cfg, "pretrain")}, args.fresh)
            trainer = pipeline.pretrainer(cfg, artifacts.pretraining_data(cfg), out_dir=args.out / "checkpoints")
            history = trainer.run(args.steps)
            if trainer.rank == 0:
                (args.out / "history.json").write_text(json.dumps(history, indent=1))
                trainer.model.save_pretrained(args.out / "model")
                print(f"model: {args.out / 'model'} ({len(history)} steps on the {cfg.name} profile's world)")
    finally:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
    return 0


def _embed(args) -> int:
    from . import batch_embedding

    queries = [q.strip() for q in args.queries.read_text(encoding="utf-8").splitlines() if q.strip()]
    batch_size = batch_embedding.BATCH_USERS if args.batch_size is None else args.batch_size
    if args.ray:
        import tempfile

        model, _ = batch_embedding.load_model(args.model)
        with tempfile.TemporaryDirectory() as shards:
            batch_embedding.records_to_parquet(args.records, shards, model.config.spec, args.chunk_size)
            report = batch_embedding.embed_with_ray(
                shards,
                args.model,
                queries,
                args.out,
                args.chunk_size,
                args.workers,
                args.path,
                args.prompts,
                batch_size,
            )
    else:
        report = batch_embedding.embed_file(
            args.records, args.model, queries, args.out, args.chunk_size, args.path, args.prompts, batch_size=batch_size
        )
    print(
        f"{report['users']:,} users x {len(queries)} queries -> {args.out} "
        f"in {report['seconds']:.1f} s ({report['users_per_second']:.0f} users/s)"
    )
    return 0


def _probe(args) -> int:
    from ..method import evaluation
    from ..method.spec import DatasetSpec
    from .your_logs import probe

    tasks = json.loads(args.tasks.read_text()) if args.tasks else None
    spec = DatasetSpec.load(args.spec)
    rows = probe(args.embeddings, args.labels, args.records, spec, tasks, args.seed)
    for metric in ("auc", "ks"):
        print(evaluation.table(rows, metric, with_ci=True).round(3).to_string(), end="\n\n")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


def _tune(args) -> int:
    from .your_logs import tune_prompts

    tasks = json.loads(args.tasks.read_text())
    prompts = tune_prompts(args.model, args.records, args.labels, tasks, args.out, config.load(args.profile), args.seed)
    print(f"{len(prompts.tasks)} prompts of {prompts.n_tokens} vectors -> {args.out} (embed --prompts {args.out})")
    return 0


COMMANDS = {
    "run": _run,
    "book": _book,
    "sample": _sample,
    "results": _results,
    "validate": _validate,
    "pretrain": _pretrain,
    "embed": _embed,
    "probe": _probe,
    "tune": _tune,
}
