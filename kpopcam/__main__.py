"""`python -m kpopcam`: the same as the `kpopcam` command."""

import sys

from kpopcam.cli import main

sys.exit(main())
