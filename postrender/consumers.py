"""Fix up the engines' consumers: the vLLM workloads that connect to an engine of the stream.

A pod that mounts `<engine>-connection` talks to that engine, so it needs what the engine
needs on the vLLM side: `hostIPC: true` (CUDA IPC) and `PYTHONHASHSEED=0` (vLLM and LMCache
must hash token chunks to the same keys). The seed's hand-written vLLM Deployment sets both
by hand; forgetting either fails silently at run time, so they are enforced, with a warning.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lmcache_k8s.errors import Issue
from lmcache_k8s.names import CONNECTION_SUFFIX, HASH_SEED_ENV
from postrender.workloads import Obj, as_list, containers, pod_spec, pod_spec_path


class Connections:
    """The `N-connection` ConfigMap names of the stream's engines, by namespace."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, set[str]] = defaultdict(set)

    def add(self, namespace: str, engine: str) -> None:
        """Engine entry `engine` lives in `namespace` ("" for no namespace)."""
        self._by_namespace[namespace].add(engine + CONNECTION_SUFFIX)

    def visible_from(self, namespace: str) -> set[str]:
        """What a workload in `namespace` may mount: its namespace's and the unset one's;
        a workload without a namespace may be in any, so it may mount any of them."""
        if not namespace:
            return set().union(*self._by_namespace.values())
        return self._by_namespace.get(namespace, set()) | self._by_namespace.get("", set())


def _configmap_volumes(pod: dict[str, Any]) -> dict[str, set[str]]:
    """volume name -> the ConfigMaps it projects."""
    out: dict[str, set[str]] = {}
    for volume in as_list(pod.get("volumes")):
        if not isinstance(volume, dict):
            continue
        names: set[str] = set()
        cm = volume.get("configMap")
        if isinstance(cm, dict) and cm.get("name"):
            names.add(str(cm["name"]))
        projected = volume.get("projected")
        if isinstance(projected, dict):
            for source in as_list(projected.get("sources")):
                cm = source.get("configMap") if isinstance(source, dict) else None
                if isinstance(cm, dict) and cm.get("name"):
                    names.add(str(cm["name"]))
        if names:
            out[str(volume.get("name"))] = names
    return out


def fix_consumer(obj: Obj, connections: set[str]) -> list[Issue]:
    """Enforce hostIPC and PYTHONHASHSEED=0 on a workload mounting one of `connections`.

    Returns one warning per change; the object is changed in place.
    """
    pod = pod_spec(obj.body)
    if pod is None:
        return []
    volumes = {name for name, cms in _configmap_volumes(pod).items() if cms & connections}
    if not volumes:
        return []
    engines = sorted(cm for cms in _configmap_volumes(pod).values() for cm in cms & connections)
    changes: list[Issue] = []
    base = pod_spec_path(obj.kind)
    why = f"it mounts {', '.join(engines)}"
    if pod.get("hostIPC") is not True:
        pod["hostIPC"] = True
        changes.append(
            Issue(
                f"{base}.hostIPC",
                f"set to true: {why} and exchanges KV data with the engine over CUDA IPC",
                obj.ref,
            )
        )
    for index, container in enumerate(containers(pod)):
        mounts = as_list(container.get("volumeMounts"))
        if not any(isinstance(m, dict) and str(m.get("name")) in volumes for m in mounts):
            continue
        env = container.get("env")
        if env is None:
            env = []
        if not isinstance(env, list):
            continue
        path = f"{base}.containers[{index}].env"
        wanted = {"name": HASH_SEED_ENV, "value": "0"}
        found = [
            i for i, e in enumerate(env) if isinstance(e, dict) and e.get("name") == HASH_SEED_ENV
        ]
        if not found:
            env.append(wanted)
            message = "added PYTHONHASHSEED=0"
        elif any(env[i] != wanted for i in found):
            for i in found:
                env[i] = dict(wanted)
            message = "set PYTHONHASHSEED=0"
        else:
            continue
        container["env"] = env
        changes.append(
            Issue(
                path,
                f"{message}: {why}, and vLLM must hash token chunks exactly as LMCache does",
                obj.ref,
            )
        )
    if changes:
        obj.touch()
    return changes
