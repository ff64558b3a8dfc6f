"""What every subcommand shares: the run context, the scope, picking objects by name."""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from ..kube import Kube, KubeError, Target
from ..model import CACHEBLEND_KIND, COORDINATOR_KIND, ENGINE_KIND, Status

# kubectl-style kind names a NAME may be prefixed with (`lmcc/my-coordinator`)
KIND_ALIASES = {
    "lmc": ENGINE_KIND,
    "engine": ENGINE_KIND,
    "lmcacheengine": ENGINE_KIND,
    "cbe": CACHEBLEND_KIND,
    "cacheblend": CACHEBLEND_KIND,
    "cacheblendengine": CACHEBLEND_KIND,
    "lmcc": COORDINATOR_KIND,
    "coordinator": COORDINATOR_KIND,
    "lmcachecoordinator": COORDINATOR_KIND,
}


class UsageError(KubeError):
    """A request that cannot be answered as asked (bad name, nothing found)."""


@dataclass
class Context:
    stdout: TextIO
    stderr: TextIO
    connect: Callable[[Target], Kube]
    now: Callable[[], datetime.datetime] = field(
        default=lambda: datetime.datetime.now(datetime.UTC)
    )
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def warn(self, message: str) -> None:
        self.stderr.write(f"Warning: {message}\n")


def target(args: argparse.Namespace) -> Target:
    return Target(
        kubeconfig=args.kubeconfig, context=args.context, request_timeout=args.request_timeout
    )


def scope(args: argparse.Namespace, kube: Kube) -> str | None:
    """The namespace to read: None for -A, else -n, else the context's namespace."""
    if getattr(args, "all_namespaces", False):
        return None
    return args.namespace or kube.namespace


def where(namespace: str | None) -> str:
    return "in any namespace" if namespace is None else f"in namespace {namespace}"


def parse_name(text: str) -> tuple[str | None, str]:
    """(kind or None, name) from `NAME` or `KIND/NAME`; UsageError for an unknown kind."""
    if "/" not in text:
        return None, text
    alias, _, name = text.partition("/")
    kind = KIND_ALIASES.get(alias.lower())
    if kind is None:
        kinds = ", ".join(sorted(KIND_ALIASES))
        raise UsageError(f"unknown kind {alias!r} in {text!r} (use one of: {kinds})")
    return kind, name


def pick(statuses: list[Status], text: str | None) -> list[Status]:
    if not text:
        return statuses
    kind, name = parse_name(text)
    return [s for s in statuses if s.name == name and (kind is None or s.kind == kind)]


def report_failures(ctx: Context, failures: dict[str, str]) -> None:
    for message in failures.values():
        ctx.warn(message)
