"""Chart-like manifests for the post-renderer's tests and benchmark, without running Helm.

They follow the chart's output conventions exactly (a test proves one engine matches the
real chart's `helm template` output), so streams of any size can be made in milliseconds,
in either Helm dialect, and then broken on purpose one field at a time.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import yaml

from lmcache_k8s.values import COORDINATOR_RESOURCES

CHART = "lmcache"
RELEASE = "rel"
NAMESPACE = "llm"
FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"


def fmt(value: float | int) -> str:
    """A number field printed like the chart does: floats always with a fraction."""
    text = json.dumps(float(value))
    return text


def labels(component: str, name: str, key: str = "lmcache.ai/engine") -> dict[str, str]:
    return {
        "helm.sh/chart": "lmcache-0.1.0",
        "app.kubernetes.io/name": "lmcache",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
        key: name,
        "app.kubernetes.io/version": "0.1.0",
        "app.kubernetes.io/managed-by": "Helm",
    }


def selector(component: str, name: str, key: str = "lmcache.ai/engine") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "lmcache",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
        key: name,
    }


def engine_args(
    *,
    port: int = 5555,
    http_port: int = 8080,
    size_gb: float = 60,
    chunk_size: int = 256,
    max_workers: int = 1,
    hash_algorithm: str = "blake3",
    watermark: float = 0.8,
    ratio: float = 0.2,
    metrics: bool = True,
    l2: list[dict[str, Any]] | None = None,
    coordinator_url: str | None = None,
    heartbeat: int = 5,
    event_reporting: bool = False,
    blend: bool = False,
    extra: list[str] | None = None,
) -> list[str]:
    args = [
        "--host", "0.0.0.0",
        "--port", str(port),
        "--http-host", "0.0.0.0",
        "--http-port", str(http_port),
        "--l1-size-gb", fmt(size_gb),
        "--chunk-size", str(chunk_size),
        "--max-workers", str(max_workers),
        "--hash-algorithm", hash_algorithm,
        "--eviction-policy", "LRU",
        "--eviction-trigger-watermark", fmt(watermark),
        "--eviction-ratio", fmt(ratio),
    ]  # fmt: skip
    if not metrics:
        args.append("--disable-metrics")
    for backend in l2 or []:
        args += ["--l2-adapter", json.dumps(backend, sort_keys=True, separators=(",", ":"))]
    if coordinator_url:
        args += ["--coordinator-url", coordinator_url]
        args += ["--coordinator-heartbeat-interval", str(heartbeat)]
        if event_reporting:
            args.append("--coordinator-event-reporting")
    if blend:
        args += ["--engine-type", "blend", "--l1-align-bytes", "16777216"]
    return args + list(extra or [])


def resources(size_gb: float) -> dict[str, Any]:
    request = math.ceil(size_gb + 5)
    return {
        "requests": {"cpu": "4", "memory": f"{request}Gi"},
        "limits": {"memory": f"{math.ceil(request * 1.5)}Gi"},
    }


def daemonset(
    name: str,
    *,
    blend: bool = False,
    size_gb: float = 60,
    port: int = 5555,
    http_port: int = 8080,
    log_level: str = "INFO",
    coordinator_ref: str | None = None,
    namespace: str = NAMESPACE,
    **args: Any,
) -> dict[str, Any]:
    component = "cacheblend-engine" if blend else "cache-engine"
    coordinator_url = args.get("coordinator_url")
    env = [
        {"name": "LMCACHE_LOG_LEVEL", "value": log_level},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"},
    ]
    if coordinator_url:
        env.append(
            {
                "name": "LMCACHE_COORDINATOR_ADVERTISE_IP",
                "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
            }
        )
    tcp = {"port": "server"}
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels(component, name),
    }
    if coordinator_ref:
        meta["annotations"] = {"lmcache.ai/coordinator-ref": coordinator_ref}
    container = {
        "name": "lmcache",
        "image": "lmcache/vllm-openai:latest",
        "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/venv/bin/lmcache", "server"],
        "args": engine_args(port=port, http_port=http_port, size_gb=size_gb, blend=blend, **args),
        "env": env,
        "ports": [
            {"name": "server", "containerPort": port, "protocol": "TCP"},
            {"name": "http", "containerPort": http_port, "protocol": "TCP"},
        ],
        "securityContext": {"privileged": True},
        "startupProbe": {
            "tcpSocket": dict(tcp),
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
            "failureThreshold": 30,
        },
        "livenessProbe": {"tcpSocket": dict(tcp), "periodSeconds": 10},
        "readinessProbe": {"tcpSocket": dict(tcp), "periodSeconds": 5},
        "resources": resources(size_gb),
    }
    pod_labels = dict(sorted(selector(component, name).items()))
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": selector(component, name)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "hostIPC": True,
                    "runtimeClassName": "nvidia",
                    "automountServiceAccountToken": False,
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                    "containers": [container],
                },
            },
        },
    }


def service(name: str, *, blend: bool = False, port: int = 5555) -> dict[str, Any]:
    component = "cacheblend-engine" if blend else "cache-engine"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(component, name)},
        "spec": {
            "type": "ClusterIP",
            "internalTrafficPolicy": "Local",
            "selector": selector(component, name),
            "ports": [{"name": "server", "port": port, "targetPort": "server", "protocol": "TCP"}],
        },
    }


def metrics_service(name: str, *, blend: bool = False, port: int = 9090) -> dict[str, Any]:
    component = "cacheblend-engine" if blend else "cache-engine"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": f"{name}-metrics",
            "namespace": NAMESPACE,
            "labels": {**labels(component, name), "lmcache.ai/metrics": "true"},
        },
        "spec": {
            "clusterIP": "None",
            "selector": selector(component, name),
            "ports": [{"name": "metrics", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def connection(
    name: str,
    *,
    blend: bool = False,
    port: int = 5555,
    check_layer: Any = 1,
    recomp_ratio: Any = 0.15,
    injection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    component = "cacheblend-engine" if blend else "cache-engine"
    extra: dict[str, Any] = {
        "lmcache.mp.hash_algorithm": "blake3",
        "lmcache.mp.host": f"tcp://{name}.{NAMESPACE}.svc.cluster.local",
        "lmcache.mp.isolated_ipc": False,
        "lmcache.mp.port": str(port),
    }
    kv: dict[str, Any] = {
        "kv_connector": "LMCacheMPConnector",
        "kv_connector_extra_config": extra,
        "kv_connector_module_path": "lmcache.integration.vllm.lmcache_mp_connector",
        "kv_role": "kv_both",
    }
    data = {}
    if blend:
        extra["cb.check_layer"] = check_layer
        extra["cb.recomp_ratio"] = recomp_ratio
        kv["kv_connector"] = "CBKVConnector"
        kv["kv_connector_module_path"] = "lmcache_cacheblend.connector"
    data["kv-transfer-config.json"] = json.dumps(kv, sort_keys=True, indent=2)
    if blend:
        if injection is None:
            injection = {
                "cudagraph": "eager",
                "imagePullSecrets": [],
                "payloadImage": {
                    "pullPolicy": "IfNotPresent",
                    "repository": "registry.example.com/cacheblend-plugin",
                    "tag": "latest",
                },
            }
        data["cacheblend-injection.json"] = json.dumps(injection, sort_keys=True, indent=2)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-connection",
            "namespace": NAMESPACE,
            "labels": labels(component, name),
        },
        "data": data,
    }


def service_monitor(name: str, *, interval: str = "30s") -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels("cache-engine", name)},
        "spec": {
            "selector": {
                "matchLabels": {**selector("cache-engine", name), "lmcache.ai/metrics": "true"}
            },
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": interval}],
        },
    }


def coordinator(
    name: str,
    *,
    port: int = 9300,
    replicas: int = 1,
    instance_timeout: int = 30,
    health: int = 10,
    eviction_check: int = 5,
    ratio: float = 0.2,
    watermark: float = 1.0,
    chunk_size: int = 256,
    stride: int = 1,
    blend_lookup: bool = True,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    args = [
        "--host", "0.0.0.0",
        "--port", str(port),
        "--instance-timeout", str(instance_timeout),
        "--health-check-interval", str(health),
        "--eviction-check-interval", str(eviction_check),
        "--eviction-ratio", fmt(ratio),
        "--trigger-watermark", fmt(watermark),
        "--chunk-size", str(chunk_size),
        "--blend-probe-stride", str(stride),
    ]  # fmt: skip
    if blend_lookup:
        args.append("--enable-blend-lookup")
    args += list(extra or [])
    key = "lmcache.ai/coordinator"
    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": labels("coordinator", name, key),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector("coordinator", name, key)},
            "template": {
                "metadata": {"labels": dict(sorted(selector("coordinator", name, key).items()))},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "coordinator",
                            "image": "lmcache/vllm-openai:latest",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/opt/venv/bin/lmcache", "coordinator"],
                            "args": args,
                            "env": [{"name": "LMCACHE_LOG_LEVEL", "value": "INFO"}],
                            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "startupProbe": {
                                **copy.deepcopy(probe),
                                "initialDelaySeconds": 5,
                                "periodSeconds": 5,
                                "failureThreshold": 30,
                            },
                            "livenessProbe": {**copy.deepcopy(probe), "periodSeconds": 10},
                            "readinessProbe": {**copy.deepcopy(probe), "periodSeconds": 5},
                            "resources": copy.deepcopy(COORDINATOR_RESOURCES),
                        }
                    ],
                },
            },
        },
    }


def network_policy(name: str, *, blend: bool = False) -> dict[str, Any]:
    """The engine's NetworkPolicy with the chart's default networkPolicy values."""
    component = "cacheblend-engine" if blend else "cache-engine"
    prometheus = {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(component, name)},
        "spec": {
            "podSelector": {"matchLabels": selector(component, name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": {"lmcache.ai/client-of": name}},
                        },
                    ],
                    "ports": [{"port": "server", "protocol": "TCP"}],
                },
                {
                    "from": [{"namespaceSelector": {}, "podSelector": prometheus}],
                    "ports": [{"port": "http", "protocol": "TCP"}],
                },
            ],
        },
    }


def engine_set(name: str, *, blend: bool = False, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    """The five objects the chart renders for one engine, with their template file names."""
    port = kw.get("port", 5555)
    return [
        ("engines/configmap.yaml", connection(name, blend=blend, port=port)),
        ("engines/metrics-service.yaml", metrics_service(name, blend=blend)),
        ("engines/networkpolicy.yaml", network_policy(name, blend=blend)),
        ("engines/service.yaml", service(name, blend=blend, port=port)),
        ("engines/daemonset.yaml", daemonset(name, blend=blend, **kw)),
    ]


def to_stream(objects: list[tuple[str, dict[str, Any]]], dialect: str = "helm3") -> str:
    """Write objects as Helm 3 (`---` + `# Source:`) or Helm 4 (filename annotation) pipes them."""
    parts = []
    for source, obj in objects:
        path = f"{CHART}/templates/{source}"
        if dialect == "helm4":
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {}).setdefault("annotations", {})[FILENAME_ANNOTATION] = path
            parts.append(yaml.safe_dump(obj, sort_keys=False))
        else:
            parts.append(f"---\n# Source: {path}\n" + yaml.safe_dump(obj, sort_keys=False))
    return "---\n".join(parts) if dialect == "helm4" else "".join(parts)


def engines_stream(count: int, dialect: str = "helm3") -> str:
    objects: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        objects += engine_set(f"cache-{i:04d}", size_gb=8 + i % 100)
    return to_stream(objects, dialect)
