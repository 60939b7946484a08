"""``python -m ccdesk``."""

import sys

from ccdesk.cli import main

sys.exit(main())
