"""``python -m kpis``: the command line (see :mod:`kpis.cli.main`)."""

import sys

from kpis.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
