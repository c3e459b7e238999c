"""``python -m trio_adapter``: the ``trio-mcp`` command line."""

import sys

from .cli import main

sys.exit(main())
