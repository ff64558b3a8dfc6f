"""`python -m postrender`: the same as the `lmcache-postrender` console script."""

import sys

from postrender.cli import main

sys.exit(main())
