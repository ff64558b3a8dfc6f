"""A cluster for the plugin's tests: the chart's real objects, as a real API server keeps them.

`install()` renders the chart with the real Helm and post-renderer, then stores each object
in the fake API the way kube-apiserver and the controllers would have left it (defaults
filled in, uid, creationTimestamp, managedFields, status), matching the recorded responses
in tests/testdata/k8s-responses. Engine pods are created from the DaemonSet's template, one
per node, as the DaemonSet controller does.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from tests.fake_kube import CLUSTER_SCOPED, RECORDED, FakeKubeState
from tests.support import left_by_helm, render

NAMESPACE = "capture"
RELEASE = "cap"
CREATED = "2026-11-29T18:07:35Z"  # when the recorded install happened
STARTED = "2026-11-29T18:08:35Z"  # when its pods started
NOW = "2026-11-29T18:12:35Z"  # the tests' clock: the install is 5m old

VALUES: dict[str, Any] = {
    "engines": {
        "my-cache": {"l1": {"sizeGB": 20}, "coordinator": {"ref": {"name": "my-coordinator"}}}
    },
    "cacheBlendEngines": {
        "blend": {"l1": {"sizeGB": 10}, "injection": {"payloadImage": {"repository": "example/cb"}}}
    },
    "coordinators": {"my-coordinator": {"port": 9301}},
}


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text())


@functools.cache
def _rendered(namespace: str, values_json: str) -> tuple[dict[str, Any], ...]:
    out = render(json.loads(values_json), postrender=True, namespace=namespace, release=RELEASE)
    return tuple(out.docs)


def rendered(namespace: str = NAMESPACE, values: dict[str, Any] | None = None) -> list[dict]:
    """The chart's post-rendered manifests (a fresh copy each time)."""
    docs = _rendered(namespace, json.dumps(values or VALUES, sort_keys=True))
    return copy.deepcopy(list(docs))


# --- what the API server adds ---------------------------------------------------------------
PROBE_DEFAULTS = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


def _default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for key in ("startupProbe", "livenessProbe", "readinessProbe"):
            if key in container:
                for field, value in PROBE_DEFAULTS.items():
                    container[key].setdefault(field, value)
                if "httpGet" in container[key]:
                    container[key]["httpGet"].setdefault("scheme", "HTTP")
        for port in container.get("ports", []):
            port.setdefault("protocol", "TCP")
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("fieldRef")
            if ref is not None:
                ref.setdefault("apiVersion", "v1")


def as_stored(obj: dict[str, Any], namespace: str, created: str = CREATED) -> dict[str, Any]:
    """A manifest as the API server stores it after `helm install`."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    if obj["kind"] in CLUSTER_SCOPED:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace
    meta["creationTimestamp"] = created
    meta.setdefault("annotations", {}).update(
        {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": namespace}
    )
    kind = obj["kind"]
    if kind in ("DaemonSet", "Deployment"):
        meta["generation"] = 1
        _default_pod_spec(obj["spec"]["template"]["spec"])
        obj["spec"].setdefault("revisionHistoryLimit", 10)
    if kind == "DaemonSet":
        obj["spec"].setdefault(
            "updateStrategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        )
        obj["status"] = {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
            "observedGeneration": 1,
        }
    if kind == "Deployment":
        obj["spec"].setdefault("replicas", 1)
        obj["spec"].setdefault("progressDeadlineSeconds", 600)
        obj["status"] = {"observedGeneration": 1, "replicas": 0}
    if kind == "Service" and obj["spec"].get("clusterIP") != "None":
        obj["spec"]["clusterIP"] = "10.96.0.10"
        obj["spec"]["clusterIPs"] = ["10.96.0.10"]
    if kind == "Service":
        obj["spec"].setdefault("sessionAffinity", "None")
        obj["spec"].setdefault("ipFamilies", ["IPv4"])
        obj["spec"].setdefault("ipFamilyPolicy", "SingleStack")
    if kind == "ConfigMap":
        meta["managedFields"] = [_managed("helm", created)]
    return obj


def _managed(manager: str, time: str) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": "Update",
        "apiVersion": "v1",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:kv-transfer-config.json": {}}},
    }


class Cluster:
    """The fake API's state, with the verbs a test needs to move an install around."""

    def __init__(self, state: FakeKubeState) -> None:
        self.state = state

    def install(
        self, namespace: str = NAMESPACE, values: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        stored = [
            as_stored(doc, namespace)
            for doc in rendered(namespace, values)
            if left_by_helm(doc, "install")
        ]
        for obj in stored:
            self.state.put(obj)
        return stored

    def obj(self, kind: str, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        return self.state.get(kind, namespace, name)

    def engine_pods(self, name: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
        return [
            o
            for (plural, ns, _), o in sorted(self.state.objects.items())
            if plural == "pods"
            and ns == namespace
            and any(
                r.get("kind") == "DaemonSet" and r.get("name") == name
                for r in o["metadata"].get("ownerReferences", [])
            )
        ]

    def schedule(self, name: str, desired: int, ready: int, namespace: str = NAMESPACE) -> None:
        """The DaemonSet controller's work: `desired` pods on gpu-node-1.., `ready` of them Ready."""
        ds = self.obj("DaemonSet", name, namespace)
        for pod in self.engine_pods(name, namespace):
            self.state.delete("Pod", namespace, pod["metadata"]["name"])
        ds["status"].update(
            {
                "currentNumberScheduled": desired,
                "desiredNumberScheduled": desired,
                "numberReady": ready,
                "numberAvailable": ready,
                "updatedNumberScheduled": desired,
            }
        )
        if ready < desired:
            ds["status"]["numberUnavailable"] = desired - ready
        for i in range(desired):
            self.state.put(self._pod_from(ds, f"{name}-{i:05x}", i + 1, ready=i < ready))

    def scale(self, name: str, replicas: int, ready: int, namespace: str = NAMESPACE) -> None:
        deployment = self.obj("Deployment", name, namespace)
        deployment["spec"]["replicas"] = replicas
        deployment["status"].update({"replicas": replicas, "readyReplicas": ready})
        if not ready:
            deployment["status"].pop("readyReplicas")
        for i in range(replicas):
            pod = self._pod_from(deployment, f"{name}-74c569df4f-{i:05x}", None, ready=i < ready)
            pod["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{name}-74c569df4f",
                    "controller": True,
                }
            ]
            self.state.put(pod)

    def _pod_from(self, owner: dict[str, Any], name: str, node: int | None, ready: bool):
        template = copy.deepcopy(owner["spec"]["template"])
        namespace = owner["metadata"]["namespace"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": STARTED,
                "labels": template["metadata"]["labels"],
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": owner["kind"],
                        "name": owner["metadata"]["name"],
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending", "qosClass": "Burstable"},
        }
        if node is not None:
            pod["spec"]["nodeName"] = f"gpu-node-{node}"
            pod["status"] = {
                "phase": "Running",
                "conditions": [
                    {"type": "Ready", "status": "True" if ready else "False"},
                    {"type": "PodScheduled", "status": "True"},
                ],
                "hostIP": f"192.0.2.{10 + node}",
                "podIP": f"10.244.{node}.7",
                "startTime": STARTED,
            }
        elif ready:
            pod["spec"]["nodeName"] = "cpu-node-1"
            pod["status"] = {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "hostIP": "192.0.2.99",
                "podIP": "10.244.99.3",
            }
        return pod

    def rewrite_connection(self, name: str, port: str, time: str, namespace: str = NAMESPACE):
        """`helm upgrade` changing the engine's connection (here: its port) at `time`."""
        cm = self.obj("ConfigMap", f"{name}-connection", namespace)
        kv = json.loads(cm["data"]["kv-transfer-config.json"])
        kv["kv_connector_extra_config"]["lmcache.mp.port"] = port
        cm["data"]["kv-transfer-config.json"] = json.dumps(kv, indent=2, sort_keys=True)
        cm["metadata"]["managedFields"] = [_managed("helm", time)]


def vllm_pod(
    name: str,
    namespace: str = NAMESPACE,
    *,
    node: str = "gpu-node-1",
    mount: str | None = None,
    env_from: str | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    args: list[str] | None = None,
    host_ipc: bool = True,
    hash_seed: bool = True,
    started: str = STARTED,
    owner: tuple[str, str] | None = ("ReplicaSet", "vllm-6d4b9c7f8d"),
) -> dict[str, Any]:
    """A vLLM pod as a Deployment's ReplicaSet creates it (pod-template-hash and all)."""
    container: dict[str, Any] = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.33.0",
        "args": args or ["--model", "Qwen/Qwen3-8B"],
        "env": [{"name": "PYTHONHASHSEED", "value": "0"}] if hash_seed else [],
    }
    spec: dict[str, Any] = {"containers": [container], "nodeName": node}
    if host_ipc:
        spec["hostIPC"] = True
    if mount:
        spec["volumes"] = [{"name": "lmcache-connection", "configMap": {"name": mount}}]
        container["volumeMounts"] = [{"name": "lmcache-connection", "mountPath": "/etc/lmcache"}]
    if env_from:
        container["envFrom"] = [{"configMapRef": {"name": env_from}}]
    pod_labels = {"app": "vllm", "pod-template-hash": "6d4b9c7f8d", **(labels or {})}
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": pod_labels,
        "annotations": annotations or {},
        "creationTimestamp": started,
    }
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "vllm", "ready": True, "state": {"running": {"startedAt": started}}}
            ],
        },
    }
