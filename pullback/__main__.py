"""``python -m pullback``: the sigmoid chain at x = 1.0, stage by stage."""

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
