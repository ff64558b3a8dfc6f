"""`--probe`: ask the running servers themselves, through the API server's proxy.

- each engine pod: `GET /status` on its HTTP port
  (`/api/v1/namespaces/NS/pods/POD:PORT/proxy/status`): L1 usage, active sessions, health;
- each coordinator: `GET /instances` on its Service
  (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/instances`): which engines registered.

No network route to pod IPs is needed, only RBAC verb `get` on `pods/proxy` and
`services/proxy` (that verb only proxies GET requests: the engines' POST/DELETE admin
endpoints stay out of reach). Field names are lmcache 0.5.6's: `/status` returns
`active_sessions`, `is_healthy` and `storage_manager.l1_usage` = [used bytes, total bytes];
`/instances` returns `{"instances": [{"instance_id", "ip", "http_port", ...}]}`, where an
engine registers with `ip` = its pod IP (LMCACHE_COORDINATOR_ADVERTISE_IP) and its HTTP port.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from .kube import PODS, SERVICES, ApiStatusError, Kube, KubeError
from .model import Endpoint, ProbeResult, Status

WORKERS = 8  # concurrent proxied requests: enough for hundreds of pods, gentle on the API


def parse_engine_status(body: bytes) -> ProbeResult:
    """A ProbeResult from the JSON an engine's /status returns (lmcache 0.5.6 fields)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ProbeResult(error="/status did not return JSON")
    if not isinstance(data, dict):
        return ProbeResult(error="/status did not return a JSON object")
    result = ProbeResult()
    sessions = data.get("active_sessions")
    result.active_sessions = sessions if isinstance(sessions, int) else None
    healthy = data.get("is_healthy")
    result.healthy = healthy if isinstance(healthy, bool) else None
    storage = data.get("storage_manager") or {}
    usage = storage.get("l1_usage")
    if isinstance(usage, list) and len(usage) == 2 and all(isinstance(v, int) for v in usage):
        result.l1_used_bytes, result.l1_capacity_bytes = usage
    else:  # one L1 manager: the same figures under its own name
        manager = storage.get("l1_manager") or {}
        used, total = manager.get("memory_used_bytes"), manager.get("memory_total_bytes")
        if isinstance(used, int) and isinstance(total, int):
            result.l1_used_bytes, result.l1_capacity_bytes = used, total
    return result


def parse_instances(body: bytes) -> set[tuple[str, int]]:
    """(ip, http_port) of every instance a coordinator's /instances lists."""
    data = json.loads(body)
    out = set()
    for item in (data or {}).get("instances") or []:
        if isinstance(item, dict) and isinstance(item.get("http_port"), int):
            out.add((str(item.get("ip", "")), item["http_port"]))
    return out


def coordinator_service(url: str, default_namespace: str) -> tuple[str, str, int] | None:
    """(namespace, Service name, port) of an in-cluster coordinator URL, else None.

    `http://NAME.NS.svc:PORT`, `http://NAME.NS.svc.cluster.local:PORT`, `http://NAME.NS:PORT`
    and `http://NAME:PORT` (the engine's namespace) name a Service; anything else (an IP,
    an outside host) cannot be reached through the service proxy.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    labels = host.split(".")
    if not host or host.replace(".", "").isdigit():
        return None
    if len(labels) == 1:
        return default_namespace, labels[0], port
    if len(labels) == 2 or labels[2] == "svc":
        return labels[1], labels[0], port
    return None


def _short(exc: KubeError) -> str:
    if isinstance(exc, ApiStatusError):
        if exc.code == 403:
            return f"forbidden (needs get on {exc.kind.plural}): {exc.api_message}"
        return f"{exc.code} {exc.reason}: {exc.api_message}"
    return str(exc)


def _probe_pod(kube: Kube, namespace: str, endpoint: Endpoint) -> ProbeResult:
    if not endpoint.pod_ip or not endpoint.metrics_port:
        return ProbeResult(error="pod not running")
    try:
        body = kube.proxy_get(PODS, namespace, endpoint.pod, endpoint.metrics_port, "/status")
    except KubeError as exc:
        return ProbeResult(error=_short(exc))
    return parse_engine_status(body)


def _probe_coordinator(kube: Kube, target: tuple[str, str, int]) -> set[tuple[str, int]] | str:
    namespace, name, port = target
    try:
        return parse_instances(kube.proxy_get(SERVICES, namespace, name, port, "/instances"))
    except KubeError as exc:
        return _short(exc)
    except (ValueError, AttributeError):
        return "/instances did not return the expected JSON"


def probe(kube: Kube, statuses: list[Status]) -> None:
    """Fill in every engine endpoint's ProbeResult and every coordinator's registrations."""
    engines = [s for s in statuses if s.is_engine]
    targets: dict[tuple[str, str, int], Any] = {}
    for s in statuses:
        if not s.is_engine and s.endpoint:
            found = coordinator_service(s.endpoint, s.namespace)
            if found:
                targets[found] = None
    for s in engines:
        found = coordinator_service(s.coordinator_url, s.namespace) if s.coordinator_url else None
        if found:
            targets[found] = None
    jobs = [(s.namespace, e) for s in engines for e in s.endpoints]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda job: _probe_pod(kube, *job), jobs))
        answers = list(pool.map(lambda t: _probe_coordinator(kube, t), list(targets)))
    for (_, endpoint), result in zip(jobs, results, strict=True):
        endpoint.probe = result
    targets = dict(zip(targets, answers, strict=True))
    for s in statuses:
        if s.is_engine:
            target = (
                coordinator_service(s.coordinator_url, s.namespace) if s.coordinator_url else None
            )
            instances = targets.get(target) if target else None
            if isinstance(instances, str):
                s.notes.append(f"registration unknown: {s.coordinator_url}/instances: {instances}")
            for e in s.endpoints:
                if e.probe is not None and isinstance(instances, set):
                    e.probe.registered = (e.pod_ip, e.metrics_port or 0) in instances
        else:
            target = coordinator_service(s.endpoint, s.namespace) if s.endpoint else None
            answer = targets.get(target) if target else None
            if isinstance(answer, set):
                s.registered_instances = len(answer)
            elif isinstance(answer, str):
                s.coordinator_probe = answer
