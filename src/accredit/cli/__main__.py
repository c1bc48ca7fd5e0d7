"""``python -m accredit.cli``: the same as the ``accredit`` command."""

import sys

from . import main

sys.exit(main())
