"""Reading the cluster: one list call per kind, with the chart's label selector.

A kind the user may not list (RBAC 403) does not stop the command: it is recorded in
`Snapshot.failures` and reported, and what depends on it shows as Unknown. Everything else
(no cluster, bad credentials, an unreachable server) raises.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from lmcache_k8s.names import (
    CACHEBLEND_INJECT_LABEL,
    COMPONENT_LABEL,
    COMPONENTS,
    LMCACHE_INJECT_LABEL,
    NAME_LABEL,
    NAME_LABEL_VALUE,
)

from .kube import (
    CONFIGMAPS,
    DAEMONSETS,
    DEPLOYMENTS,
    EVENTS,
    PODS,
    SERVICES,
    ApiStatusError,
    Kind,
    Kube,
)

# Every object the chart renders for an engine, CacheBlend engine or coordinator.
CHART_SELECTOR = (
    f"{NAME_LABEL}={NAME_LABEL_VALUE},"
    f"{COMPONENT_LABEL} in ({','.join(sorted(COMPONENTS.values()))})"
)
# What `get` reads; `-o json|yaml`, `--probe` and `describe` add the pods.
STATUS_KINDS = (DAEMONSETS, DEPLOYMENTS, CONFIGMAPS, SERVICES)
# What the user loses when a kind cannot be listed.
CONSEQUENCES = {
    "DaemonSet": "engines show phase Unknown, and engines known only by their DaemonSet are missing",
    "Deployment": "coordinators show phase Unknown, and coordinators known only by their"
    " Deployment are missing",
    "ConfigMap": "ConfigValid is Unknown and connection addresses are missing",
    "Service": "ConfigValid is Unknown and coordinator endpoints may be missing",
    "Pod": "endpoints are missing",
}


@dataclass
class Snapshot:
    """The lists one command read, with the kinds it could not read."""

    namespace: str | None  # None: all namespaces
    now: datetime.datetime
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by Kind.kind
    failures: dict[str, str] = field(default_factory=dict)  # Kind.kind -> the full message
    short: dict[str, str] = field(default_factory=dict)  # Kind.kind -> one clause

    def items(self, kind: Kind) -> list[dict[str, Any]]:
        return self.objects.get(kind.kind, [])

    def readable(self, kind: Kind) -> bool:
        return kind.kind not in self.failures


def _try_list(snapshot: Snapshot, kube: Kube, kind: Kind, namespace: str | None, **selectors: str):
    try:
        return kube.list(kind, namespace, **selectors)
    except ApiStatusError as exc:
        if exc.code not in (403, 404):
            raise
        snapshot.failures[kind.kind] = f"{exc}; {CONSEQUENCES[kind.kind]}"
        snapshot.short[kind.kind] = exc.short
        return None


def read_status_objects(
    kube: Kube, namespace: str | None, *, pods: bool, now: datetime.datetime | None = None
) -> Snapshot:
    """The chart's objects in one namespace (None: all), with pods when the output needs them."""
    snapshot = Snapshot(namespace, now or datetime.datetime.now(datetime.UTC))
    kinds = (*STATUS_KINDS, PODS) if pods else STATUS_KINDS
    for kind in kinds:
        items = _try_list(snapshot, kube, kind, namespace, label_selector=CHART_SELECTOR)
        snapshot.objects[kind.kind] = items or []
    return snapshot


def read_consumer_pods(kube: Kube, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Pods that may consume an engine of `namespace`, and what could not be checked.

    All pods of `namespace` (a ConfigMap is only mounted in its own namespace), plus pods
    anywhere that opted in to a webhook (a `<namespace>/<name>` reference crosses namespaces).
    """
    notes: list[str] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for pod in kube.list(PODS, namespace):
            seen[(namespace, pod["metadata"]["name"])] = pod
    except ApiStatusError as exc:
        if exc.code != 403:
            raise
        return [], [f"consumers: {exc}"]
    for label in (CACHEBLEND_INJECT_LABEL, LMCACHE_INJECT_LABEL):
        try:
            for pod in kube.list(PODS, None, label_selector=label):
                meta = pod["metadata"]
                seen.setdefault((meta.get("namespace", ""), meta["name"]), pod)
        except ApiStatusError as exc:
            if exc.code != 403:
                raise
            notes.append(
                f"consumers in other namespaces (pods labelled {label}; needs list pods at"
                f" the cluster scope): {exc.api_message}"
            )
    return list(seen.values()), notes


def read_warning_events(kube: Kube, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The Warning events of `namespace` (field selector type=Warning), and what failed."""
    try:
        return kube.list(EVENTS, namespace, field_selector="type=Warning"), []
    except ApiStatusError as exc:
        if exc.code != 403:
            raise
        return [], [f"events: {exc}"]
