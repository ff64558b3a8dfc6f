"""`kubectl lmcache describe NAME`: the operator's `kubectl describe lmc`, and what it lacked.

Status, conditions with reason and message, the per-node endpoints, the Helm release, the
consumers (which vLLM pods are wired to the engine, how, and whether their connection is
stale, with the command that rolls a stale pod's owner) and the recent Warning events.
"""

from __future__ import annotations

import argparse
from typing import Any

from lmcache_k8s.names import CONNECTION_SUFFIX

from .. import consumers, events, output, probe
from ..fetch import read_consumer_pods, read_status_objects, read_warning_events
from ..kube import CONFIGMAPS, Kube
from ..model import Status
from ..probe import coordinator_service
from ..status import compute
from .common import Context, UsageError, pick, report_failures, scope, target, where


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "describe",
        parents=parents,
        help="status, conditions, endpoints, consumers and events of one engine or coordinator",
        description="Show one engine or coordinator in detail, like `kubectl describe lmc`,"
        " plus the vLLM pods wired to it and the workload's Warning events.",
    )
    p.add_argument("name", metavar="[KIND/]NAME")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="look in every namespace")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also read each engine pod's /status and the coordinator's /instances through the"
        " API server proxy (RBAC: get on pods/proxy and services/proxy)",
    )
    p.set_defaults(run=run)


class _PerNamespace:
    """describe reads pods and events once per namespace, whatever it shows there."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.pods: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
        self.events: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}

    def consumer_pods(self, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
        if namespace not in self.pods:
            self.pods[namespace] = read_consumer_pods(self.kube, namespace)
        return self.pods[namespace]

    def warning_events(self, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
        if namespace not in self.events:
            self.events[namespace] = read_warning_events(self.kube, namespace)
        return self.events[namespace]


def _coordinated(coordinator: Status, statuses: list[Status]) -> list[str]:
    mine = coordinator_service(coordinator.endpoint, coordinator.namespace)
    return [
        f"{s.name} ({s.kind})"
        for s in statuses
        if s.is_engine
        and s.coordinator_url
        and coordinator_service(s.coordinator_url, s.namespace) == mine
    ]


def run(args: argparse.Namespace, ctx: Context) -> int:
    kube = ctx.connect(target(args))
    namespace = scope(args, kube)
    snapshot = read_status_objects(kube, namespace, pods=True, now=ctx.now())
    everything = compute(snapshot)
    chosen = pick(everything, args.name)
    report_failures(ctx, snapshot.failures)
    if not chosen:
        raise UsageError(f"{args.name} not found {where(namespace)}")
    if args.probe:
        probe.probe(kube, chosen)
    known = {(s.namespace, s.name) for s in everything if s.is_engine}
    cache = _PerNamespace(kube)
    pages = []
    for s in chosen:
        found_events, event_notes = cache.warning_events(s.namespace)
        notes = list(event_notes)
        found_consumers = None
        coordinated = None
        if s.is_engine:
            pods, pod_notes = cache.consumer_pods(s.namespace)
            notes.extend(pod_notes)
            configmap = next(
                (
                    cm
                    for cm in snapshot.items(CONFIGMAPS)
                    if cm["metadata"]["name"] == s.name + CONNECTION_SUFFIX
                    and cm["metadata"].get("namespace") == s.namespace
                ),
                None,
            )
            found_consumers = consumers.find(s, configmap, pods, known)
        else:
            coordinated = _coordinated(s, everything)
        pages.append(
            output.describe(
                s,
                snapshot.now,
                consumers=found_consumers,
                events=events.warnings_for(s, found_events),
                notes=notes,
                probed=args.probe,
                coordinated_engines=coordinated,
            )
        )
    ctx.stdout.write("\n".join(pages))
    return 1 if snapshot.failures else 0
