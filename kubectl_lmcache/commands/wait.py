"""`kubectl lmcache wait NAME --for=phase=Running --timeout 5m`: block until a status holds.

`--for` takes `phase=<Phase>` or `condition=<Type>[=<Status>]` (Status defaults to True),
as `kubectl wait --for=condition=...` does. The status is computed again every
`--interval` (list calls, no watch). Prints `<kind>/<name> condition met` and exits 0,
or exits 1 on timeout with the last phase and readiness.
"""

from __future__ import annotations

import argparse

from ..fetch import read_status_objects
from ..kube import DAEMONSETS, DEPLOYMENTS
from ..model import Status
from ..status import compute
from ..timefmt import parse_duration
from .common import Context, UsageError, pick, scope, target, where


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _condition(text: str) -> tuple[str, str, str]:
    """('phase', Phase, '') or ('condition', Type, Status) from a --for value."""
    what, _, rest = text.partition("=")
    if what == "phase" and rest:
        return "phase", rest, ""
    if what == "condition" and rest:
        kind, _, wanted = rest.partition("=")
        return "condition", kind, wanted or "True"
    raise argparse.ArgumentTypeError(
        f"invalid --for {text!r}: use phase=<Phase> or condition=<Type>[=<Status>]"
    )


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "wait",
        parents=parents,
        help="wait until an engine or coordinator reaches a phase or condition",
        description="Wait for a phase or condition, for pipelines (`kubectl lmcache wait"
        " my-cache --for=phase=Running --timeout 5m`).",
    )
    p.add_argument("name", metavar="[KIND/]NAME")
    p.add_argument(
        "--for",
        dest="wanted",
        type=_condition,
        required=True,
        metavar="phase=PHASE|condition=TYPE[=STATUS]",
    )
    p.add_argument(
        "--timeout", type=_seconds, default=30.0, help="give up after this long (default 30s)"
    )
    p.add_argument(
        "--interval", type=_seconds, default=2.0, help="time between checks (default 2s)"
    )
    p.set_defaults(run=run)


def _met(status: Status, wanted: tuple[str, str, str]) -> bool:
    what, name, value = wanted
    if what == "phase":
        return status.phase.lower() == name.lower()
    condition = status.condition(name)
    return condition is not None and condition.status.lower() == value.lower()


def _describe(status: Status) -> str:
    counts = "?" if status.ready is None else f"{status.ready}/{status.desired}"
    unit = "instances" if status.is_engine else "replicas"
    return f"phase is {status.phase} ({counts} {unit} ready)"


def run(args: argparse.Namespace, ctx: Context) -> int:
    kube = ctx.connect(target(args))
    namespace = scope(args, kube)
    deadline = ctx.monotonic() + max(args.timeout, 0.0)
    while True:
        snapshot = read_status_objects(kube, namespace, pods=False, now=ctx.now())
        for kind in (DAEMONSETS, DEPLOYMENTS):
            if not snapshot.readable(kind):
                raise UsageError(f"cannot wait: {snapshot.failures[kind.kind]}")
        found = pick(compute(snapshot), args.name)
        if not found:
            raise UsageError(f"{args.name} not found {where(namespace)}")
        if len(found) > 1:
            kinds = ", ".join(s.ref for s in found)
            raise UsageError(f"{args.name} is ambiguous ({kinds}): name one as KIND/NAME")
        status = found[0]
        if _met(status, args.wanted):
            ctx.stdout.write(f"{status.ref} condition met\n")
            return 0
        remaining = deadline - ctx.monotonic()
        if remaining <= 0:
            ctx.stderr.write(
                f"error: timed out waiting for the condition on {status.ref}: {_describe(status)}\n"
            )
            return 1
        ctx.sleep(min(args.interval, remaining))
