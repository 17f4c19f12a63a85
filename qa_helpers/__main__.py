"""Command line: `python -m qa_helpers run|sample ...`."""

from __future__ import annotations

import argparse

from . import config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qa_helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks in order with papermill")
    run.add_argument("--profile", default="default", choices=sorted(config.PROFILES))
    run.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers or names to run (default: all)")
    sub.add_parser("sample", help="regenerate data_samples/ (the committed sample and its datasheet tables)")
    args = parser.parse_args(argv)

    if args.command == "run":
        from .runner import run as run_series
        run_series(args.profile, args.only)
    elif args.command == "sample":
        from .datasheet import write_sample
        write_sample()


if __name__ == "__main__":
    main()
