"""Entry point of the frozen executable: the same ``ccdesk`` command line as the installed script."""

import sys

from ccdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
