"""The Warning events that explain an engine or coordinator, newest first.

A DaemonSet whose pods cannot be created says why only in events: a real API server
answered `FailedCreate ... pod rejected: RuntimeClass "nvidia" not found` while
`helm install` had reported success. So describe shows the workload's events and those of
its pods (and, for coordinators, of the ReplicaSets and pods the Deployment owns).
"""

from __future__ import annotations

from typing import Any

from lmcache_k8s.names import CONNECTION_SUFFIX

from .model import Status, WarningEvent
from .timefmt import sort_key

LIMIT = 10


def _involves(status: Status, kind: str, name: str) -> bool:
    if status.is_engine:
        if kind == "DaemonSet":
            return name == status.name
        if kind == "Pod":
            return any(e.pod == name for e in status.endpoints)
        if kind == "ConfigMap":
            return name == status.name + CONNECTION_SUFFIX
        return kind == "Service" and name == status.name
    if kind in ("Deployment", "Service"):
        return name == status.name
    # ReplicaSets are N-<hash> and their pods N-<hash>-<suffix>
    return kind in ("ReplicaSet", "Pod") and name.startswith(status.name + "-")


def _last_seen(event: dict[str, Any]) -> str:
    series = event.get("series") or {}
    return (
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp", "")
    )


def warnings_for(
    status: Status, events: list[dict[str, Any]], limit: int = LIMIT
) -> list[WarningEvent]:
    """The newest `limit` Warning events about `status`'s objects."""
    out = []
    for event in events:
        if event.get("type") != "Warning":
            continue
        involved = event.get("involvedObject") or {}
        if involved.get("namespace", status.namespace) != status.namespace:
            continue
        kind, name = involved.get("kind", ""), involved.get("name", "")
        if not _involves(status, kind, name):
            continue
        count = event.get("count") or (event.get("series") or {}).get("count") or 1
        out.append(
            WarningEvent(
                object=f"{kind}/{name}",
                reason=event.get("reason", ""),
                message=str(event.get("message", "")).strip(),
                count=int(count),
                last_seen=_last_seen(event),
            )
        )
    out.sort(key=lambda e: sort_key(e.last_seen), reverse=True)
    return out[:limit]
