"""`python -m mqlab` and the `mqlab` console script."""

from mqlab.core import main

if __name__ == "__main__":
    raise SystemExit(main())
