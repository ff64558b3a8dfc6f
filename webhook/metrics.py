"""Prometheus metrics, one registry per app so tests and benchmarks never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from webhook.constants import SKIP_REASONS
from webhook.modes import MODES

# Outcomes of one POST /mutate.
OUTCOMES = ("injected", "skipped", "ignored", "failed_open", "rejected")
# Error kinds: the API failed, an engine ConfigMap is unusable, a request was malformed,
# or the webhook itself raised.
ERROR_KINDS = ("kube_api", "engine_config", "bad_request", "internal")
CACHE_RESULTS = ("hit", "stale", "miss")
API_RESULTS = ("found", "not_found", "error")
# Sub-millisecond buckets matter: the handler's own work is well under 1 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "lmcache_webhook_admission_requests",
            "Admission requests received, by injection mode (the path) and outcome.",
            ["mode", "outcome"],
            registry=r,
        )
        self.injections = Counter(
            "lmcache_webhook_injections",
            "Pods injected, by mode: cacheblend (plugin and connection) or lmcache (connection).",
            ["mode"],
            registry=r,
        )
        self.skips = Counter(
            "lmcache_webhook_skips",
            "Pods that asked for injection and were admitted without it, by mode and reason.",
            ["mode", "reason"],
            registry=r,
        )
        self.errors = Counter(
            "lmcache_webhook_errors",
            "Errors, by kind. Pods are admitted unchanged.",
            ["kind"],
            registry=r,
        )
        self.latency = Histogram(
            "lmcache_webhook_admission_duration_seconds",
            "Time spent answering POST /mutate.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache = Counter(
            "lmcache_webhook_engine_cache_lookups",
            "Engine lookups: hit (fresh), stale (served, refreshed in background), miss (API).",
            ["result"],
            registry=r,
        )
        self.api_requests = Counter(
            "lmcache_webhook_kube_api_requests",
            "ConfigMap reads sent to the Kubernetes API: found, not_found (403/404) or error.",
            ["result"],
            registry=r,
        )
        # Every known label value is exported from the start, so dashboards and alerts
        # see zeros instead of absent series; the children are kept because looking
        # them up again on every request costs a lock and a dict per call.
        self._outcomes = {
            (mode, outcome): self.requests.labels(mode, outcome)
            for mode in MODES
            for outcome in OUTCOMES
        }
        self._injections = {mode: self.injections.labels(mode) for mode in MODES}
        self._skips = {
            (mode, reason): self.skips.labels(mode, reason)
            for mode in MODES
            for reason in SKIP_REASONS
            if mode == "cacheblend" or reason != "payload-image-unset"
        }
        self._errors = {kind: self.errors.labels(kind) for kind in ERROR_KINDS}
        self._cache = {result: self.cache.labels(result) for result in CACHE_RESULTS}
        self._api = {result: self.api_requests.labels(result) for result in API_RESULTS}

    def count_outcome(self, outcome: str, mode: str) -> None:
        self._outcomes[(mode, outcome)].inc()

    def count_injection(self, mode: str) -> None:
        self._injections[mode].inc()

    def count_skip(self, reason: str, mode: str) -> None:
        self._skips[(mode, reason)].inc()

    def count_error(self, kind: str) -> None:
        self._errors[kind].inc()

    def count_cache(self, result: str) -> None:
        self._cache[result].inc()

    def count_api(self, result: str) -> None:
        self._api[result].inc()
