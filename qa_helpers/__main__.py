"""`python -m qa_helpers COMMAND`: the command line (qa_helpers/cli/main.py)."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
