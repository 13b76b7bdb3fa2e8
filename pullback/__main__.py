"""``python -m pullback``: see ``python -m pullback --help``."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
