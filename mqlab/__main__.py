"""`python -m mqlab` and the `mqlab` console script."""

from mqlab.cli.core import main

if __name__ == "__main__":
    raise SystemExit(main())
