"""Parse command lines with the real lmcache 0.5.6 and vLLM 0.33.0 CLIs
(run by .tools/lmcache-cli/bin/python, which scripts/install-real-cli.sh sets up).

stdin: a JSON list of {"command": "server" | "coordinator" | "vllm" | "pair", "args": [...]}.
stdout: a JSON list of {"ok": bool, "error": str}, one per command line. A server command line
must parse and build every config object `lmcache server` builds before it starts; a
coordinator command line must parse; a vllm one must parse as `vllm serve` arguments and pass
the checks `vllm serve` makes on them before it starts. A "pair" is [server args as JSON,
kv-transfer-config JSON]: the server's MPServerConfig and what the vLLM-side connector
resolves from the config's kv_connector_extra_config must agree on every key the connector
documents as "must match" the server.

`--contract` prints, as JSON, those keys: {key: {"flag": server flag, "default": connector
default}}, read from the real connector's ExtraConfigDefault (its comments say which keys
must match a server setting).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import re
import sys


class Rejected(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit
        raise Rejected(message)


def vllm_parser():
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")  # no GPU here: only the parser is used
    from vllm.entrypoints.common.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    class VllmParser(FlexibleArgumentParser):
        def error(self, message):
            raise Rejected(message)

    return make_arg_parser(VllmParser(prog="vllm serve"))


def parser(command: str) -> Parser:
    if command == "vllm":
        return vllm_parser()
    from lmcache.cli.commands.coordinator import CoordinatorCommand
    from lmcache.cli.commands.server import ServerCommand

    p = Parser(prog=f"lmcache {command}")
    (ServerCommand() if command == "server" else CoordinatorCommand()).add_arguments(p)
    if len(p._actions) < 10:  # the CLI silently registers nothing when imports fail
        raise SystemExit(f"the real lmcache {command} parser did not load")
    return p


def contract() -> dict[str, dict]:
    """The connector's "must match" extra-config keys, from the comments in its source."""
    from lmcache.integration.vllm import vllm_multi_process_adapter as adapter

    source = inspect.getsource(adapter.ExtraConfigDefault).splitlines()
    found, comment = {}, []
    for line in source:
        text = line.strip()
        if text.startswith("#"):
            comment.append(text.lstrip("# "))
            continue
        member = re.match(r"^(\w+) = ", text)
        said = " ".join(comment)
        if member and "must match" in said.lower():
            flag = re.search(r"--[a-z][a-z0-9-]*", said)
            found[adapter._EXTRA_CONFIG_KEY_PREFIX + member.group(1)] = {
                "flag": flag.group(0) if flag else None,
                "default": getattr(adapter.ExtraConfigDefault, member.group(1)).default,
            }
        comment = []
    return found


def check_pair(args: list[str], parsers: dict) -> None:
    from lmcache.integration.vllm.vllm_multi_process_adapter import _resolve_extra_config
    from lmcache.v1.multiprocess.config import parse_args_to_mp_server_config

    server_args, kv_transfer_config = json.loads(args[0]), json.loads(args[1])
    server = parse_args_to_mp_server_config(parsers["server"].parse_args(server_args))
    resolved = _resolve_extra_config(kv_transfer_config.get("kv_connector_extra_config"))
    for key in contract():
        name = key.rsplit(".", 1)[1]
        if getattr(server, name) != resolved[name]:
            raise ValueError(
                f"{key}: the connector resolves {resolved[name]!r} but the server runs with"
                f" {getattr(server, name)!r}"
            )


def check(command: str, args: list[str], parsers: dict) -> str:
    if command == "pair":
        check_pair(args, parsers)
        return ""
    ns = parsers[command].parse_args(args)
    if command == "vllm":
        from vllm.entrypoints.common.cli_args import validate_parsed_serve_args

        validate_parsed_serve_args(ns)
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
    parsers = {c: parser(c) for c in ("server", "coordinator", "vllm")}
    if sys.argv[1:] == ["--contract"]:
        json.dump(contract(), sys.stdout)
        return 0
    if sys.argv[1:] == ["--self-check"]:
        check("server", ["--l1-size-gb", "1", "--eviction-policy", "LRU"], parsers)
        check("vllm", ["some/model", "--block-size", "64"], parsers)
        print("real lmcache and vLLM CLIs: ok")
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
