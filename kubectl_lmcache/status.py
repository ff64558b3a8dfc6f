"""Status computed from lists of live objects: the reference operator's rules, as pure functions.

Phase (the operator's words, so users see the same ones):
- `Failed` when ConfigValid is False;
- `Pending` when the workload is missing or wants 0 instances;
- `Running` when ready == desired;
- `Degraded` when 0 < ready < desired;
- `Pending` otherwise (none ready yet).
`Unknown` is ours: the workload could not be read (RBAC), so no rule applies.

Engines count instances from their DaemonSet (`status.desiredNumberScheduled`,
`status.numberReady`); coordinators from their Deployment (`spec.replicas`,
`status.readyReplicas`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lmcache_k8s.connection import connection_hash
from lmcache_k8s.names import (
    COMPONENT_LABEL,
    COMPONENTS,
    CONNECTION_SUFFIX,
    COORDINATOR_LABEL,
    ENGINE_LABEL,
    INSTANCE_LABEL,
    KV_TRANSFER_CONFIG_KEY,
)

from . import configvalid
from .fetch import STATUS_KINDS, Snapshot
from .kube import CONFIGMAPS, DAEMONSETS, DEPLOYMENTS, PODS, SERVICES, Kind
from .model import (
    CACHEBLEND_KIND,
    COORDINATOR_KIND,
    DEGRADED,
    ENGINE_KIND,
    FAILED,
    PENDING,
    RUNNING,
    UNKNOWN,
    Condition,
    Endpoint,
    Status,
)

CHART_LABEL = "helm.sh/chart"
COORDINATOR_URL_FLAG = "--coordinator-url"

# --- the rules ----------------------------------------------------------------------------


def phase(workload_present: bool, ready: int, desired: int, config_valid: bool | None) -> str:
    """The operator's phase rule (module docstring). `config_valid` None: not known."""
    if config_valid is False:
        return FAILED
    if not workload_present or desired == 0:
        return PENDING
    if ready == desired:
        return RUNNING
    if 0 < ready < desired:
        return DEGRADED
    return PENDING


def readiness_conditions(ready: int, desired: int) -> list[Condition]:
    """Available and AllInstancesReady, both with the message `<ready>/<desired> instances ready`."""
    message = f"{ready}/{desired} instances ready"
    available = (
        Condition("Available", "True", "AtLeastOneReady", message)
        if ready > 0
        else Condition("Available", "False", "NoReadyInstances", message)
    )
    every = (
        Condition("AllInstancesReady", "True", "AllReady", message)
        if desired > 0 and ready >= desired
        else Condition("AllInstancesReady", "False", "NotAllReady", message)
    )
    return [available, every]


def config_condition(verdict: configvalid.Verdict | None, unknown_reason: str = "") -> Condition:
    if verdict is None:
        return Condition("ConfigValid", "Unknown", "CannotCheck", unknown_reason)
    if verdict.valid:
        return Condition(
            "ConfigValid", "True", "Valid", "the post-renderer's checks pass on the live objects"
        )
    return Condition("ConfigValid", "False", "ValidationFailed", "; ".join(verdict.messages))


UNREADABLE_CONDITIONS = ("Available", "AllInstancesReady")

# --- grouping the objects -----------------------------------------------------------------


@dataclass
class Entry:
    """Every object of one engine or coordinator, found by the chart's labels."""

    namespace: str
    name: str
    coordinator: bool
    component: str = ""
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def first(self, kind: Kind, name: str) -> dict[str, Any] | None:
        return next((o for o in self.objects[kind.kind] if _name(o) == name), None)


def _name(obj: dict[str, Any]) -> str:
    return obj.get("metadata", {}).get("name", "")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def group(snapshot: Snapshot) -> list[Entry]:
    entries: dict[tuple[str, bool, str], Entry] = {}
    for kind in STATUS_KINDS:
        for obj in snapshot.items(kind):
            labels = _labels(obj)
            component = labels.get(COMPONENT_LABEL, "")
            coordinator = component == COMPONENTS["coordinators"]
            name = labels.get(COORDINATOR_LABEL if coordinator else ENGINE_LABEL)
            if not name or component not in COMPONENTS.values():
                continue
            namespace = obj["metadata"].get("namespace", "")
            entry = entries.setdefault(
                (namespace, coordinator, name), Entry(namespace, name, coordinator)
            )
            if kind in (DAEMONSETS, DEPLOYMENTS) or not entry.component:
                entry.component = component
            entry.objects[kind.kind].append(obj)
    return [entries[k] for k in sorted(entries)]


# --- reading fields -----------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]


def template_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}


def container_port(pod_spec: dict[str, Any], port_name: str) -> int | None:
    for container in containers(pod_spec):
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port.get("name") == port_name:
                return _int(port.get("containerPort"), 0) or None
    return None


def flag_value(args: Iterable[Any], flag: str) -> str | None:
    """The value of `--flag value` or `--flag=value` (the last one wins, as argparse does)."""
    found = None
    items = [str(a) for a in args]
    for i, arg in enumerate(items):
        if arg == flag and i + 1 < len(items):
            found = items[i + 1]
        elif arg.startswith(flag + "="):
            found = arg[len(flag) + 1 :]
    return found


def coordinator_url(pod_spec: dict[str, Any]) -> str:
    for container in containers(pod_spec):
        value = flag_value(container.get("args") or [], COORDINATOR_URL_FLAG)
        if value:
            return value
    return ""


def pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def connection_of(configmap: dict[str, Any] | None) -> tuple[str, str]:
    """(address vLLM is sent to, connection hash) of an `N-connection` ConfigMap."""
    if configmap is None:
        return "", ""
    raw = (configmap.get("data") or {}).get(KV_TRANSFER_CONFIG_KEY)
    try:
        kv = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return "", ""
    if not isinstance(kv, dict):
        return "", ""
    extra = kv.get("kv_connector_extra_config") or {}
    host, port = extra.get("lmcache.mp.host", ""), extra.get("lmcache.mp.port", "")
    address = f"{host}:{port}" if host and port else str(host)
    return address, connection_hash(kv)


# --- computing ----------------------------------------------------------------------------


def config_verdicts(snapshot: Snapshot) -> dict[tuple[str, str], configvalid.Verdict]:
    """ConfigValid for every workload: one post-renderer run per namespace."""
    by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind in STATUS_KINDS:
        for obj in snapshot.items(kind):
            namespace = obj["metadata"].get("namespace", "")
            api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
            by_namespace[namespace].append(
                configvalid.strip_server_fields(obj, kind.kind, api_version)
            )
    verdicts: dict[tuple[str, str], configvalid.Verdict] = {}
    for namespace, manifests in sorted(by_namespace.items()):
        for ref, verdict in configvalid.check(manifests).items():
            verdicts[(namespace, ref)] = verdict
    return verdicts


def compute(snapshot: Snapshot) -> list[Status]:
    """Every engine, CacheBlend engine and coordinator in the snapshot, with its status."""
    unreadable = [snapshot.short[k.kind] for k in STATUS_KINDS if not snapshot.readable(k)]
    verdicts = config_verdicts(snapshot)
    # pods by (namespace, engine or coordinator label): each entry only looks at its own
    pods_by_entry: dict[tuple[str, bool, str], list[dict[str, Any]]] = defaultdict(list)
    for pod in snapshot.items(PODS):
        labels, namespace = _labels(pod), pod["metadata"].get("namespace", "")
        if ENGINE_LABEL in labels:
            pods_by_entry[(namespace, False, labels[ENGINE_LABEL])].append(pod)
        if COORDINATOR_LABEL in labels:
            pods_by_entry[(namespace, True, labels[COORDINATOR_LABEL])].append(pod)
    out = []
    for entry in group(snapshot):
        pods = pods_by_entry[(entry.namespace, entry.coordinator, entry.name)]
        if entry.coordinator:
            status = _coordinator(entry, snapshot, pods)
        else:
            status = _engine(entry, snapshot, pods)
        verdict = verdicts.get((entry.namespace, status.workload)) if status.workload else None
        _finish(status, verdict, unreadable, snapshot)
        out.append(status)
    return out


def _common(entry: Entry, kind: str, workload_kind: Kind) -> tuple[Status, dict[str, Any] | None]:
    workload = entry.first(workload_kind, entry.name)
    anchor = workload or next(o for objs in entry.objects.values() for o in objs)
    meta = anchor["metadata"]
    labels = meta.get("labels") or {}
    status = Status(
        kind=kind,
        name=entry.name,
        namespace=entry.namespace,
        release=labels.get(INSTANCE_LABEL, ""),
        chart=labels.get(CHART_LABEL, ""),
        created=meta.get("creationTimestamp", ""),
    )
    if workload is not None:
        status.workload = f"{workload_kind.kind}/{entry.name}"
        status.generation = meta.get("generation")
        status.observed_generation = (workload.get("status") or {}).get("observedGeneration")
    return status, workload


def _engine(entry: Entry, snapshot: Snapshot, pods: list[dict[str, Any]]) -> Status:
    kind = CACHEBLEND_KIND if entry.component == COMPONENTS["cacheBlendEngines"] else ENGINE_KIND
    status, ds = _common(entry, kind, DAEMONSETS)
    status.endpoint, status.connection_hash = connection_of(
        entry.first(CONFIGMAPS, entry.name + CONNECTION_SUFFIX)
    )
    if not snapshot.readable(DAEMONSETS):
        return status
    if ds is None:
        status.ready, status.desired = 0, 0
        status.notes.append(f"DaemonSet {entry.name} not found in namespace {entry.namespace}")
        return status
    ds_status = ds.get("status") or {}
    status.desired = _int(ds_status.get("desiredNumberScheduled"))
    status.ready = _int(ds_status.get("numberReady"))
    spec = template_spec(ds)
    status.coordinator_url = coordinator_url(spec)
    server_port, http_port = container_port(spec, "server"), container_port(spec, "http")
    selector = (ds.get("spec") or {}).get("selector") or {}
    for pod in pods:
        if not selects(selector, _labels(pod)):
            continue
        pod_spec, pod_status = pod.get("spec") or {}, pod.get("status") or {}
        status.endpoints.append(
            Endpoint(
                node=pod_spec.get("nodeName", ""),
                host_ip=pod_status.get("hostIP", ""),
                pod=_name(pod),
                pod_ip=pod_status.get("podIP", ""),
                port=container_port(pod_spec, "server") or server_port,
                metrics_port=container_port(pod_spec, "http") or http_port,
                ready=pod_ready(pod),
            )
        )
    status.endpoints.sort(key=lambda e: (e.node, e.pod))
    return status


def _coordinator(entry: Entry, snapshot: Snapshot, pods: list[dict[str, Any]]) -> Status:
    status, deployment = _common(entry, COORDINATOR_KIND, DEPLOYMENTS)
    port = _service_port(entry.first(SERVICES, entry.name), "http")
    if deployment is not None:
        spec = template_spec(deployment)
        port = port or container_port(spec, "http")
        selector = (deployment.get("spec") or {}).get("selector") or {}
        status.pods = [p for p in pods if selects(selector, _labels(p))]
    if port:
        status.endpoint = f"http://{entry.name}.{entry.namespace}.svc:{port}"
    if not snapshot.readable(DEPLOYMENTS):
        return status
    if deployment is None:
        status.ready, status.desired = 0, 0
        status.notes.append(f"Deployment {entry.name} not found in namespace {entry.namespace}")
        return status
    replicas = (deployment.get("spec") or {}).get("replicas")
    status.desired = _int(replicas, 1)  # the API defaults an unset spec.replicas to 1
    status.ready = _int((deployment.get("status") or {}).get("readyReplicas"))
    return status


def _service_port(service: dict[str, Any] | None, name: str) -> int | None:
    for port in ((service or {}).get("spec") or {}).get("ports") or []:
        if isinstance(port, dict) and port.get("name") == name:
            return _int(port.get("port"), 0) or None
    return None


def _finish(
    status: Status,
    verdict: configvalid.Verdict | None,
    unreadable: list[str],
    snapshot: Snapshot,
) -> None:
    """Conditions and phase, once the counts are known."""
    workload_kind = DAEMONSETS if status.is_engine else DEPLOYMENTS
    if not snapshot.readable(workload_kind):
        status.phase = UNKNOWN
        status.conditions = [
            Condition(t, "Unknown", "CannotRead", snapshot.short[workload_kind.kind])
            for t in UNREADABLE_CONDITIONS
        ]
        status.conditions.append(config_condition(None, "the workload could not be read"))
        return
    if unreadable:
        config = config_condition(None, "; ".join(unreadable))
        verdict = None
    elif not status.workload:
        config = config_condition(None, "the workload is missing: nothing to check")
    else:
        config = config_condition(verdict)
    if verdict is not None:
        status.notes.extend(verdict.notes)
    ready, desired = status.ready or 0, status.desired or 0
    status.conditions = [*readiness_conditions(ready, desired), config]
    valid = {"True": True, "False": False}.get(config.status)
    status.phase = phase(bool(status.workload), ready, desired, valid)
    if (
        status.generation is not None
        and status.observed_generation is not None
        and status.observed_generation < status.generation
    ):
        status.notes.append(
            f"{status.workload} generation {status.generation} is not observed yet"
            f" (observedGeneration {status.observed_generation}): a rollout is starting"
        )
