"""Rules that relate two fields or two entries of the values.

They run on the raw values dict (missing keys read as their model defaults), so they still
report when an unrelated field elsewhere is invalid: every problem is reported at once.
The chart enforces the same rules with `fail` in `templates/_validate.tpl`, and the schema
carries the two that JSON Schema can express; tests prove all of them reject the same input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lmcache_k8s.errors import Issue, join_path
from lmcache_k8s.names import METRICS_SUFFIX
from lmcache_k8s.values import (
    KINDS,
    BlendCoordinatorRef,
    CoordinatorRef,
    CoordinatorSpec,
    ServerSpec,
)

_SERVER = ServerSpec()
_COORD = CoordinatorSpec()
_REF = CoordinatorRef()
_BLEND_REF = BlendCoordinatorRef()
BLEND_WITHOUT_EVENTS = (
    "false: lmcache then disables fleet CacheBlend matching (the coordinator builds its blend"
    " index from cache events) and this engine matches locally only"
)
# Below this multiple of an engine's heartbeat interval, one late heartbeat evicts it.
TIMEOUT_HEARTBEAT_FACTOR = 3


def _get(node: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _entries(values: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for kind in KINDS:
        entries = values.get(kind)
        if isinstance(entries, dict):
            for name in sorted(entries):
                if isinstance(entries[name], dict):
                    yield kind, name, entries[name]


def _engines(values: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    return ((k, n, s) for k, n, s in _entries(values) if k != "coordinators")


def errors(values: dict[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    seen: dict[str, str] = {}
    for kind, name, spec in _entries(values):
        base = join_path(kind, name)
        if name in seen:
            out.append(
                Issue(
                    base, f"name already used by {seen[name]}.{name} (their Services would collide)"
                )
            )
        seen.setdefault(name, kind)
        if (
            _get(spec, "prometheus", "serviceMonitor", "enabled") is True
            and _get(spec, "prometheus", "enabled", default=True) is False
        ):
            out.append(
                Issue(f"{base}.prometheus.serviceMonitor.enabled", "needs prometheus.enabled: true")
            )
    for kind, name, _ in _entries(values):
        owner = name.removesuffix(METRICS_SUFFIX)
        if owner != name and owner in seen:
            out.append(
                Issue(
                    join_path(kind, name),
                    f"name collides with the metrics Service of {seen[owner]}.{owner}"
                    f" (both are named {name})",
                )
            )
    coordinators = (
        values.get("coordinators") if isinstance(values.get("coordinators"), dict) else {}
    )
    for kind, name, spec in _engines(values):
        base = join_path(kind, name)
        port = _get(spec, "server", "port", default=_SERVER.port)
        if _get(spec, "server", "httpPort", default=_SERVER.httpPort) == port:
            out.append(
                Issue(f"{base}.server.httpPort", f"must differ from server.port (both {port})")
            )
        ref = _get(spec, "coordinator")
        if not isinstance(ref, dict):
            continue
        if ("ref" in ref) == ("url" in ref):
            out.append(Issue(f"{base}.coordinator", "set exactly one of ref and url"))
        target = _get(ref, "ref", "name")
        if isinstance(target, str) and target not in coordinators:
            out.append(
                Issue(
                    f"{base}.coordinator.ref.name",
                    f'no coordinator named "{target}" in coordinators',
                )
            )
        elif isinstance(target, str) and isinstance(coordinators[target], dict):
            chunk = _get(spec, "server", "chunkSize", default=_SERVER.chunkSize)
            blend = _get(coordinators[target], "blendChunkSize", default=_COORD.blendChunkSize)
            if chunk != blend:
                out.append(
                    Issue(
                        f"coordinators.{target}.blendChunkSize",
                        f"must equal the chunkSize of {base} ({chunk}), which uses this coordinator"
                        f" (got {blend})",
                    )
                )
    return out


def warnings(values: dict[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    coordinators = {n: s for k, n, s in _entries(values) if k == "coordinators"}
    for name, spec in coordinators.items():
        replicas = _get(spec, "replicas", default=_COORD.replicas)
        if isinstance(replicas, int) and replicas > 1:
            out.append(
                Issue(
                    f"coordinators.{name}.replicas",
                    f"{replicas} replicas do not share the in-memory registry; engines will see"
                    " different fleets",
                )
            )
    for kind, name, spec in _engines(values):
        ref = _get(spec, "coordinator")
        if kind == "cacheBlendEngines" and isinstance(ref, dict):
            if _get(ref, "l2EventReporting", default=_BLEND_REF.l2EventReporting) is False:
                path = f"{kind}.{name}.coordinator.l2EventReporting"
                out.append(Issue(path, BLEND_WITHOUT_EVENTS))
        target = _get(spec, "coordinator", "ref", "name")
        if target not in coordinators:
            continue
        heartbeat = _get(spec, "coordinator", "heartbeatInterval", default=_REF.heartbeatInterval)
        timeout = _get(coordinators[target], "instanceTimeout", default=_COORD.instanceTimeout)
        if isinstance(heartbeat, int | float) and isinstance(timeout, int | float):
            if timeout < heartbeat * TIMEOUT_HEARTBEAT_FACTOR:
                out.append(
                    Issue(
                        f"coordinators.{target}.instanceTimeout",
                        f"{timeout}s is less than {TIMEOUT_HEARTBEAT_FACTOR}x the heartbeat interval"
                        f" of {kind}.{name} ({heartbeat}s): a late heartbeat evicts the engine",
                    )
                )
    return out
