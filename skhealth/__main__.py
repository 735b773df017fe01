"""``python -m skhealth``: the command line of :mod:`skhealth.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
