"""Parse command lines with the real lmcache 0.5.6 CLI (run by .tools/lmcache-cli/bin/python).

stdin: a JSON list of {"command": "server" | "coordinator", "args": [...]}.
stdout: a JSON list of {"ok": bool, "error": str}, one per command line. A server command line
must parse and build every config object `lmcache server` builds before it starts; a
coordinator command line must parse.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


class Rejected(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit
        raise Rejected(message)


def parser(command: str) -> Parser:
    from lmcache.cli.commands.coordinator import CoordinatorCommand
    from lmcache.cli.commands.server import ServerCommand

    p = Parser(prog=f"lmcache {command}")
    (ServerCommand() if command == "server" else CoordinatorCommand()).add_arguments(p)
    if len(p._actions) < 10:  # the CLI silently registers nothing when imports fail
        raise SystemExit(f"the real lmcache {command} parser did not load")
    return p


def check(command: str, args: list[str], parsers: dict) -> str:
    ns = parsers[command].parse_args(args)
    if command == "server":
        from lmcache.v1.distributed.config import parse_args_to_config
        from lmcache.v1.mp_observability.config import parse_args_to_observability_config
        from lmcache.v1.multiprocess.config import (
            parse_args_to_coordinator_config,
            parse_args_to_http_frontend_config,
            parse_args_to_mp_server_config,
        )

        for build in (
            parse_args_to_config,
            parse_args_to_observability_config,
            parse_args_to_coordinator_config,
            parse_args_to_http_frontend_config,
            parse_args_to_mp_server_config,
        ):
            build(ns)
    return ""


def main() -> int:
    logging.disable(logging.CRITICAL)
    parsers = {c: parser(c) for c in ("server", "coordinator")}
    if sys.argv[1:] == ["--self-check"]:
        check("server", ["--l1-size-gb", "1", "--eviction-policy", "LRU"], parsers)
        print("real lmcache CLI: ok")
        return 0
    results = []
    for item in json.load(sys.stdin):
        try:
            check(item["command"], item["args"], parsers)
            results.append({"ok": True, "error": ""})
        except (Rejected, ValueError, TypeError) as exc:
            results.append({"ok": False, "error": str(exc)})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
