"""The engines' consumers: the vLLM workloads of the stream that reach an engine's connection.

A pod that reads `<engine>-connection` by any route (`lmcache_k8s.pod_refs`: a volume, a
projected volume, `configMapKeyRef`, `envFrom`; any container or init container; any
workload kind, CronJob and bare Pod included) talks to that engine, so it needs what the
engine needs on the vLLM side, enforced here with a warning for each change:

- `hostIPC: true`: KV data moves over CUDA IPC, which needs the host IPC namespace;
- `PYTHONHASHSEED=0` in every container that reads the connection: vLLM and LMCache must
  hash token chunks to the same keys;
- the label `lmcache.ai/client-of: <engine>` on the pod template: the engine's
  NetworkPolicy admits labelled pods to its ZMQ port;
- the annotation `checksum/<engine>-connection` on the pod template: the connection's hash
  (`lmcache_k8s.connection.connection_hash`), so a changed port or host rolls the pods,
  which read the connection only when they start.

One thing cannot be fixed safely and is an error, worded as on engines: an emptyDir at
/dev/shm, which hides the host's shared memory that hostIPC brings.

When every connection a workload reads belongs to an engine with isolated IPC (its
ConfigMap says `"lmcache.mp.isolated_ipc": true`), the IPC rules flip
(`postrender.invariants.isolated_consumer`): no hostIPC is added, each container gets a
memory-backed emptyDir at /dev/shm sized by the ConfigMap's `consumer-shm-size-limit`, and
a pod's own /dev/shm emptyDir is allowed. A pod that reads a host-mode engine too keeps the
host rules (hostIPC brings the host's /dev/shm, which serves both).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from lmcache_k8s.connection import connection_hash
from lmcache_k8s.errors import Issue
from lmcache_k8s.names import (
    CLIENT_OF_LABEL,
    CONNECTION_SUFFIX,
    CONSUMER_SHM_SIZE_KEY,
    HASH_SEED_ENV,
    KV_TRANSFER_CONFIG_KEY,
)
from lmcache_k8s.pod_refs import (
    ConfigMapRef,
    configmap_refs,
    containers_of,
    shadowed_shm,
    shadowed_shm_message,
)
from postrender.invariants import isolated_connection, isolated_consumer
from postrender.workloads import Obj, as_dict, pod_spec, pod_spec_path

CHECKSUM_PREFIX = "checksum/"
NCCL_ADVICE = (
    "; with hostIPC: true the host's /dev/shm also serves NCCL (tensor parallelism), so the"
    " emptyDir is not needed"
)


@dataclass(frozen=True)
class Connection:
    """What a consumer needs to know about one engine's `N-connection` ConfigMap."""

    hash: str | None  # lmcache_k8s.connection.connection_hash; None without usable JSON
    isolated: bool = False  # "lmcache.mp.isolated_ipc": true
    shm_size_limit: str | None = None  # consumer-shm-size-limit (isolated engines)


class Connections:
    """The stream's engines, by namespace: their `N-connection` names and what they say."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, Connection]] = defaultdict(dict)

    def add(self, namespace: str, engine: str, configmap: Obj | None) -> None:
        """Engine entry `engine` lives in `namespace` ("" for none), with its ConfigMap."""
        self._by_namespace[namespace][engine + CONNECTION_SUFFIX] = _connection_of(configmap)

    def visible_from(self, namespace: str) -> dict[str, Connection]:
        """ConfigMap name -> Connection, for what a workload in `namespace` may read:
        its namespace's and the unset one's; without a namespace it may be in any."""
        if not namespace:
            spaces = list(self._by_namespace.values())
        else:
            spaces = [self._by_namespace.get(""), self._by_namespace.get(namespace)]
        out: dict[str, Connection] = {}
        for space in spaces:
            out.update(space or {})
        return out


def _connection_of(configmap: Obj | None) -> Connection:
    """Hash and IPC mode of an `N-connection` ConfigMap (unreadable: host mode, no hash)."""
    if configmap is None:
        return Connection(None)
    data = as_dict(configmap.body.get("data"))
    text = data.get(KV_TRANSFER_CONFIG_KEY)
    try:
        value = connection_hash(str(text)) if text is not None else None
        parsed = json.loads(str(text)) if text is not None else {}
    except ValueError:
        return Connection(None)  # reported with the engine (side_objects)
    isolated = isinstance(parsed, dict) and isolated_connection(parsed)
    size = data.get(CONSUMER_SHM_SIZE_KEY)
    return Connection(value, isolated, str(size) if size is not None else None)


def _template_metadata(obj: Obj) -> dict[str, Any] | None:
    """The metadata of the pods the object makes (created when missing)."""
    body = obj.body
    if obj.kind == "Pod":
        holder: Any = body
    elif obj.kind == "PodTemplate":
        holder = body.get("template")
    elif obj.kind == "CronJob":
        job = as_dict(as_dict(body.get("spec")).get("jobTemplate")).get("spec")
        holder = as_dict(job).get("template")
    else:
        holder = as_dict(body.get("spec")).get("template")
    if not isinstance(holder, dict):
        return None
    if not isinstance(holder.get("metadata"), dict):
        holder["metadata"] = {}
    return holder["metadata"]


def _metadata_path(kind: str) -> str:
    spec = pod_spec_path(kind)
    return "metadata" if kind == "Pod" else spec.removesuffix(".spec") + ".metadata"


class _Consumer:
    """One workload reaching `refs` (its references to the stream's connections)."""

    def __init__(self, obj: Obj, pod: dict[str, Any], refs: list[ConfigMapRef]) -> None:
        self.obj = obj
        self.pod = pod
        self.refs = refs
        self.base = pod_spec_path(obj.kind)
        self.configmaps = sorted({r.configmap for r in refs})
        self.why = f"it reads {', '.join(self.configmaps)}"
        self.changes: list[Issue] = []
        self.errors: list[Issue] = []

    def changed(self, path: str, message: str) -> None:
        self.changes.append(Issue(path, message, self.obj.ref))

    def host_ipc(self) -> None:
        if self.pod.get("hostIPC") is not True:
            self.pod["hostIPC"] = True
            self.changed(
                f"{self.base}.hostIPC",
                f"set to true: {self.why} and exchanges KV data with the engine over CUDA IPC",
            )

    def hash_seed(self) -> None:
        readers = {(r.group, r.index) for r in self.refs if r.group is not None}
        for group, index, container in containers_of(self.pod):
            if (group, index) not in readers:
                continue
            env = container.get("env")
            if env is None:
                env = []
            if not isinstance(env, list):
                continue  # not a list: the Kubernetes schema rejects it
            wanted = {"name": HASH_SEED_ENV, "value": "0"}
            found = [
                i
                for i, e in enumerate(env)
                if isinstance(e, dict) and e.get("name") == HASH_SEED_ENV
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
            self.changed(
                f"{self.base}.{group}[{index}].env",
                f"{message}: {self.why}, and vLLM must hash token chunks exactly as LMCache does",
            )

    def template_metadata(self, connections: dict[str, Connection]) -> None:
        metadata = _template_metadata(self.obj)
        if metadata is None:
            return
        path = _metadata_path(self.obj.kind)
        engines = [cm.removesuffix(CONNECTION_SUFFIX) for cm in self.configmaps]
        labels = metadata.get("labels")
        if labels is None:
            labels = metadata["labels"] = {}
        # A label naming one of the engines the pod reads is kept (a pod reading several
        # chooses); anything else is set to the first of them, in name order.
        if isinstance(labels, dict) and labels.get(CLIENT_OF_LABEL) not in engines:
            verb = "set" if CLIENT_OF_LABEL in labels else "added"
            labels[CLIENT_OF_LABEL] = engines[0]
            self.changed(
                f"{path}.labels",
                f"{verb} {CLIENT_OF_LABEL}: {engines[0]}: the engine's NetworkPolicy admits"
                " its clients by this label",
            )
        annotations = metadata.get("annotations")
        if annotations is None:
            annotations = {}
        if not isinstance(annotations, dict):
            return
        for configmap in self.configmaps:
            known = connections.get(configmap)
            value = known.hash if known is not None else None
            key = CHECKSUM_PREFIX + configmap
            if value is None or annotations.get(key) == value:
                continue
            annotations[key] = value
            metadata["annotations"] = annotations
            self.changed(
                f"{path}.annotations",
                f"set {key}: {value}: the pods read {configmap} only when they start, so a"
                " changed connection rolls them",
            )

    def shm(self) -> None:
        for shadow in shadowed_shm(self.pod):
            self.errors.append(
                Issue(
                    f"{self.base}.{shadow.path}",
                    shadowed_shm_message(shadow.container, shadow.volume) + NCCL_ADVICE,
                    self.obj.ref,
                )
            )


def _shm_size_limit(wanted: list[Connection]) -> str:
    """The largest consumer-shm-size-limit among isolated engines a pod reads (a pod reading
    two shares one /dev/shm); the values default when a ConfigMap lacks the key."""
    from lmcache_k8s.values import EngineSpec  # pydantic: lazy

    default = str(EngineSpec.model_fields["consumerShmSizeLimit"].default)
    sizes = [c.shm_size_limit or default for c in wanted]
    return max(sizes, key=_quantity_bytes)


_SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_SUFFIXES |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _quantity_bytes(quantity: str) -> float:
    """A quantity of the values pattern (lmcache_k8s.values.QUANTITY_PATTERN) in bytes;
    anything else counts as 0, so a valid size wins."""
    number = quantity.rstrip("kKMGTi")
    try:
        return float(number) * _SUFFIXES.get(quantity[len(number) :], 0)
    except ValueError:
        return 0.0


def fix_consumer(
    obj: Obj, connections: dict[str, Connection]
) -> tuple[list[Issue], list[Issue], list[Issue]]:
    """(errors, changes, warnings) for a workload reading one of `connections` (by name).

    The changes are made in place, one issue each; nothing is changed for a workload
    that reaches no connection of the stream.
    """
    pod = pod_spec(obj.body)
    if pod is None:
        return [], [], []
    refs = [r for r in configmap_refs(pod) if r.configmap in connections]
    if not refs:
        return [], [], []
    consumer = _Consumer(obj, pod, refs)
    read = [connections[name] for name in consumer.configmaps]
    warnings: list[Issue] = []
    if all(c.isolated for c in read):
        changes, notes = isolated_consumer(pod, consumer.base, _shm_size_limit(read))
        consumer.changes += [Issue(i.path, i.message, obj.ref) for i in changes]
        warnings = [Issue(i.path, i.message, obj.ref) for i in notes]
    else:
        consumer.shm()
        consumer.host_ipc()
    consumer.hash_seed()
    consumer.template_metadata(connections)
    if consumer.changes:
        obj.touch()
    return consumer.errors, consumer.changes, warnings
