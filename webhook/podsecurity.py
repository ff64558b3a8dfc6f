"""The Pod Security level a namespace enforces, read from its label and kept for a while.

Pod Security Admission (kubernetes.io/docs/concepts/security/pod-security-admission)
rejects a pod that violates the level in its namespace's
`pod-security.kubernetes.io/enforce` label. The webhook's injection for a host-IPC engine
adds `hostIPC`, which `baseline` and `restricted` forbid, so it must know the level before
it injects: the webhook never turns an admissible pod into a rejected one
(inject.pod_security_skip, which also knows what isolated-IPC injections may add).

A cluster-wide default level set in the API server's AdmissionConfiguration is not
visible through the API; only the namespace label is read (docs/webhook.md says so).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from lmcache_k8s.names import POD_SECURITY_ENFORCE_LABEL

FetchNamespace = Callable[[str], Awaitable[dict[str, Any] | None]]


class NamespaceLevels:
    """`enforce_level(namespace)`: the label's value or None, cached for `ttl` seconds.

    Relabelling a namespace takes effect within one TTL. KubeApiError from `fetch`
    propagates (the admission then lets the pod through unchanged).
    """

    def __init__(
        self,
        fetch: FetchNamespace,
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[str | None, float]] = {}

    async def enforce_level(self, namespace: str) -> str | None:
        now = self._clock()
        cached = self._entries.get(namespace)
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        body = await self._fetch(namespace)
        metadata = body.get("metadata") if isinstance(body, dict) else None
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        level = labels.get(POD_SECURITY_ENFORCE_LABEL) if isinstance(labels, dict) else None
        level = level if isinstance(level, str) else None
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # namespaces are few; this only bounds odd input
        self._entries[namespace] = (level, now)
        return level
