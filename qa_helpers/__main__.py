"""Command line: `python -m qa_helpers run|sample|results ...`."""

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
    sub.add_parser("results", help="rewrite the README's results section from the default profile's metrics")
    args = parser.parse_args(argv)

    if args.command == "run":
        from .runner import run as run_series

        run_series(args.profile, args.only)
    elif args.command == "sample":
        from .datasheet import write_sample

        write_sample()
    elif args.command == "results":
        from .results_page import README, update_readme

        print(f"{README.name} results section", "updated" if update_readme() else "already up to date")


if __name__ == "__main__":
    main()
