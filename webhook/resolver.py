"""Finding a pod's engine, with a cache that keeps the API off the admission path.

Resolution order for a bare `<name>`: the pod's namespace, then the namespace the
engines were installed in. `<namespace>/<name>` names one place only.

Cache rules (all per `(namespace, name)`):
- A known engine younger than the TTL is served from memory: no API call.
- An engine older than the TTL is still served, and a background task refreshes it, so
  a steady stream of pods never waits for the API. Past `STALE_LIMIT` TTLs the copy is
  considered too old and the request fetches it itself.
- A "not found" answer is remembered for one TTL, but only used to skip past an earlier
  candidate (the usual 403 in the pod's namespace). Before a pod is skipped with
  `engine-not-found`, every candidate is asked again, so an engine created a moment ago
  is found.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lmcache_k8s.names import CONNECTION_SUFFIX
from webhook.connection import EngineConfig, EngineConfigError, parse_connection_data
from webhook.kube import KubeApiError
from webhook.metrics import Metrics

log = logging.getLogger(__name__)

Fetch = Callable[[str, str], Awaitable[dict[str, Any] | None]]
Key = tuple[str, str]

STALE_LIMIT = 10  # TTLs after which a cached engine is no longer served without a fetch
REFRESH_BACKOFF = 1.0  # seconds between background refresh attempts of one engine
MAX_ENTRIES = 4096

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class EngineRef:
    namespace: str | None
    name: str


def parse_engine_ref(value: str) -> EngineRef | None:
    """`name` or `namespace/name`; None when it cannot name a ConfigMap.

    Validating here keeps odd annotation values (`../x`, spaces) out of API URLs.
    """
    namespace, slash, name = value.strip().rpartition("/")
    if slash and not namespace:
        return None
    if namespace and (len(namespace) > 63 or not _NAMESPACE.match(namespace)):
        return None
    if len(name + CONNECTION_SUFFIX) > 253 or not _NAME.match(name):
        return None
    return EngineRef(namespace=namespace or None, name=name)


@dataclass
class _Entry:
    config: EngineConfig | None  # None: not found
    fetched: float
    refresh_attempt: float = 0.0


class EngineResolver:
    def __init__(
        self,
        fetch: Fetch,
        *,
        engine_namespace: str,
        ttl: float = 30.0,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_configmap = fetch
        self.engine_namespace = engine_namespace
        self.ttl = ttl
        self._metrics = metrics
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._inflight: dict[Key, asyncio.Future[EngineConfig | None]] = {}
        self._background: set[asyncio.Task[None]] = set()

    def candidates(self, ref: EngineRef, pod_namespace: str) -> list[Key]:
        if ref.namespace:
            return [(ref.namespace, ref.name)]
        keys: list[Key] = []
        for namespace in (pod_namespace, self.engine_namespace):
            if namespace and (namespace, ref.name) not in keys:
                keys.append((namespace, ref.name))
        return keys

    async def resolve(self, ref: EngineRef, pod_namespace: str) -> EngineConfig | None:
        """The engine the pod means, or None. Raises KubeApiError / EngineConfigError."""
        keys = self.candidates(ref, pod_namespace)
        cached = self._from_cache(keys)
        if cached is not None:
            self._count_cache("hit" if cached[1] else "stale")
            return cached[0]
        self._count_cache("miss")
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and entry.config is not None and self._servable(entry):
                return entry.config
            config = await self._fetch_shared(key)
            if config is not None:
                return config
        return None

    def _servable(self, entry: _Entry) -> bool:
        return self._clock() - entry.fetched < self.ttl * STALE_LIMIT

    def _from_cache(self, keys: list[Key]) -> tuple[EngineConfig, bool] | None:
        """(engine, fresh) when memory alone decides; None when the API must be asked."""
        now = self._clock()
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                return None
            age = now - entry.fetched
            if entry.config is None:
                if age < self.ttl:
                    continue  # known absent: look at the next candidate
                return None
            if age < self.ttl:
                return entry.config, True
            if age < self.ttl * STALE_LIMIT:
                self._refresh_in_background(key, entry)
                return entry.config, False
            return None
        return None

    def _refresh_in_background(self, key: Key, entry: _Entry) -> None:
        now = self._clock()
        if key in self._inflight or now - entry.refresh_attempt < REFRESH_BACKOFF:
            return
        entry.refresh_attempt = now

        async def refresh() -> None:
            try:
                await self._fetch_shared(key)
            except KubeApiError as exc:
                log.warning("refreshing engine %s/%s failed, keeping cached copy: %s", *key, exc)
            except EngineConfigError as exc:
                log.warning("engine %s/%s is no longer usable: %s", *key, exc)

        task = asyncio.get_running_loop().create_task(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fetch_shared(self, key: Key) -> EngineConfig | None:
        """Fetch one ConfigMap; concurrent callers for the same key share one request."""
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(key))
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._fetch_done(key, done))
        # shield: a caller that gives up (client went away) must not cancel the fetch
        # others are waiting for.
        return await asyncio.shield(future)

    def _fetch_done(self, key: Key, future: asyncio.Future[EngineConfig | None]) -> None:
        self._inflight.pop(key, None)
        if not future.cancelled():
            future.exception()  # retrieved here so an abandoned failure is not logged twice

    def _store(self, key: Key, entry: _Entry) -> None:
        if key not in self._entries and len(self._entries) >= MAX_ENTRIES:
            # Annotations are user input: keep memory bounded by dropping what is too
            # old to serve, then every "not found" answer.
            now = self._clock()
            limit = self.ttl * STALE_LIMIT
            for old_key, old in list(self._entries.items()):
                if old.config is None or now - old.fetched >= limit:
                    del self._entries[old_key]
        self._entries[key] = entry

    async def _fetch(self, key: Key) -> EngineConfig | None:
        namespace, name = key
        try:
            configmap = await self._fetch_configmap(namespace, name + CONNECTION_SUFFIX)
        except KubeApiError:
            self._count_api("error")
            raise
        if configmap is None:
            self._count_api("not_found")
            self._store(key, _Entry(None, self._clock()))
            return None
        self._count_api("found")
        data = configmap.get("data")
        try:
            config = parse_connection_data(namespace, name, data if isinstance(data, dict) else {})
        except EngineConfigError:
            # Not cached: the next pod asks again, so a fixed ConfigMap is picked up.
            self._entries.pop(key, None)
            raise
        self._store(key, _Entry(config, self._clock()))
        return config

    def _count_cache(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.count_cache(result)

    def _count_api(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.count_api(result)

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
