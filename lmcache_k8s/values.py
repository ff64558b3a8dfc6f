"""The chart's values as pydantic models: the one source of truth for every default and rule.

`values.schema.json` and the chart's per-entry defaults (`templates/_defaults.tpl`) are
generated from these models by `python -m lmcache_k8s.generate --write`; the post-renderer
validates what it reads back from rendered workloads with the same models, so a rule
written here is enforced by Helm, by the post-renderer and by the tests alike.

Field names are the camelCase keys users write in values files, so error paths read
exactly like the values they point at (`engines.my-cache.l1.sizeGB`).

A field's prose is its `Field(description=...)`: the schema carries it and docs/values.md
prints it. Rules that relate two fields or two entries (ports that must differ, a coordinator
reference that must exist, ...) live in `lmcache_k8s.relations`, with their prose; the ones
JSON Schema can still express are also attached to the schema here via `json_schema_extra`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lmcache_k8s.fields import (
    POSITIVE_DURATION_PATTERN,
    KubeList,
    KubeObject,
    LogLevel,
    Name,
    Port,
    PullPolicy,
    PullSecret,
    ServerPort,
    Strict,
    StringMap,
)
from lmcache_k8s.names import (
    COMPONENTS,
    METRICS_SUFFIX,
    NVIDIA_ENV,
    RESOURCE_OVERRIDES_ANNOTATION,
)

DEFAULT_IMAGE_REPOSITORY = "lmcache/vllm-openai"


class ImageSpec(Strict):
    repository: str = Field(DEFAULT_IMAGE_REPOSITORY, min_length=1)
    tag: str = Field("latest", min_length=1, description="A tag, or a digest `sha256:...`.")
    pullPolicy: PullPolicy = "IfNotPresent"


class ServerSpec(Strict):
    port: ServerPort = Field(5555, description="ZMQ port vLLM connects to.")
    httpPort: ServerPort = Field(8080, description="HTTP frontend: health and /metrics.")
    chunkSize: int = Field(256, gt=0)
    maxWorkers: int = Field(1, gt=0)
    hashAlgorithm: Literal["builtin", "sha256_cbor", "blake3"] = Field(
        "blake3",
        description="`--hash-algorithm`; the connection ConfigMap mirrors it as"
        " `lmcache.mp.hash_algorithm` (vLLM's KV events must use the same chunk hashes).",
    )


class L1Spec(Strict):
    sizeGB: float = Field(
        gt=0,
        description="L1 (CPU memory) cache size in GB; requests memory `ceil(sizeGB + 5)Gi`,"
        " limit `ceil(request × 1.5)Gi`, cpu `4`.",
    )


class EvictionSpec(Strict):
    policy: Literal["LRU"] = "LRU"
    triggerWatermark: float = Field(0.8, gt=0, le=1)
    evictionRatio: float = Field(0.2, gt=0, le=1)


class ServiceMonitorSpec(Strict):
    enabled: bool = False
    interval: str = Field("30s", pattern=POSITIVE_DURATION_PATTERN)
    labels: StringMap | None = None
    trustCRDsExist: bool = Field(
        False,
        description="Render the ServiceMonitor even when monitoring.coreos.com/v1 is not"
        " advertised (helm lint cannot be told about API versions).",
    )


def _service_monitor_needs_metrics(schema: dict[str, Any]) -> None:
    # JSON Schema twin of relations.service_monitor_needs_metrics.
    schema["if"] = {
        "properties": {
            "serviceMonitor": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]}
        },
        "required": ["serviceMonitor"],
    }
    schema["then"] = {"properties": {"enabled": {"const": True}}}


class PrometheusSpec(Strict):
    model_config = ConfigDict(json_schema_extra=_service_monitor_needs_metrics)

    enabled: bool = True
    port: Port = Field(9090, description=f"Port of the `<name>{METRICS_SUFFIX}` Service.")
    serviceMonitor: ServiceMonitorSpec = ServiceMonitorSpec()


class L2Backend(BaseModel):
    """One `--l2-adapter`: a `type` plus that adapter's own keys (free-form)."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str = Field(min_length=1)


class CoordinatorName(Strict):
    name: Name = Field(description="Resolved to `http://<name>.<namespace>.svc:<port>`.")


def _ref_xor_url(schema: dict[str, Any]) -> None:
    # JSON Schema twin of relations.ref_xor_url.
    schema["oneOf"] = [{"required": ["ref"]}, {"required": ["url"]}]


class CoordinatorRef(Strict):
    model_config = ConfigDict(json_schema_extra=_ref_xor_url)

    ref: CoordinatorName | None = None
    url: str | None = Field(None, pattern=r"^https?://[^\s/]+")
    heartbeatInterval: int = Field(5, gt=0, description="Seconds between heartbeats.")
    l2EventReporting: bool = False


# host: hostIPC, CUDA interprocess handles (the seed's model); isolated: lmcache 0.5.6
# `--isolated-ipc` (timeline-semaphore events, no shared IPC namespace or /dev/shm).
IPCMode = Literal["host", "isolated"]
ISOLATED_IPC_FLAG = "--isolated-ipc"
# A positive Kubernetes quantity with a unit: "0" is a size limit of none (tmpfs then takes
# up to the pod's memory) and a bare number is bytes ("16" is one page, not 16Gi); both
# leave vLLM without the /dev/shm it needs, so neither is accepted.
QUANTITY_PATTERN = r"^([1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)(Ki|Mi|Gi|Ti|k|M|G|T)$"

# What the GPU vendor changes in an engine pod; the chart reads this table from the generated
# `lmcache.defaults.gpuVendors`, the post-renderer from here. The engine serves every GPU of
# its node beside vLLM, so it never requests a device plugin resource (`nvidia.com/gpu`,
# `amd.com/gpu`): a request would take a GPU away from vLLM on that node.
# - nvidia: the NVIDIA container runtime (RuntimeClass `nvidia`, created by the GPU Operator
#   or the container toolkit) exposes every GPU because NVIDIA_VISIBLE_DEVICES=all; GPU
#   Feature Discovery labels GPU nodes `nvidia.com/gpu.present`.
# - amd: ROCm opens /dev/kfd (the compute interface) and /dev/dri (render nodes), mounted from
#   the host; a container may open host device nodes only when privileged (the device cgroup
#   of an unprivileged one denies them). No RuntimeClass or node label is universal: the user
#   sets a nodeSelector (the AMD GPU Operator's node labeller uses `amd.com/gpu` labels).
GPUVendor = Literal["nvidia", "amd"]
GPU_VENDORS: dict[str, dict[str, Any]] = {
    "nvidia": {
        "runtimeClassName": "nvidia",
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "env": list(NVIDIA_ENV),
        "devices": [],
    },
    "amd": {
        "runtimeClassName": "",
        "nodeSelector": {},
        "env": [],
        "devices": [
            {"name": "amd-kfd", "path": "/dev/kfd", "type": "CharDevice"},
            {"name": "amd-dri", "path": "/dev/dri", "type": "Directory"},
        ],
    },
}


class PodShape(Strict):
    """Scheduling and pod-shaping fields shared by every kind."""

    image: ImageSpec = ImageSpec()
    imagePullSecrets: list[PullSecret] | None = None
    logLevel: LogLevel = "INFO"
    affinity: KubeObject | None = None
    tolerations: KubeList | None = None
    priorityClassName: str | None = None
    env: KubeList | None = None
    volumes: KubeList | None = None
    volumeMounts: KubeList | None = None
    podAnnotations: StringMap | None = None
    podLabels: StringMap | None = Field(None, description="Cannot override the selector labels.")
    serviceAccountName: str | None = None
    extraArgs: list[str] | None = Field(None, description="Appended last to the arguments.")
    adoptOperatorObjects: bool = Field(
        False,
        description="Select pods by the reference operator's labels (`app.kubernetes.io/name:"
        " lmcache`, `instance: <entry>`, `managed-by: lmcache-operator`) so `helm install"
        " --take-ownership` adopts the operator's running workload; the connection then"
        " writes a mirrored `lmcache.mp.*` key only when it differs from the vLLM"
        " connector's default, keeping the operator's ConfigMap; see docs/migrate.md.",
    )


class EngineSpec(PodShape):
    """One LMCache server DaemonSet per entry."""

    server: ServerSpec = ServerSpec()
    l1: L1Spec
    eviction: EvictionSpec = EvictionSpec()
    prometheus: PrometheusSpec = PrometheusSpec()
    l2Backends: list[L2Backend] | None = Field(
        None,
        description="Each entry becomes one `--l2-adapter` (compact JSON, sorted keys); keys"
        " besides `type` are the adapter's own and free-form.",
    )
    coordinator: CoordinatorRef | None = None
    resourceOverrides: KubeObject | None = Field(
        None,
        description="Replaces the computed resources, verbatim; annotates the DaemonSet"
        f' `{RESOURCE_OVERRIDES_ANNOTATION}: "true"`.',
    )
    gpuVendor: GPUVendor = Field(
        "nvidia",
        description="Whose GPUs the node has; sets the defaults of `runtimeClassName` and"
        " `nodeSelector` and the GPU access. `nvidia`: RuntimeClass `nvidia` and"
        " `NVIDIA_VISIBLE_DEVICES`/`NVIDIA_DRIVER_CAPABILITIES=all`. `amd`: no RuntimeClass,"
        " no NVIDIA env, no default nodeSelector (set one for your AMD GPU nodes), and the"
        " host's /dev/kfd and /dev/dri mounted (hostPath), which needs `privileged: true`."
        " Per entry, like the nodeSelector it implies.",
    )
    # The chart treats this map as a whole (lmcache.merge's atomic keys).
    nodeSelector: StringMap | None = Field(
        None,
        description='Unset: the `gpuVendor` default (nvidia: `{"nvidia.com/gpu.present":'
        ' "true"}`; amd: none). Replaced whole, never merged: an explicit `{}` removes the'
        " default.",
    )
    runtimeClassName: str | None = Field(
        None,
        description='Unset: the `gpuVendor` default (nvidia: `"nvidia"`; amd: none). `""` omits'
        " the field (CDI/NRI clusters).",
    )
    privileged: bool = True
    ipc: IPCMode = Field(
        "host",
        description="How vLLM and the server share GPU memory. `host`: the pod joins the host"
        " IPC namespace (hostIPC) and survives engine restarts. `isolated`: `--isolated-ipc`,"
        ' no hostIPC, the connection says `"lmcache.mp.isolated_ipc": true`; with'
        " `privileged: false` the pod passes Pod Security baseline, but vLLM must restart"
        ' after an engine restart (LMCache issue #5168). See "IPC modes and Pod Security".',
    )
    consumerShmSizeLimit: str = Field(
        "16Gi",
        pattern=QUANTITY_PATTERN,
        description="A positive quantity with a unit (`512Mi`, `1.5Gi`; not `0` or a bare"
        " byte count). With `ipc: isolated`: sizeLimit of the memory-backed emptyDir a vLLM"
        " consumer gets at /dev/shm instead of the host's (the post-renderer and the webhook"
        " read it from the connection's `consumer-shm-size-limit`).",
    )


# Sized from the real `lmcache coordinator` 0.5.6 on CPU (bound to 127.0.0.1, idle, no
# engines): RSS peaks at 337 MiB after start-up, about 3 s of CPU to start and ~0.2% of a
# core idle. The limit leaves ~3x the idle RSS for the fleet registry and blend index.
COORDINATOR_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "100m", "memory": "384Mi"},
    "limits": {"memory": "1Gi"},
}

BLEND_CHUNK_SIZE = 256  # the blend matcher needs chunk = vLLM block size 64 x 4


class BlendServerSpec(ServerSpec):
    chunkSize: Literal[256] = BLEND_CHUNK_SIZE


class BlendSpec(Strict):
    checkLayer: int = Field(1, ge=0, description="Layer where token importance is scored.")
    recompRatio: float = Field(
        0.15, gt=0, le=1, description="Share of non-prefix tokens recomputed."
    )


class PayloadImage(Strict):
    repository: str = Field(min_length=1, description="The CacheBlend plugin image; required.")
    tag: str = Field("latest", min_length=1)
    pullPolicy: PullPolicy = "IfNotPresent"


class InjectionSpec(Strict):
    payloadImage: PayloadImage
    imagePullSecrets: list[PullSecret] | None = None
    targetContainer: str | None = Field(None, description="Unset: the vLLM pod's first container.")
    cudagraph: Literal["eager", "piecewise", "full_decode_only"] = "eager"


# A CacheBlend engine's coordinator: cache-event reporting is on unless turned off.
# lmcache 0.5.6 builds the coordinator's blend index from the engines' cache-event stream;
# a blend engine with a coordinator URL but without --coordinator-event-reporting only warns
# that fleet CacheBlend matching is disabled and matches locally
# (lmcache/v1/multiprocess/server.py). relations.warnings reports an explicit false.
# (A comment, not a docstring: pydantic would put a docstring into the values schema.)
class BlendCoordinatorRef(CoordinatorRef):
    l2EventReporting: bool = Field(
        True,
        description="--coordinator-event-reporting; without it lmcache disables fleet"
        " CacheBlend matching and the engine matches locally only.",
    )


class CacheBlendSpec(EngineSpec):
    """One CacheBlend engine DaemonSet per entry."""

    server: BlendServerSpec = BlendServerSpec()
    coordinator: BlendCoordinatorRef | None = None
    blend: BlendSpec = BlendSpec()
    injection: InjectionSpec


class CoordinatorSpec(PodShape):
    """One coordinator Deployment per entry."""

    # The fields' order is the order of the coordinator's flags.
    replicas: int = Field(1, ge=0)
    host: str = Field("0.0.0.0", min_length=1)
    port: Port = 9300
    instanceTimeout: int = Field(30, gt=0)
    healthCheckInterval: int = Field(10, ge=0, description="0 disables.")
    evictionCheckInterval: int = Field(5, ge=0, description="0 disables.")
    evictionRatio: float = Field(0.2, ge=0, le=1)
    triggerWatermark: float = Field(1.0, gt=0, le=1)
    blendChunkSize: int = Field(256, gt=0, description="Passed as `--chunk-size`.")
    blendProbeStride: int = Field(1, gt=0)
    blendLookup: bool = True
    prometheus: PrometheusSpec = PrometheusSpec()
    resources: KubeObject = Field(
        COORDINATOR_RESOURCES,
        description="Replaced whole, never merged. The default keeps the pod out of the"
        " BestEffort class (first evicted under node pressure, losing the in-memory fleet"
        " registry); it is sized from the real `lmcache coordinator` 0.5.6, idle on CPU:"
        " 337 MiB RSS, ~0.2% of a core, with ~3x memory headroom for the registry.",
    )
    nodeSelector: StringMap | None = Field(None, description="Rendered only when set.")
    runtimeClassName: str | None = Field(None, description="Rendered only when set.")


# The three maps of the values, with the component label their objects carry.
MODELS: dict[str, type[BaseModel]] = {
    "engines": EngineSpec,
    "cacheBlendEngines": CacheBlendSpec,
    "coordinators": CoordinatorSpec,
}
KINDS: dict[str, tuple[type[BaseModel], str]] = {k: (m, COMPONENTS[k]) for k, m in MODELS.items()}

from lmcache_k8s.monitoring_values import MonitoringValues  # noqa: E402
from lmcache_k8s.networkpolicy_values import NetworkPolicyValues  # noqa: E402
from lmcache_k8s.webhook_values import WebhookValues  # noqa: E402


class Preflight(Strict):
    # Helm's `lookup` fails the whole render on any error but NotFound (helm/helm
    # pkg/engine/lookup_func.go): an installer who may not `get` RuntimeClasses or
    # Namespaces (cluster scope; a namespace admin) could not install at all without this.
    enabled: bool = Field(
        True,
        description="Ask the cluster before installing (Helm `lookup`: the release namespace's"
        " Pod Security label, each engine namespace, each RuntimeClass). Runs only under"
        " `helm install`/`upgrade`, never `helm template`. Set false when the installing user"
        " may not `get` Namespaces and RuntimeClasses: Helm fails the render on a 403.",
    )


class Values(Strict):
    global_: KubeObject = Field(default_factory=dict, alias="global")
    # Helm passes a parent chart's `condition: lmcache.enabled` switch down to the chart:
    # accepted so the strict schema does not reject the usual way to toggle a dependency.
    enabled: bool = Field(
        True,
        description="Read only by a parent chart's `condition: lmcache.enabled`; the chart"
        " renders the same either way.",
    )
    nameOverride: str = ""
    fullnameOverride: str = ""
    clusterDomain: str = Field("cluster.local", min_length=1)
    engines: dict[Name, EngineSpec] = {}
    cacheBlendEngines: dict[Name, CacheBlendSpec] = {}
    coordinators: dict[Name, CoordinatorSpec] = {}
    webhook: WebhookValues = Field(
        WebhookValues(),
        description="The injection webhook: CacheBlend and plain LMCache modes (SPEC 4).",
    )
    monitoring: MonitoringValues = Field(
        MonitoringValues(),
        description="Grafana dashboards and Prometheus alerts, both opt-in (docs/observability.md).",
    )
    networkPolicy: NetworkPolicyValues = Field(
        NetworkPolicyValues(), description="Who may reach each port (docs/security.md)."
    )
    preflight: Preflight = Field(
        Preflight(),
        description="Install-time checks against the live cluster (docs/webhook-install.md,"
        ' "Preflight at install").',
    )
