"""`kubectl-lmcache`: kubectl runs it as `kubectl lmcache ...` (the plugin convention).

    kubectl lmcache get [NAME] [-n NS | -A] [-o wide|json|yaml] [--probe]
    kubectl lmcache describe NAME [-n NS] [--probe]
    kubectl lmcache wait NAME --for=phase=Running [--timeout 5m]
    kubectl lmcache migrate [-f FILE|-] [-n NS | -A] [-o DIR] [--adopt]

Connection flags are kubectl's: --kubeconfig, --context, -n/--namespace, -A, and
--request-timeout. Exit status 0 on success, 1 on errors (including a kind that could not
be listed, after printing what could be), 2 on usage errors, as kubectl does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .commands import COMMANDS
from .commands.common import Context
from .kube import KubeError, connect
from .timefmt import parse_duration

PROG = "kubectl lmcache"


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def connection_flags() -> argparse.ArgumentParser:
    """kubectl's flags, accepted before or after the subcommand."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("connection (as kubectl)")
    sup = argparse.SUPPRESS
    group.add_argument(
        "--kubeconfig",
        default=sup,
        help="kubeconfig file (default $KUBECONFIG, else ~/.kube/config)",
    )
    group.add_argument("--context", default=sup, help="kubeconfig context to use")
    group.add_argument("-n", "--namespace", default=sup, help="namespace (default: the context's)")
    group.add_argument(
        "--request-timeout",
        type=_seconds,
        default=sup,
        metavar="DURATION",
        help="timeout of each API request (default 30s)",
    )
    return flags


DEFAULTS = {"kubeconfig": None, "context": None, "namespace": None, "request_timeout": 30.0}


def parser() -> argparse.ArgumentParser:
    flags = connection_flags()
    top = argparse.ArgumentParser(
        prog=PROG,
        parents=[flags],
        description="Status of LMCache engines and coordinators installed by the lmcache chart,"
        " computed from the live objects (no operator needed).",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub, [flags])
    return top


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    context: Context | None = None,
) -> int:
    ctx = context or Context(stdout or sys.stdout, stderr or sys.stderr, connect)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    for key, value in DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    try:
        return args.run(args, ctx)
    except KubeError as exc:
        ctx.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
