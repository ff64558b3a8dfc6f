"""What the reference operator creates for one of its resources, from its documented facts.

Sources: the operator's guide in /work/shared/seed (object names, the connection
ConfigMap's format, the resource formula, the injected pod settings) as restated with
names filled in by SPEC 2.1-2.7, and issue 15 (labels, ownerReferences). Only what those
sources state is modelled; tests/migrate/test_round_trip.py compares the chart's rendering
with it and docs/migrate.md lists the differences.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from lmcache_k8s.names import (
    CONNECTION_SUFFIX,
    KV_TRANSFER_CONFIG_KEY,
    METRICS_SUFFIX,
    operator_selector_labels,
)

CLUSTER_DOMAIN = "cluster.local"
ENGINE_PORT = 5555
COORDINATOR_PORT = 9300
BLEND_DEFAULTS = {"checkLayer": 1, "recompRatio": 0.15}


def connection_json(resource: dict[str, Any], namespace: str) -> str:
    """The `kv-transfer-config.json` of `N-connection`: sorted keys, 2-space indent."""
    spec = resource.get("spec") or {}
    name = resource["metadata"]["name"]
    port = (spec.get("server") or {}).get("port", ENGINE_PORT)
    extra: dict[str, Any] = {
        "lmcache.mp.host": f"tcp://{name}.{namespace}.svc.{CLUSTER_DOMAIN}",
        "lmcache.mp.port": str(port),
    }
    if resource["kind"] == "CacheBlendEngine":
        blend = {**BLEND_DEFAULTS, **(spec.get("blend") or {})}
        extra["cb.check_layer"] = blend["checkLayer"]
        extra["cb.recomp_ratio"] = blend["recompRatio"]
        connector, module = "CBKVConnector", "lmcache_cacheblend.connector"
    else:
        connector, module = "LMCacheMPConnector", "lmcache.integration.vllm.lmcache_mp_connector"
    document = {
        "kv_connector": connector,
        "kv_connector_extra_config": extra,
        "kv_connector_module_path": module,
        "kv_role": "kv_both",
    }
    return json.dumps(document, indent=2, sort_keys=True)


def connection_configmap(resource: dict[str, Any], namespace: str) -> dict[str, Any]:
    name = resource["metadata"]["name"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}{CONNECTION_SUFFIX}", "namespace": namespace},
        "data": {KV_TRANSFER_CONFIG_KEY: connection_json(resource, namespace)},
    }


def engine_resources(spec: dict[str, Any]) -> dict[str, Any]:
    """resourceOverrides verbatim, else cpu 4, memory ceil(sizeGB + 5)Gi, limit x1.5."""
    if spec.get("resourceOverrides"):
        return spec["resourceOverrides"]
    request = math.ceil(spec["l1"]["sizeGB"] + 5)
    return {
        "requests": {"cpu": "4", "memory": f"{request}Gi"},
        "limits": {"memory": f"{math.ceil(request * 1.5)}Gi"},
    }


def object_names(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every object the operator creates for `resource`."""
    spec = resource.get("spec") or {}
    name = resource["metadata"]["name"]
    prometheus = spec.get("prometheus") or {}
    monitor = (prometheus.get("serviceMonitor") or {}).get("enabled", False)
    if resource["kind"] == "LMCacheCoordinator":
        names = {("Deployment", name), ("Service", name)}
    else:
        names = {
            ("DaemonSet", name),
            ("Service", name),
            ("Service", f"{name}{METRICS_SUFFIX}"),
            ("ConfigMap", f"{name}{CONNECTION_SUFFIX}"),
        }
    if monitor:
        names |= {("ServiceMonitor", name), ("Service", f"{name}{METRICS_SUFFIX}")}
    return names


def engine_flags(spec: dict[str, Any]) -> dict[str, str]:
    """The server flags whose values the operator's documented spec fixes."""
    server = spec.get("server") or {}
    eviction = spec.get("eviction") or {}
    return {
        "--host": "0.0.0.0",
        "--port": str(server.get("port", ENGINE_PORT)),
        "--l1-size-gb": str(spec["l1"]["sizeGB"]),
        "--chunk-size": str(server.get("chunkSize", 256)),
        "--max-workers": str(server.get("maxWorkers", 1)),
        "--eviction-trigger-watermark": str(eviction.get("triggerWatermark", 0.8)),
        "--eviction-ratio": str(eviction.get("evictionRatio", 0.2)),
    }


def _owner(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": resource["apiVersion"],
        "kind": resource["kind"],
        "name": resource["metadata"]["name"],
        "uid": resource["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def operator_objects(resource: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """The objects the operator keeps for `resource` (which must carry metadata.uid), shaped
    as far as its documented facts go: names, selector and standard labels, the owner
    reference, the connection ConfigMap, ports. Not modelled: the full pod template."""
    spec = resource.get("spec") or {}
    name = resource["metadata"]["name"]
    coordinator = resource["kind"] == "LMCacheCoordinator"
    selector = operator_selector_labels(name)
    component = "coordinator" if coordinator else "cache-engine"
    labels = {**selector, "app.kubernetes.io/component": component}
    meta = {
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [_owner(resource)],
    }
    port = (
        spec.get("port", COORDINATOR_PORT)
        if coordinator
        else int((spec.get("server") or {}).get("port", ENGINE_PORT))
    )
    pod = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "lmcache", "image": "lmcache/vllm-openai:latest"}]},
    }
    workload = {
        "kind": "Deployment" if coordinator else "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, **copy.deepcopy(meta)},
        "spec": {"selector": {"matchLabels": selector}, "template": pod},
    }
    service = {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": name, **copy.deepcopy(meta)},
        "spec": {"selector": selector, "ports": [{"port": port}], "clusterIP": "10.96.0.10"},
    }
    objects = [workload, service]
    if not coordinator:
        service["spec"]["internalTrafficPolicy"] = "Local"
        objects.append(
            {
                "kind": "Service",
                "apiVersion": "v1",
                "metadata": {"name": f"{name}{METRICS_SUFFIX}", **copy.deepcopy(meta)},
                "spec": {"clusterIP": "None", "selector": selector},
            }
        )
        configmap = connection_configmap(resource, namespace)
        configmap["metadata"].update(copy.deepcopy(meta))
        objects.append(configmap)
    if ((spec.get("prometheus") or {}).get("serviceMonitor") or {}).get("enabled"):
        objects.append(
            {
                "kind": "ServiceMonitor",
                "apiVersion": "monitoring.coreos.com/v1",
                "metadata": {"name": name, **copy.deepcopy(meta)},
                "spec": {"selector": {"matchLabels": labels}},
            }
        )
    return objects
