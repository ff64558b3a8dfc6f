"""`kubectl lmcache get [NAME]`: one row per engine, CacheBlend engine and coordinator.

The counterpart of the operator's `kubectl get lmc` / `kubectl get lmcc`. `-o json|yaml`
prints operator-shaped objects (a List, or the object itself for one NAME).
"""

from __future__ import annotations

import argparse

from .. import output, probe
from ..fetch import read_status_objects
from ..status import compute
from .common import Context, UsageError, pick, report_failures, scope, target, where

FORMATS = ("wide", "json", "yaml")


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "get",
        parents=parents,
        help="list engines and coordinators with phase and readiness",
        description="List LMCache engines, CacheBlend engines and coordinators with PHASE,"
        " READY, DESIRED and ENDPOINT, like `kubectl get lmc` and `kubectl get lmcc`.",
    )
    p.add_argument(
        "name", nargs="?", metavar="[KIND/]NAME", help="only this one (KIND: lmc, cbe, lmcc)"
    )
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("-o", "--output", choices=FORMATS, help="wide, json or yaml")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also ask each engine's /status and each coordinator's /instances through the"
        " API server proxy (RBAC: get on pods/proxy and services/proxy)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    kube = ctx.connect(target(args))
    namespace = scope(args, kube)
    structured = args.output in ("json", "yaml")
    snapshot = read_status_objects(kube, namespace, pods=structured or args.probe, now=ctx.now())
    statuses = pick(compute(snapshot), args.name)
    report_failures(ctx, snapshot.failures)
    if args.name and not statuses:
        raise UsageError(f"{args.name} not found {where(namespace)}")
    if args.probe:
        probe.probe(kube, statuses)
    if structured:
        document = (
            statuses[0].to_object()
            if args.name and len(statuses) == 1
            else output.as_list(statuses)
        )
        ctx.stdout.write(output.dump(document, args.output))
    elif not statuses:
        ctx.stderr.write(f"No LMCache engines or coordinators found {where(namespace)}.\n")
    else:
        ctx.stdout.write(
            output.get_table(
                statuses,
                snapshot.now,
                all_namespaces=namespace is None,
                wide=args.output == "wide",
                probed=args.probe,
            )
        )
    return 1 if snapshot.failures else 0
