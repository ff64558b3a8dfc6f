"""One module per subcommand; each has `register(subparsers, parents)` and `run(args, ctx)`."""

from __future__ import annotations

from . import describe, get, migrate, wait

COMMANDS = (get, describe, wait, migrate)
