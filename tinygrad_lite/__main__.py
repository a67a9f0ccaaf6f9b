"""`python -m tinygrad_lite ...` is the `tinygrad-lite` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
