"""``python -m relutopo`` is the ``relutopo`` command line."""

import sys

from relutopo.repro.cli import main

sys.exit(main())
