"""A workload's side objects: what they say about its values, and the rules between them.

The chart renders, beside every entry N, a metrics Service `N-metrics`, a ServiceMonitor
`N` and, for engines, the ConfigMap `N-connection` that vLLM reads. They are read back into
the entry (`read_side_objects`: the metrics port, the ServiceMonitor interval, the CacheBlend
settings and injection block), and checked against the workload (`check_side_objects`): a
metrics Service aimed at the wrong port, a ConfigMap sending vLLM to a port the engine does
not listen on, a `--coordinator-url` that does not reach the referenced coordinator. Values
alone cannot break these rules; a kustomize patch or a hand-written manifest can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lmcache_k8s.errors import Issue
from lmcache_k8s.names import (
    CONNECTION_SUFFIX,
    CONSUMER_SHM_SIZE_KEY,
    INJECTION_CONFIG_KEY,
    KV_TRANSFER_CONFIG_KEY,
    METRICS_SUFFIX,
)
from postrender.readback import ReadBack
from postrender.workloads import Obj, as_dict, as_list


@dataclass
class SideObjects:
    """The objects of one namespace that may be an entry's side objects, by name."""

    configmaps: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    monitors: dict[str, Obj] = field(default_factory=dict)  # ServiceMonitors

    def add(self, obj: Obj) -> None:
        """Keep `obj` if it is of a side-object kind; the first of a name wins."""
        table = {"ConfigMap": self.configmaps, "Service": self.services}.get(obj.kind)
        if obj.kind == "ServiceMonitor":
            table = self.monitors
        if table is not None:
            table.setdefault(obj.name, obj)

    def seen_with(self, unset: SideObjects) -> SideObjects:
        """These objects plus `unset`, the objects without a namespace: Helm and kubectl put
        those in the release namespace, so they may belong to any. Ours win a name clash."""
        merged = SideObjects()
        for table in ("configmaps", "services", "monitors"):
            getattr(merged, table).update(getattr(unset, table))
            getattr(merged, table).update(getattr(self, table))
        return merged


# -- reading values back ---------------------------------------------------------------------


def read_side_objects(out: ReadBack, side: SideObjects) -> None:
    """Add to `out.entry` what the side objects of its workload show (and remember them)."""
    _read_metrics(out, side)
    if out.workload.is_engine:
        _read_connection(out, side)


def _read_metrics(out: ReadBack, side: SideObjects) -> None:
    name = out.workload.entry
    entry = out.entry
    service = side.services.get(name + METRICS_SUFFIX)
    if service is not None:
        out.metrics = service
        for port in as_list(as_dict(service.body.get("spec")).get("ports")):
            if isinstance(port, dict) and port.get("name") == "metrics":
                entry.setdefault("prometheus", {})["port"] = port.get("port")
                break
    monitor = side.monitors.get(name)
    if monitor is not None:
        sm = entry.setdefault("prometheus", {}).setdefault("serviceMonitor", {})
        sm["enabled"] = True
        endpoints = as_list(as_dict(monitor.body.get("spec")).get("endpoints"))
        if endpoints and isinstance(endpoints[0], dict) and "interval" in endpoints[0]:
            sm["interval"] = endpoints[0]["interval"]


def _read_connection(out: ReadBack, side: SideObjects) -> None:
    """The CacheBlend settings and injection block an engine's N-connection carries."""
    workload = out.workload
    base = workload.base
    blend = workload.values_map == "cacheBlendEngines"
    if blend:
        out.unobservable.add(f"{base}.injection")
    cm = side.configmaps.get(workload.entry + CONNECTION_SUFFIX)
    if cm is None:
        return
    out.connection = cm
    data = as_dict(cm.body.get("data"))
    kv = _json_key(out, data, KV_TRANSFER_CONFIG_KEY, cm)
    if CONSUMER_SHM_SIZE_KEY in data:
        out.entry["consumerShmSizeLimit"] = data[CONSUMER_SHM_SIZE_KEY]
    if blend and isinstance(kv, dict):
        extra = kv.get("kv_connector_extra_config") or {}
        if isinstance(extra, dict):
            if "cb.check_layer" in extra:
                out.entry.setdefault("blend", {})["checkLayer"] = extra["cb.check_layer"]
            if "cb.recomp_ratio" in extra:
                out.entry.setdefault("blend", {})["recompRatio"] = extra["cb.recomp_ratio"]
    if blend and INJECTION_CONFIG_KEY in data:
        injection = _json_key(out, data, INJECTION_CONFIG_KEY, cm)
        if isinstance(injection, dict):
            out.entry["injection"] = injection
            out.unobservable.discard(f"{base}.injection")
        elif injection is not None:
            out.error(
                f"{base}.injection", f"{cm.ref} key {INJECTION_CONFIG_KEY} must be a JSON object"
            )


def _json_key(out: ReadBack, data: dict[str, Any], key: str, cm: Obj) -> Any:
    """The JSON under `key` of a ConfigMap's data; None (and an error) when it is not JSON."""
    text = data.get(key)
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except ValueError as exc:
        out.issues.append(Issue(out.workload.base, f"key {key} is not valid JSON ({exc})", cm.ref))
        return None


# -- rules between a workload and its side objects -----------------------------------------


def check_side_objects(readbacks: list[ReadBack], coordinators: dict[str, Any]) -> list[Issue]:
    """The errors between the workloads of one namespace and their side objects.

    `coordinators` is the namespace's read-back `coordinators` values map. Fields a workload
    does not show take their model defaults (lmcache_k8s.values), as Helm would render them.
    """
    from lmcache_k8s.values import CoordinatorSpec, ServerSpec  # pydantic: lazy

    server_defaults = ServerSpec()
    coordinator_port = CoordinatorSpec.model_fields["port"].default
    issues: list[Issue] = []
    for rb in readbacks:
        if not rb.workload.is_engine:
            _check_metrics(rb, rb.entry.get("port", coordinator_port), issues)
            continue
        server = rb.entry.get("server", {})
        _check_metrics(rb, server.get("httpPort", server_defaults.httpPort), issues)
        _check_connection_port(rb, server.get("port", server_defaults.port), issues)
        _check_connection_mirrors(rb, issues)
        _check_coordinator_url(rb, coordinators, coordinator_port, issues)
    return issues


def _check_metrics(rb: ReadBack, http_port: Any, issues: list[Issue]) -> None:
    """N-metrics must exist only with metrics on, and send scrapes to the http port."""
    if rb.metrics is None:
        return
    base, where, service = rb.workload.base, rb.workload.obj.ref, rb.metrics
    if rb.entry.get("prometheus", {}).get("enabled", True) is False:
        issues.append(
            Issue(
                f"{base}.prometheus.enabled",
                f"metrics are disabled (--disable-metrics), but {service.ref} is rendered:"
                " Prometheus would scrape a port that serves no /metrics",
                where,
            )
        )
        return
    for port in as_list(as_dict(service.body.get("spec")).get("ports")):
        if not isinstance(port, dict) or port.get("name") != "metrics":
            continue
        target = port.get("targetPort", port.get("port"))
        if target not in ("http", http_port):
            issues.append(
                Issue(
                    f"{base}.prometheus.port",
                    f"{service.ref} sends scrapes to targetPort {target}, but /metrics is served"
                    f" on the http port ({http_port})",
                    where,
                )
            )


def _check_connection_port(rb: ReadBack, port: Any, issues: list[Issue]) -> None:
    """N-connection must send vLLM to the port the engine listens on (lmcache.mp.port)."""
    if rb.connection is None:
        return
    extra = _kv_transfer_config(rb.connection).get("kv_connector_extra_config")
    mp_port = extra.get("lmcache.mp.port") if isinstance(extra, dict) else None
    if mp_port is not None and str(mp_port) != str(port):
        issues.append(
            Issue(
                f"{rb.workload.base}.server.port",
                f"{rb.connection.ref} sends vLLM to port {mp_port}, but the engine listens"
                f" on --port {port}",
                rb.workload.obj.ref,
            )
        )


def _check_connection_mirrors(rb: ReadBack, issues: list[Issue]) -> None:
    """N-connection must tell vLLM every server setting the connector says must match
    (lmcache_cli.MIRRORED_EXTRA_CONFIG): an absent key means the connector's default, which
    is how an adopted entry's ConfigMap omits a default (docs/migrate.md)."""
    from lmcache_k8s.lmcache_cli import (
        MIRRORED_EXTRA_CONFIG,
        mirrored_values,
        resolved_mirrored,
    )
    from lmcache_k8s.values import ServerSpec  # pydantic: lazy

    if rb.connection is None:
        return
    extra = _kv_transfer_config(rb.connection).get("kv_connector_extra_config")
    if not isinstance(extra, dict):
        return
    entry = dict(rb.entry)
    server = {"hashAlgorithm": ServerSpec().hashAlgorithm, **entry.get("server", {})}
    wanted = mirrored_values({**entry, "server": server})
    got = resolved_mirrored(extra)
    for key, value in wanted.items():
        if got[key] != value:
            flag = MIRRORED_EXTRA_CONFIG[key].flag
            shown = "absent, so the connector's default" if key not in extra else "says"
            # JSON words for the ConfigMap (true, "blake3"); a boolean flag is there or not
            if isinstance(value, bool):
                server = f"{'with' if value else 'without'} {flag}"
            else:
                server = f"with {flag} {value}"
            issues.append(
                Issue(
                    f"{rb.workload.base}.{'.'.join(MIRRORED_EXTRA_CONFIG[key].field)}",
                    f"{rb.connection.ref}: {key} {shown} {json.dumps(got[key])}, but the server"
                    f" runs {server}; vLLM's connector must match it",
                    rb.workload.obj.ref,
                )
            )


def _kv_transfer_config(cm: Obj) -> dict[str, Any]:
    try:
        kv = json.loads(str(as_dict(cm.body.get("data")).get(KV_TRANSFER_CONFIG_KEY, "{}")))
    except ValueError:
        return {}  # reported while reading it back
    return kv if isinstance(kv, dict) else {}


def _check_coordinator_url(
    rb: ReadBack, coordinators: dict[str, Any], default_port: int, issues: list[Issue]
) -> None:
    """The URL the chart resolved from `coordinator.ref` must reach that coordinator's
    Service: http://<name>.<namespace>.svc:<its port>."""
    target = (rb.entry.get("coordinator") or {}).get("ref", {}).get("name")
    if not rb.coordinator_url or target not in coordinators:
        return
    expected_port = coordinators[target].get("port", default_port)
    try:
        parts = urlsplit(rb.coordinator_url)
        host, url_port = parts.hostname or "", parts.port
    except ValueError:
        host, url_port = "", None
    if host.split(".")[0] != target or url_port != expected_port:
        issues.append(
            Issue(
                f"{rb.workload.base}.coordinator.ref.name",
                f"--coordinator-url {rb.coordinator_url} does not reach coordinator"
                f" {target} (expected http://{target}.<namespace>.svc:{expected_port})",
                rb.workload.obj.ref,
            )
        )
