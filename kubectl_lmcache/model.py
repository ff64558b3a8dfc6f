"""What the plugin computes, as plain values: the operator's status words, and what it lacked.

The field names of `to_status()` are the reference operator's (`phase`, `readyInstances`,
`desiredInstances`, `endpoints`, `conditions`, `observedGeneration`; coordinators
`replicas`, `readyReplicas`, `endpoint`), so scripts written against its custom resources
read these objects unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The reference operator's API group and kinds: `-o json` items carry them so
# `jq 'select(.kind == "LMCacheEngine")'` keeps working. No such resource exists in the
# cluster; the objects are computed on the client.
API_VERSION = "lmcache.lmcache.ai/v1alpha1"
ENGINE_KIND = "LMCacheEngine"
CACHEBLEND_KIND = "CacheBlendEngine"
COORDINATOR_KIND = "LMCacheCoordinator"

# Phases (the operator's words) and one of our own for "could not be read".
PENDING, RUNNING, DEGRADED, FAILED = "Pending", "Running", "Degraded", "Failed"
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True", "False" or "Unknown", as metav1.Condition spells it
    reason: str
    message: str

    def to_dict(self, generation: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
        }
        if generation is not None:
            out["observedGeneration"] = generation
        return out


@dataclass
class ProbeResult:
    """What one engine pod's /status said, through the API server's pod proxy."""

    l1_used_bytes: int | None = None
    l1_capacity_bytes: int | None = None
    active_sessions: int | None = None
    healthy: bool | None = None
    registered: bool | None = None  # listed by its coordinator's /instances; None: unknown
    error: str = ""


@dataclass
class Endpoint:
    """One engine pod: the operator's per-node endpoint, plus where /metrics is served."""

    node: str
    host_ip: str
    pod: str
    pod_ip: str
    port: int | None  # the server (ZMQ) port vLLM connects to
    metrics_port: int | None  # the HTTP port serving /metrics and /status
    ready: bool
    probe: ProbeResult | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "nodeName": self.node,
            "hostIP": self.host_ip,
            "podName": self.pod,
            "port": self.port,
            "metricsPort": self.metrics_port,
            "ready": self.ready,
        }
        if self.probe is not None:
            out["probe"] = _probe_dict(self.probe)
        return out


def _probe_dict(p: ProbeResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.error:
        out["error"] = p.error
    for key, value in (
        ("l1UsedBytes", p.l1_used_bytes),
        ("l1CapacityBytes", p.l1_capacity_bytes),
        ("activeSessions", p.active_sessions),
        ("healthy", p.healthy),
        ("registered", p.registered),
    ):
        if value is not None:
            out[key] = value
    return out


@dataclass
class WarningEvent:
    object: str  # Kind/name of the involved object
    reason: str
    message: str
    count: int
    last_seen: str  # RFC 3339, as the API wrote it


@dataclass
class Consumer:
    """A pod wired (or meant to be wired) to an engine's connection."""

    namespace: str
    pod: str
    node: str
    wiring: str  # mounted | env | injected | skipped | not-injected
    detail: str  # how: volume name, skip reason, ...
    state: str  # current | stale | unknown | "-" (not wired)
    why: str = ""  # the evidence for the state
    owner: str = ""  # Kind/name of what recreates the pod
    roll: str = ""  # the command that would roll a stale pod's owner
    problems: list[str] = field(default_factory=list)  # hostIPC, PYTHONHASHSEED


@dataclass
class Status:
    """An engine, CacheBlend engine or coordinator, computed from the live objects."""

    kind: str  # ENGINE_KIND, CACHEBLEND_KIND or COORDINATOR_KIND
    name: str
    namespace: str
    release: str = ""
    chart: str = ""
    created: str = ""  # the workload's creationTimestamp (else the oldest object's)
    workload: str = ""  # DaemonSet/N or Deployment/N; "" when missing
    generation: int | None = None
    observed_generation: int | None = None
    phase: str = PENDING
    ready: int | None = None  # None: could not be read
    desired: int | None = None
    conditions: list[Condition] = field(default_factory=list)
    endpoint: str = ""  # coordinators: http://N.NS.svc:PORT; engines: the connection address
    endpoints: list[Endpoint] = field(default_factory=list)
    connection_hash: str = ""
    coordinator_url: str = ""  # engines: --coordinator-url
    notes: list[str] = field(default_factory=list)  # the post-renderer's warnings
    pods: list[dict[str, Any]] = field(default_factory=list, repr=False)  # coordinators
    coordinator_probe: str = ""  # coordinators: "" or the /instances error
    registered_instances: int | None = None

    @property
    def is_engine(self) -> bool:
        return self.kind != COORDINATOR_KIND

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    def to_object(self) -> dict[str, Any]:
        """The operator-shaped object `-o json|yaml` prints."""
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.created:
            metadata["creationTimestamp"] = self.created
        if self.generation is not None:
            metadata["generation"] = self.generation
        if self.release:
            metadata["labels"] = {"app.kubernetes.io/instance": self.release}
        status: dict[str, Any] = {"phase": self.phase}
        if self.is_engine:
            status["readyInstances"] = self.ready
            status["desiredInstances"] = self.desired
            status["endpoints"] = [e.to_dict() for e in self.endpoints]
        else:
            status["replicas"] = self.desired
            status["readyReplicas"] = self.ready
            status["endpoint"] = self.endpoint
            if self.registered_instances is not None:
                status["registeredInstances"] = self.registered_instances
        status["conditions"] = [c.to_dict(self.observed_generation) for c in self.conditions]
        if self.observed_generation is not None:
            status["observedGeneration"] = self.observed_generation
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": metadata,
            "status": status,
        }
