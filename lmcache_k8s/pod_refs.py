"""Every route by which a pod reads a ConfigMap, and what shadows its /dev/shm.

A vLLM pod reaches an engine's `N-connection` ConfigMap in one of four ways, in any
container or init container:

| route              | where in the pod spec                                        |
|--------------------|--------------------------------------------------------------|
| `volume`           | `volumes[].configMap.name`, mounted by `volumeMounts[].name`   |
| `projected volume` | `volumes[].projected.sources[].configMap.name`, mounted alike |
| `env`              | `containers[].env[].valueFrom.configMapKeyRef.name`          |
| `envFrom`          | `containers[].envFrom[].configMapRef.name`                   |

The post-renderer (`postrender.consumers`) and the kubectl plugin (`kubectl_lmcache`)
both read pods through `configmap_refs`, so "a consumer" means the same thing everywhere.
Malformed parts of a pod spec are skipped, never raised on: the Kubernetes schemas judge
them.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

SHM = "/dev/shm"
CONTAINER_GROUPS = ("initContainers", "containers")


@dataclass(frozen=True)
class ConfigMapRef:
    """One way a pod reads ConfigMap `configmap`."""

    configmap: str
    route: str  # "volume", "projected volume", "env" or "envFrom"
    # The container reading it (for a volume: mounting it); None for a volume no container
    # mounts. `group` is "containers" or "initContainers", `index` its position there.
    container: str | None = None
    group: str | None = None
    index: int | None = None
    detail: str = ""  # the volume's or the variable's name, for messages

    @property
    def container_path(self) -> str | None:
        """`containers[0]`, relative to the pod spec; None without a container."""
        return None if self.group is None else f"{self.group}[{self.index}]"


def _dicts(node: Any) -> list[dict[str, Any]]:
    return [n for n in node if isinstance(n, dict)] if isinstance(node, list) else []


def containers_of(pod: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(group, index, container) for init containers, then containers."""
    out = []
    for group in CONTAINER_GROUPS:
        items = pod.get(group)
        if isinstance(items, list):
            out += [(group, i, c) for i, c in enumerate(items) if isinstance(c, dict)]
    return out


def _volume_sources(pod: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """volume name -> [(ConfigMap name, route)] for configMap and projected volumes."""
    out: dict[str, list[tuple[str, str]]] = {}
    for volume in _dicts(pod.get("volumes")):
        found = []
        cm = volume.get("configMap")
        if isinstance(cm, dict) and cm.get("name"):
            found.append((str(cm["name"]), "volume"))
        projected = volume.get("projected")
        if isinstance(projected, dict):
            for source in _dicts(projected.get("sources")):
                cm = source.get("configMap")
                if isinstance(cm, dict) and cm.get("name"):
                    found.append((str(cm["name"]), "projected volume"))
        if found:
            out[str(volume.get("name"))] = found
    return out


def configmap_refs(pod: dict[str, Any]) -> list[ConfigMapRef]:
    """Every ConfigMap reference of a pod spec, by route and container, in spec order."""
    refs: list[ConfigMapRef] = []
    volumes = _volume_sources(pod)
    mounted: set[str] = set()
    for group, index, container in containers_of(pod):
        name = str(container.get("name", ""))
        for mount in _dicts(container.get("volumeMounts")):
            volume = str(mount.get("name"))
            for configmap, route in volumes.get(volume, []):
                mounted.add(volume)
                refs.append(ConfigMapRef(configmap, route, name, group, index, volume))
        for env in _dicts(container.get("env")):
            value_from = env.get("valueFrom")
            ref = value_from.get("configMapKeyRef") if isinstance(value_from, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                refs.append(
                    ConfigMapRef(str(ref["name"]), "env", name, group, index, str(env.get("name")))
                )
        for source in _dicts(container.get("envFrom")):
            ref = source.get("configMapRef")
            if isinstance(ref, dict) and ref.get("name"):
                refs.append(ConfigMapRef(str(ref["name"]), "envFrom", name, group, index))
    for volume, sources in volumes.items():
        if volume not in mounted:  # declared but mounted by nobody: still a reference
            refs += [ConfigMapRef(configmap, route, detail=volume) for configmap, route in sources]
    return refs


def mount_path(mount: dict[str, Any]) -> str:
    """A volume mount's path as the runtime mounts it: `/dev/shm/`, `//dev/shm` and
    `/dev/./shm` are all /dev/shm (the chart's twin uses Go's `clean`)."""
    path = str(mount.get("mountPath", ""))
    return "/" + posixpath.normpath(path).lstrip("/") if path else ""


@dataclass(frozen=True)
class ShadowedShm:
    """An emptyDir mounted over /dev/shm by one container."""

    container: str
    group: str
    index: int
    mount_index: int
    volume: str

    @property
    def path(self) -> str:
        return f"{self.group}[{self.index}].volumeMounts[{self.mount_index}]"


def shadowed_shm(pod: dict[str, Any]) -> list[ShadowedShm]:
    """Every container that mounts an emptyDir at /dev/shm.

    With `hostIPC: true` the pod shares the host's /dev/shm, where CUDA IPC (and NCCL)
    keep their shared memory; an emptyDir mounted there hides it from that container.
    """
    empty = {str(v.get("name")) for v in _dicts(pod.get("volumes")) if "emptyDir" in v}
    out = []
    for group, index, container in containers_of(pod):
        for m, mount in enumerate(_dicts(container.get("volumeMounts"))):
            if mount_path(mount) == SHM and str(mount.get("name")) in empty:
                name = str(container.get("name", f"#{index}"))
                out.append(ShadowedShm(name, group, index, m, str(mount.get("name"))))
    return out


def shadowed_shm_message(container: Any, volume: Any) -> str:
    """The one sentence for an emptyDir over /dev/shm, on engines and on their consumers."""
    return (
        f"container {container} mounts emptyDir volume '{volume}' at {SHM}: it hides the"
        f" host's {SHM} (shared through hostIPC) and breaks CUDA IPC; remove the volume and"
        " its mount"
    )
