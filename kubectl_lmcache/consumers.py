"""Which vLLM pods use an engine, how they are wired, and whether their connection is current.

A pod is a consumer of engine N (namespace NS) when it
- mounts or references the `N-connection` ConfigMap (volume, projected volume,
  `configMapKeyRef`, `envFrom`; any container or init container), or
- was injected by a webhook with N's connection (`lmcache.ai/cacheblend-injected` or
  `lmcache.ai/lmcache-injected`), or asked for N (`lmcache.ai/cacheblend-engine`,
  `lmcache.ai/lmcache-engine`) and was skipped (`*-skip-reason`) or never reached a webhook.

Injection is one-shot at pod CREATE and a ConfigMap is read when a container starts, so a
pod keeps the connection it started with. It is **stale** when that differs from the
ConfigMap now:
- injected pods: the `lmcache.ai/connection-hash` annotation (else the hash of the
  `--kv-transfer-config` the webhook put in the args) against the ConfigMap's hash;
- mounting pods: that annotation when present, else time: the ConfigMap's data was last
  written (its managedFields entry owning `data`) after the using container started.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lmcache_k8s.connection import connection_hash
from lmcache_k8s.lmcache_cli import resolved_mirrored
from lmcache_k8s.names import (
    CACHEBLEND_ENGINE_ANNOTATION,
    CACHEBLEND_INJECT_LABEL,
    CACHEBLEND_INJECTED_ANNOTATION,
    CACHEBLEND_SKIP_REASON_ANNOTATION,
    CONNECTION_HASH_ANNOTATION,
    CONNECTION_SUFFIX,
    HASH_SEED_ENV,
    KV_TRANSFER_CONFIG_KEY,
    LMCACHE_ENGINE_ANNOTATION,
    LMCACHE_INJECT_LABEL,
    LMCACHE_INJECTED_ANNOTATION,
    LMCACHE_SKIP_REASON_ANNOTATION,
    TRUE,
)
from lmcache_k8s.pod_refs import configmap_refs

from .model import Consumer, Status
from .status import flag_value
from .timefmt import later, sort_key

ISOLATED_IPC_KEY = "lmcache.mp.isolated_ipc"

KV_FLAG = "--kv-transfer-config"


@dataclass(frozen=True)
class Webhook:
    """One injection webhook's names: the CacheBlend one and the plain-LMCache one."""

    label: str
    engine: str
    injected: str
    skip_reason: str


WEBHOOKS = (
    Webhook(
        CACHEBLEND_INJECT_LABEL,
        CACHEBLEND_ENGINE_ANNOTATION,
        CACHEBLEND_INJECTED_ANNOTATION,
        CACHEBLEND_SKIP_REASON_ANNOTATION,
    ),
    Webhook(
        LMCACHE_INJECT_LABEL,
        LMCACHE_ENGINE_ANNOTATION,
        LMCACHE_INJECTED_ANNOTATION,
        LMCACHE_SKIP_REASON_ANNOTATION,
    ),
)


def _all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for group in ("initContainers", "containers")
        for c in spec.get(group) or []
        if isinstance(c, dict)
    ]


def references(pod: dict[str, Any], configmap: str) -> tuple[str, str, list[str]]:
    """(wiring, detail, using containers) for a pod reaching `configmap`; wiring "" if none.

    The routes are the post-renderer's (`lmcache_k8s.pod_refs.configmap_refs`): a mounted
    volume or projected volume makes the pod "mounted", otherwise `configMapKeyRef` or
    `envFrom` makes it "env".
    """
    refs = [r for r in configmap_refs(pod.get("spec") or {}) if r.configmap == configmap]
    mounts = [r for r in refs if r.route in ("volume", "projected volume")]
    mounted = list(dict.fromkeys(r.container for r in mounts if r.container is not None))
    if mounted:
        volumes = ", ".join(sorted({r.detail for r in mounts if r.detail}))
        return "mounted", f"volume {volumes} in {', '.join(mounted)}", mounted
    env_refs = [r for r in refs if r.route in ("env", "envFrom")]
    if env_refs:
        how = [("env " + r.detail) if r.route == "env" else "envFrom" for r in env_refs]
        detail = "; ".join(f"{h} in {r.container}" for h, r in zip(how, env_refs, strict=True))
        return "env", detail, [str(r.container) for r in env_refs]
    return "", "", []


def injected_hash(pod: dict[str, Any]) -> str:
    """The connection a webhook gave the pod: its annotation, else the hash of the arg."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(CONNECTION_HASH_ANNOTATION):
        return annotations[CONNECTION_HASH_ANNOTATION]
    for c in _all_containers(pod.get("spec") or {}):
        value = flag_value(c.get("args") or [], KV_FLAG)
        if value:
            try:
                return connection_hash(value)
            except ValueError:
                return ""
    return ""


def injected_engine(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of the engine whose address the injected kv-transfer-config names."""
    for c in _all_containers(pod.get("spec") or {}):
        value = flag_value(c.get("args") or [], KV_FLAG)
        if not value:
            continue
        try:
            kv = json.loads(value)
        except ValueError:
            return None
        host = str(((kv or {}).get("kv_connector_extra_config") or {}).get("lmcache.mp.host", ""))
        parts = host.removeprefix("tcp://").split(".")
        if len(parts) >= 2:
            return parts[1], parts[0]
    return None


def resolves_to(
    value: str, pod_namespace: str, engine: Status, known: set[tuple[str, str]]
) -> bool:
    """Does an engine annotation (`<name>` or `<namespace>/<name>`) name this engine?

    A bare name is looked up in the pod's namespace first, then, as the webhook does, in the
    namespace the engines run in: here, any namespace holding an engine of that name.
    """
    value = value.strip()
    if "/" in value:
        namespace, _, name = value.partition("/")
        return (namespace, name) == (engine.namespace, engine.name)
    if value != engine.name:
        return False
    return pod_namespace == engine.namespace or (pod_namespace, value) not in known


def owner_and_roll(pod: dict[str, Any]) -> tuple[str, str]:
    """(Kind/name of what recreates the pod, the command that rolls it)."""
    meta = pod.get("metadata") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    if owner is None:
        return "", ""
    kind, owner_name = owner.get("kind", ""), owner.get("name", "")
    if kind == "ReplicaSet":
        template_hash = (meta.get("labels") or {}).get("pod-template-hash", "")
        if template_hash and owner_name.endswith("-" + template_hash):
            deployment = owner_name[: -len(template_hash) - 1]
            return (
                f"Deployment/{deployment}",
                f"kubectl rollout restart deployment/{deployment} -n {namespace}",
            )
    if kind in ("DaemonSet", "StatefulSet"):
        return (
            f"{kind}/{owner_name}",
            f"kubectl rollout restart {kind.lower()}/{owner_name} -n {namespace}",
        )
    # Jobs, LeaderWorkerSets and other controllers create a new pod when one is deleted
    return f"{kind}/{owner_name}", f"kubectl delete pod {name} -n {namespace}"


def data_written_at(configmap: dict[str, Any]) -> str:
    """When the ConfigMap's data was last written (RFC 3339), from its managedFields."""
    meta = configmap.get("metadata") or {}
    times = [
        entry.get("time", "")
        for entry in meta.get("managedFields") or []
        if "f:data" in (entry.get("fieldsV1") or {}) and entry.get("time")
    ]
    return max(times, key=sort_key) if times else meta.get("creationTimestamp", "")


def started_at(pod: dict[str, Any], container_names: Iterable[str]) -> str | None:
    """When the earliest of these containers last started; None if none is running yet."""
    wanted = set(container_names)
    status = pod.get("status") or {}
    times = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if cs.get("name") not in wanted:
            continue
        state = cs.get("state") or {}
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if started:
            times.append(started)
    return min(times, key=sort_key) if times else None


def isolated_ipc(configmap: dict[str, Any] | None) -> bool:
    """Whether the engine's connection says `"lmcache.mp.isolated_ipc": true` (the server
    runs with --isolated-ipc), read as the vLLM connector reads it; False when unreadable."""
    text = ((configmap or {}).get("data") or {}).get(KV_TRANSFER_CONFIG_KEY)
    try:
        kv = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return False
    extra = kv.get("kv_connector_extra_config") if isinstance(kv, dict) else None
    return bool(resolved_mirrored(extra if isinstance(extra, dict) else {})[ISOLATED_IPC_KEY])


def _problems(
    pod: dict[str, Any], using: list[str], engine: Status, isolated: bool = False
) -> list[str]:
    spec = pod.get("spec") or {}
    problems = []
    # Isolated IPC needs no host IPC namespace (docs/values.md "IPC modes and Pod Security").
    if not isolated and spec.get("hostIPC") is not True:
        problems.append("hostIPC is not true: CUDA IPC with the engine fails")
    for c in _all_containers(spec):
        if using and c.get("name") not in using:
            continue
        seed = next(
            (
                e
                for e in c.get("env") or []
                if isinstance(e, dict) and e.get("name") == HASH_SEED_ENV
            ),
            None,
        )
        if seed is None or seed.get("value") != "0":
            problems.append(
                f"{HASH_SEED_ENV} is not 0 in container {c.get('name')}: its cache keys will"
                " not match the engine's"
            )
    node = spec.get("nodeName", "")
    if node and engine.endpoints and not any(e.node == node and e.ready for e in engine.endpoints):
        problems.append(
            f"no ready {engine.name} pod on node {node}: the engine's Service only routes to"
            " the pod on the same node"
        )
    return problems


def find(
    engine: Status,
    configmap: dict[str, Any] | None,
    pods: list[dict[str, Any]],
    known: set[tuple[str, str]],
) -> list[Consumer]:
    """Every consumer of `engine` among `pods` (module docstring), sorted by namespace/pod."""
    cm_name = engine.name + CONNECTION_SUFFIX
    current = engine.connection_hash
    isolated = isolated_ipc(configmap)
    out = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        namespace, annotations = meta.get("namespace", ""), meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        wiring = detail = state = why = ""
        using: list[str] = []
        skipped = ""
        for hook in WEBHOOKS:
            asked = annotations.get(hook.engine)
            if annotations.get(hook.injected) == TRUE:
                target = injected_engine(pod)
                if target == (engine.namespace, engine.name) or (
                    target is None and asked and resolves_to(asked, namespace, engine, known)
                ):
                    wiring, detail = "injected", f"by the {hook.label.split('/')[1]} webhook"
                    state, why = _compare(injected_hash(pod), current, configmap)
                    break
            elif asked and resolves_to(asked, namespace, engine, known):
                reason = annotations.get(hook.skip_reason)
                if reason:
                    skipped = f"webhook skipped: {reason}"
                elif labels.get(hook.label) == TRUE:
                    skipped = (
                        "not injected: no webhook stamp although the pod is labelled"
                        f" {hook.label}=true (the webhook did not answer at creation, and its"
                        " failurePolicy Ignore admitted the pod unchanged)"
                    )
                else:
                    skipped = f"not injected: the pod lacks the label {hook.label}=true"
        if not wiring and namespace == engine.namespace:
            wiring, detail, using = references(pod, cm_name)
            if wiring:
                state, why = _mounted_state(pod, using, current, configmap)
                if skipped:
                    detail += f" ({skipped})"
        if not wiring and skipped:
            wiring = "skipped" if skipped.startswith("webhook skipped") else "not-injected"
            detail, state = skipped.split(": ", 1)[1], "-"
        if not wiring:
            continue
        owner, roll = owner_and_roll(pod)
        consumer = Consumer(
            namespace=namespace,
            pod=meta.get("name", ""),
            node=(pod.get("spec") or {}).get("nodeName", ""),
            wiring=wiring,
            detail=detail,
            state=state,
            why=why,
            owner=owner,
            roll=roll if state == "stale" else "",
        )
        if state == "stale" and not roll:
            consumer.why += "; a bare pod: delete it and create it again from its manifest"
        if wiring in ("mounted", "env", "injected"):
            consumer.problems = _problems(pod, using, engine, isolated)
        out.append(consumer)
    return sorted(out, key=lambda c: (c.namespace, c.pod))


def _compare(pod_hash: str, current: str, configmap: dict[str, Any] | None) -> tuple[str, str]:
    if configmap is None or not current:
        return "unknown", "the connection ConfigMap is missing or unreadable"
    if not pod_hash:
        return "unknown", "the pod carries no connection hash and no --kv-transfer-config"
    if pod_hash == current:
        return "current", f"connection {pod_hash}"
    return "stale", f"pod has connection {pod_hash}, the ConfigMap now {current}"


def _mounted_state(
    pod: dict[str, Any], using: list[str], current: str, configmap: dict[str, Any] | None
) -> tuple[str, str]:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(CONNECTION_HASH_ANNOTATION):
        return _compare(annotations[CONNECTION_HASH_ANNOTATION], current, configmap)
    if configmap is None:
        return "unknown", "the connection ConfigMap is missing or unreadable"
    written = data_written_at(configmap)
    started = started_at(pod, using)
    if started is None:
        return "current", "not started yet: it reads the ConfigMap as it is now"
    if later(written, started):
        return "stale", f"ConfigMap data written {written}, after the container started {started}"
    return "current", f"container started {started}, ConfigMap data written {written or 'earlier'}"
