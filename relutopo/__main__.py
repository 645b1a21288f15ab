"""``python -m relutopo`` is the ``relutopo`` command line."""

import sys

from .cli import main

sys.exit(main())
