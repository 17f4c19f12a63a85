"""Command line: `python -m qa_helpers run|pretrain|sample|results ...`."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qa_helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks in order with papermill")
    run.add_argument("--profile", default="default", choices=sorted(config.PROFILES))
    run.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers or names to run (default: all)")
    pre = sub.add_parser(
        "pretrain", help="pretrain a profile's model; under torchrun --nproc_per_node N, on N processes"
    )
    pre.add_argument("--profile", default="smoke", choices=sorted(config.PROFILES))
    pre.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: the profile's)")
    pre.add_argument("--out", type=Path, required=True, help="checkpoints, history.json and the model go here")
    sub.add_parser("sample", help="regenerate data_samples/ (the committed sample and its datasheet tables)")
    sub.add_parser("results", help="rewrite the README's results section from the default profile's metrics")
    args = parser.parse_args(argv)

    if args.command == "run":
        from .runner import run as run_series

        run_series(args.profile, args.only)
    elif args.command == "pretrain":
        pretrain(config.load(args.profile), args.out, args.steps)
    elif args.command == "sample":
        from .datasheet import write_sample

        write_sample()
    elif args.command == "results":
        from .results_page import README, update_readme

        print(f"{README.name} results section", "updated" if update_readme() else "already up to date")


def pretrain(cfg: config.Profile, out: Path, steps: int | None = None) -> None:
    """Pretrain (one process, or every process of a torchrun launch); rank 0 writes history.json and the model."""
    import json
    import os

    import torch
    import torch.distributed as dist

    from . import artifacts, pipeline

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    trainer = pipeline.pretrainer(cfg, artifacts.pretraining_data(cfg), out_dir=out)
    history = trainer.run(steps)
    if trainer.rank == 0:
        (out / "history.json").write_text(json.dumps(history, indent=1))
        trainer.model.save_pretrained(out / "model")
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
