"""`python -m ecgmask.pretrain --help`."""

import sys

from ecgmask.pretrain.cli import main

if __name__ == "__main__":
    sys.exit(main())
