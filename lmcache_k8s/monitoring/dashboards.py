"""The Grafana dashboards of the chart, built with Grafana's own foundation SDK.

    python -m lmcache_k8s.monitoring.dashboards --write   # regenerate charts/lmcache/dashboards/
    python -m lmcache_k8s.monitoring.dashboards --check   # exit 1 when the committed JSON is stale

The JSON is committed so a change to a panel is a reviewable diff, and the chart embeds it
as ConfigMaps (templates/monitoring/dashboards.yaml). The SDK (grafana-foundation-sdk) is a
development dependency only; nothing imports this module at run time.

Every series name used here must be in inventory.json (tests/monitoring checks it), and
every expression must parse (promtool). Panels select series by the labels the Prometheus
Operator gives ServiceMonitor targets: `namespace`, `job` (<name>-metrics for an entry,
the Service name for the webhook) and `pod`. Grafana variables: $namespace, $engine or
$coordinator (the entry name, taken from job), $pod, and the webhook's $job.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "charts" / "lmcache" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Grafana's 24-column grid.
GRID_WIDTH = 24


@dataclass
class Query:
    expr: str
    legend: str = "__auto"
    instant: bool = False


@dataclass
class Panel:
    """One panel: a title, what it shows, its queries and its size on the grid."""

    title: str
    description: str
    queries: list[Query]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    thresholds: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Row:
    title: str
    panels: list[Panel]


@dataclass
class DashboardSpec:
    uid: str
    title: str
    description: str
    variables: list[Any]
    rows: list[Row]


def q(expr: str, legend: str = "__auto", instant: bool = False) -> Query:
    return Query(" ".join(expr.split()), legend, instant)


# ---- selectors -----------------------------------------------------------------------------

ENGINE = 'namespace=~"$namespace", job=~"$engine-metrics", pod=~"$pod"'
COORDINATOR = 'namespace=~"$namespace", job=~"$coordinator-metrics"'
WEBHOOK = 'namespace=~"$namespace", job=~"$job"'


def rate(metric: str, selector: str) -> str:
    return f"rate({metric}{{{selector}}}[$__rate_interval])"


# ---- the engine dashboard ------------------------------------------------------------------


def engine_dashboard() -> DashboardSpec:
    e = ENGINE
    overview = Row(
        "Overview",
        [
            Panel(
                "Engine pods scraped",
                "Engine pods whose /metrics Prometheus reached in its last scrape.",
                [q(f"sum(up{{{e}}})")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "L1 in use",
                "Bytes held in L1 (CPU memory) across the selected pods.",
                [q(f"sum(lmcache_mp_l1_memory_usage_bytes{{{e}}})")],
                unit="bytes",
                kind="stat",
                width=5,
                height=4,
            ),
            Panel(
                "Token hit ratio",
                "Tokens found in L1+L2 over tokens looked up.",
                [
                    q(
                        f"sum({rate('lmcache_mp_lookup_hit_tokens_total', e)})"
                        f" / sum({rate('lmcache_mp_lookup_requested_tokens_total', e)})"
                    )
                ],
                unit="percentunit",
                kind="stat",
                width=5,
                height=4,
                min=0,
                max=1,
            ),
            Panel(
                "Evicted chunks/s",
                "Chunks LRU eviction removed from L1 per second.",
                [q(f"sum({rate('lmcache_mp_l1_evicted_chunks_total', e)})")],
                unit="cps",
                kind="stat",
                width=5,
                height=4,
            ),
            Panel(
                "Event bus drops",
                "Observability events dropped because the event bus queue was full, in the"
                " dashboard's time range. Metrics undercount while this is above 0.",
                [q(f"sum(increase(lmcache_mp_event_bus_dropped_events_total{{{e}}}[$__range]))")],
                kind="stat",
                width=5,
                height=4,
                thresholds=[(0, "green"), (1, "red")],
            ),
        ],
    )
    l1 = Row(
        "L1 cache",
        [
            Panel(
                "L1 usage ratio",
                "Share of L1 in use per pod. Eviction starts at the engine's"
                " eviction.triggerWatermark (0.8 by default); the LMCacheL1NearFull alert"
                " fires when usage stays above its threshold (0.95 by default).",
                [q(f"max by (pod) (lmcache_mp_l1_usage_ratio{{{e}}})", "{{pod}}")],
                unit="percentunit",
                min=0,
                max=1,
                thresholds=[(0, "green"), (0.8, "orange"), (0.95, "red")],
            ),
            Panel(
                "L1 bytes",
                "Bytes held in L1, and bytes reserved for writes not yet admitted (staging).",
                [
                    q(f"sum by (pod) (lmcache_mp_l1_memory_usage_bytes{{{e}}})", "{{pod}} used"),
                    q(f"sum by (pod) (lmcache_mp_l1_staging_bytes{{{e}}})", "{{pod}} staging"),
                ],
                unit="bytes",
            ),
            Panel(
                "Eviction",
                "Chunks evicted from L1 per second, and how often the eviction loop ran its"
                " policy (it runs when usage passes the trigger watermark).",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_evicted_chunks_total', e)})",
                        "{{pod}} evicted chunks/s",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_eviction_loop_triggered_total', e)})",
                        "{{pod}} eviction runs/s",
                    ),
                ],
                unit="short",
            ),
            Panel(
                "L1 allocation and read failures",
                "Chunks L1 could not allocate (out of memory) or read back after a lookup.",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_allocation_failure_chunks_total', e)})",
                        "{{pod}} allocation failures",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_read_failure_chunks_total', e)})",
                        "{{pod}} read failures",
                    ),
                ],
                unit="cps",
            ),
        ],
    )
    lookups = Row(
        "Lookups",
        [
            Panel(
                "Token hit ratio",
                "Per pod: tokens found in L1+L2 over tokens looked up (chunk-aligned tokens).",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_lookup_hit_tokens_total', e)})"
                        f" / sum by (pod) ({rate('lmcache_mp_lookup_requested_tokens_total', e)})",
                        "{{pod}}",
                    )
                ],
                unit="percentunit",
                min=0,
                max=1,
            ),
            Panel(
                "Lookups and hits",
                "Lookups per second, and tokens per second looked up and found, by tier.",
                [
                    q(f"sum({rate('lmcache_mp_lookups_requests_total', e)})", "lookups/s"),
                    q(
                        f"sum({rate('lmcache_mp_lookup_requested_tokens_total', e)})",
                        "tokens looked up/s",
                    ),
                    q(
                        f"sum({rate('lmcache_mp_lookup_hit_l1_tokens_total', e)})",
                        "L1 hit tokens/s",
                    ),
                    q(
                        f"sum({rate('lmcache_mp_lookup_hit_l2_tokens_total', e)})",
                        "L2 hit tokens/s",
                    ),
                ],
                unit="short",
            ),
        ],
    )
    transfers = Row(
        "Stores, retrieves and transfers",
        [
            Panel(
                "Chunks stored and retrieved",
                "Chunks written to L1 (stores) and read from L1 (retrieves) per second.",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_write_chunks_total', e)})",
                        "{{pod}} stored",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_l1_read_chunks_total', e)})",
                        "{{pod}} retrieved",
                    ),
                ],
                unit="cps",
            ),
            Panel(
                "GPU transfers",
                "GPU<->CPU store and retrieve transfers finished per second (CUDA IPC path).",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_num_finished_stores_total', e)})",
                        "{{pod}} stores",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_num_finished_retrieves_total', e)})",
                        "{{pod}} retrieves",
                    ),
                ],
                unit="ops",
            ),
            Panel(
                "Transfer throughput",
                "Bytes per second moved by the GPU transfer phases (CUDA IPC path), and the"
                " median L0<->L1 and L1<->L2 throughput of single transfers.",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_transfer_phase_bytes_total', e)})",
                        "{{pod}} GPU transfer bytes/s",
                    ),
                    q(
                        "histogram_quantile(0.5, sum by (le) ("
                        f"{rate('lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket', e)}))"
                        " * 1e9",
                        "L0->L1 store (median)",
                    ),
                    q(
                        "histogram_quantile(0.5, sum by (le) ("
                        f"{rate('lmcache_mp_l2_store_throughput_GB_per_second_bucket', e)}))"
                        " * 1e9",
                        "L1->L2 store (median)",
                    ),
                    q(
                        "histogram_quantile(0.5, sum by (le) ("
                        f"{rate('lmcache_mp_l2_load_throughput_GB_per_second_bucket', e)}))"
                        " * 1e9",
                        "L2->L1 load (median)",
                    ),
                ],
                unit="Bps",
                width=24,
            ),
        ],
    )
    l2 = Row(
        "L2 backends",
        [
            Panel(
                "L2 adapters",
                "L2 adapters per state: draining adapters are being removed by a reconfigure.",
                [
                    q(
                        f"sum by (state) (lmcache_mp_l2_store_adapters{{{e}}})",
                        "store adapters {{state}}",
                    ),
                    q(
                        f"sum by (state) (lmcache_mp_l2_prefetch_adapters{{{e}}})",
                        "prefetch adapters {{state}}",
                    ),
                ],
                unit="short",
                width=8,
            ),
            Panel(
                "L2 bytes",
                "Bytes held in each L2 adapter.",
                [
                    q(
                        f"sum by (pod, l2_name) (lmcache_mp_l2_usage_bytes{{{e}}})",
                        "{{pod}} {{l2_name}}",
                    )
                ],
                unit="bytes",
                width=8,
            ),
            Panel(
                "L2 chunks",
                "Chunks stored to and loaded from L2 per second, and keys L2 was expected to"
                " have but could not load (prefetch failures).",
                [
                    q(
                        f"sum({rate('lmcache_mp_l2_store_completed_objects_chunks_total', e)})",
                        "stored",
                    ),
                    q(
                        f"sum({rate('lmcache_mp_l2_prefetch_load_completed_chunks_total', e)})",
                        "loaded",
                    ),
                    q(
                        f"sum({rate('lmcache_mp_l2_prefetch_failure_chunks_total', e)})",
                        "prefetch failures",
                    ),
                ],
                unit="cps",
                width=8,
            ),
        ],
    )
    bus = Row(
        "Event bus",
        [
            Panel(
                "Event bus queue",
                "Events waiting in each pod's observability event bus, and how old the oldest"
                " is. A growing lag means the metrics fall behind.",
                [
                    q(f"max by (pod) (lmcache_mp_event_bus_queue_depth{{{e}}})", "{{pod}} depth"),
                ],
                unit="short",
            ),
            Panel(
                "Event bus drain lag and drops",
                "Seconds since the oldest queued event was published, and events dropped per"
                " second because the queue was full.",
                [
                    q(
                        f"max by (pod) (lmcache_mp_event_bus_drain_lag_seconds{{{e}}})",
                        "{{pod}} lag (s)",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_mp_event_bus_dropped_events_total', e)})",
                        "{{pod}} drops/s",
                    ),
                ],
                unit="short",
            ),
        ],
    )
    blend = Row(
        "CacheBlend",
        [
            Panel(
                "Blend lookups and hit ratio",
                "CacheBlend lookups per second, and tokens blend served over tokens asked for.",
                [
                    q(
                        f"sum by (pod) ({rate('lmcache_blend_lookup_requests_total', e)})",
                        "{{pod}} lookups/s",
                    ),
                    q(
                        f"sum by (pod) ({rate('lmcache_blend_lookup_hit_tokens_total', e)})"
                        f" / sum by (pod) ({rate('lmcache_blend_lookup_requested_tokens_total', e)})",
                        "{{pod}} hit ratio",
                    ),
                ],
                unit="short",
                width=8,
            ),
            Panel(
                "Blend hit tokens by source",
                "Tokens served from the prefix (L1+L2) and from shifted non-prefix chunks.",
                [
                    q(f"sum({rate('lmcache_blend_lookup_prefix_hit_tokens_total', e)})", "prefix"),
                    q(
                        f"sum({rate('lmcache_blend_lookup_non_prefix_hit_tokens_total', e)})",
                        "non-prefix",
                    ),
                ],
                unit="short",
                width=8,
            ),
            Panel(
                "Blend lookup latency",
                "95th percentile of a CacheBlend lookup and of its coordinator match, in ms;"
                " coordinator match timeouts per second.",
                [
                    q(
                        "histogram_quantile(0.95, sum by (le) ("
                        f"{rate('lmcache_blend_lookup_duration_milliseconds_bucket', e)}))",
                        "lookup p95 (ms)",
                    ),
                    q(
                        "histogram_quantile(0.95, sum by (le) ("
                        f"{rate('lmcache_blend_coordinator_match_duration_milliseconds_bucket', e)}))",
                        "coordinator match p95 (ms)",
                    ),
                    q(
                        f"sum({rate('lmcache_blend_coordinator_match_timeouts_total', e)})",
                        "coordinator match timeouts/s",
                    ),
                ],
                unit="short",
                width=8,
            ),
        ],
    )
    readiness = Row(
        "Readiness (kube-state-metrics)",
        [
            Panel(
                "Nodes with a ready engine",
                "Per engine DaemonSet: nodes it should run on, and nodes where its pod is ready."
                " On a node without a ready engine, vLLM's connections are dropped"
                " (internalTrafficPolicy Local).",
                [
                    q(
                        "sum by (daemonset) (kube_daemonset_status_desired_number_scheduled"
                        '{namespace=~"$namespace", daemonset=~"$engine"})',
                        "{{daemonset}} scheduled",
                    ),
                    q(
                        "sum by (daemonset) (kube_daemonset_status_number_ready"
                        '{namespace=~"$namespace", daemonset=~"$engine"})',
                        "{{daemonset}} ready",
                    ),
                ],
                unit="short",
            ),
            Panel(
                "Engine pods not ready, by node",
                "Engine pods whose Ready condition is false, with the node they run on.",
                [
                    q(
                        "sum by (node, pod) (kube_pod_info"
                        '{namespace=~"$namespace", created_by_kind="DaemonSet",'
                        ' created_by_name=~"$engine"} * on (namespace, pod) group_left ()'
                        ' kube_pod_status_ready{namespace=~"$namespace", condition="false"})',
                        "{{node}} {{pod}}",
                    )
                ],
                unit="short",
            ),
        ],
    )
    return DashboardSpec(
        uid="lmcache-engines",
        title="LMCache / Engines",
        description="LMCache servers and CacheBlend engines: L1, lookups, transfers, L2,"
        " event bus and readiness, per pod.",
        variables=[
            datasource_variable(),
            query_variable("namespace", "label_values(lmcache_mp_l1_usage_ratio, namespace)"),
            query_variable(
                "engine",
                'label_values(lmcache_mp_l1_usage_ratio{namespace=~"$namespace"}, job)',
                regex="/(.*)-metrics/",
                multi=True,
            ),
            query_variable(
                "pod",
                'label_values(lmcache_mp_l1_usage_ratio{namespace=~"$namespace",'
                ' job=~"$engine-metrics"}, pod)',
                multi=True,
            ),
        ],
        rows=[overview, l1, lookups, transfers, l2, bus, blend, readiness],
    )


# ---- the coordinator dashboard -------------------------------------------------------------


def coordinator_dashboard() -> DashboardSpec:
    c = COORDINATOR
    health = Row(
        "Health",
        [
            Panel(
                "Replicas scraped",
                "Coordinator pods whose /metrics Prometheus reached in its last scrape.",
                [q(f"sum(up{{{c}}})")],
                kind="stat",
                width=6,
                height=4,
            ),
            Panel(
                "Replicas available",
                "Available replicas of the coordinator Deployment (kube-state-metrics).",
                [
                    q(
                        "sum(kube_deployment_status_replicas_available"
                        '{namespace=~"$namespace", deployment=~"$coordinator"})'
                    )
                ],
                kind="stat",
                width=6,
                height=4,
            ),
            Panel(
                "Restarts in range",
                "Process restarts in the dashboard's time range. The registry and the key"
                " directory are in memory: each restart empties them.",
                [q(f"sum(changes(process_start_time_seconds{{{c}}}[$__range]))")],
                kind="stat",
                width=6,
                height=4,
                thresholds=[(0, "green"), (1, "orange")],
            ),
            Panel(
                "Engine pods scraped in the namespace",
                "lmcache 0.5.6 exports no count of registered instances, so this counts the"
                " engine pods Prometheus reaches in the same namespaces: the engines that"
                " can register. The LMCacheEnginesWithoutCoordinator alert compares the"
                " engines that use each coordinator with its health.",
                [q('count(lmcache_mp_l1_usage_ratio{namespace=~"$namespace"})')],
                kind="stat",
                width=6,
                height=4,
            ),
        ],
    )
    directory = Row(
        "Key directory",
        [
            Panel(
                "Placements by tier",
                "Places keys are recorded in the key directory: L1 on one engine, or one L2"
                " backend. Fed by engines with coordinator.l2EventReporting.",
                [
                    q(
                        f"sum by (tier) (lmcache_coordinator_key_directory_placements{{{c}}})",
                        "{{tier}}",
                    )
                ],
                unit="short",
            ),
            Panel(
                "Placement bytes by tier",
                "Logical bytes of those placements, as the engines reported them.",
                [
                    q(
                        f"sum by (tier) (lmcache_coordinator_key_directory_placement_bytes{{{c}}})",
                        "{{tier}}",
                    )
                ],
                unit="bytes",
            ),
        ],
    )
    process = Row(
        "Process",
        [
            Panel(
                "CPU",
                "CPU seconds per second used by each coordinator pod.",
                [q(f"sum by (pod) ({rate('process_cpu_seconds_total', c)})", "{{pod}}")],
                unit="percentunit",
                width=8,
            ),
            Panel(
                "Memory",
                "Resident memory of each coordinator pod.",
                [q(f"sum by (pod) (process_resident_memory_bytes{{{c}}})", "{{pod}}")],
                unit="bytes",
                width=8,
            ),
            Panel(
                "Event bus",
                "Events queued in the coordinator's event bus, and the age of the oldest (s).",
                [
                    q(f"max by (pod) (lmcache_mp_event_bus_queue_depth{{{c}}})", "{{pod}} depth"),
                    q(
                        f"max by (pod) (lmcache_mp_event_bus_drain_lag_seconds{{{c}}})",
                        "{{pod}} lag (s)",
                    ),
                ],
                unit="short",
                width=8,
            ),
        ],
    )
    return DashboardSpec(
        uid="lmcache-coordinators",
        title="LMCache / Coordinators",
        description="LMCache fleet coordinators: health, key directory, process.",
        variables=[
            datasource_variable(),
            query_variable(
                "namespace", "label_values(lmcache_coordinator_key_directory_placements, namespace)"
            ),
            query_variable(
                "coordinator",
                'label_values(lmcache_coordinator_key_directory_placements{namespace=~"$namespace"}, job)',
                regex="/(.*)-metrics/",
                multi=True,
            ),
        ],
        rows=[health, directory, process],
    )


# ---- the webhook dashboard -----------------------------------------------------------------


def webhook_dashboard() -> DashboardSpec:
    w = WEBHOOK
    overview = Row(
        "Overview",
        [
            Panel(
                "Replicas scraped",
                "Webhook pods whose /metrics Prometheus reached in its last scrape.",
                [q(f"sum(up{{{w}}})")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Replicas available",
                "Available replicas of the webhook Deployment (kube-state-metrics); with"
                " failurePolicy Ignore, none means pods start without injection.",
                [
                    q(
                        "sum(kube_deployment_status_replicas_available"
                        '{namespace=~"$namespace", deployment=~"$job"})'
                    )
                ],
                kind="stat",
                width=4,
                height=4,
                thresholds=[(0, "red"), (1, "green")],
            ),
            Panel(
                "Admission requests/s",
                "POST /mutate requests answered per second.",
                [q(f"sum({rate('lmcache_webhook_admission_requests_total', w)})")],
                unit="reqps",
                kind="stat",
                width=5,
                height=4,
            ),
            Panel(
                "Injected share of opted-in pods",
                "Pods injected over pods that asked for injection (injected + skipped).",
                [
                    q(
                        f"sum({rate('lmcache_webhook_injections_total', w)}) / (sum("
                        f"{rate('lmcache_webhook_injections_total', w)}) + sum("
                        f"{rate('lmcache_webhook_skips_total', w)}))"
                    )
                ],
                unit="percentunit",
                kind="stat",
                width=6,
                height=4,
                min=0,
                max=1,
                thresholds=[(0, "red"), (0.9, "green")],
            ),
            Panel(
                "Errors/s",
                "Errors per second; the pods concerned were admitted unchanged.",
                [q(f"sum({rate('lmcache_webhook_errors_total', w)})")],
                unit="short",
                kind="stat",
                width=5,
                height=4,
                thresholds=[(0, "green"), (0.001, "red")],
            ),
        ],
    )
    traffic = Row(
        "Requests, injections and skips",
        [
            Panel(
                "Requests by outcome",
                "injected, skipped (opted in, admitted without injection), ignored (not"
                " opted in), failed_open (an error; admitted unchanged), rejected (malformed).",
                [
                    q(
                        f"sum by (outcome) ({rate('lmcache_webhook_admission_requests_total', w)})",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
            ),
            Panel(
                "Injections and skips",
                "Injections by mode, and skips by mode and reason (mode is empty on webhooks"
                " that serve only CacheBlend).",
                [
                    q(
                        f"sum by (mode) ({rate('lmcache_webhook_injections_total', w)})",
                        "injected {{mode}}",
                    ),
                    q(
                        f"sum by (mode, reason) ({rate('lmcache_webhook_skips_total', w)})",
                        "skipped {{mode}} {{reason}}",
                    ),
                ],
                unit="reqps",
            ),
            Panel(
                "Errors by kind",
                "kube_api (the API failed), engine_config (an engine ConfigMap is unusable),"
                " bad_request (malformed review), internal (the webhook raised).",
                [q(f"sum by (kind) ({rate('lmcache_webhook_errors_total', w)})", "{{kind}}")],
                unit="short",
            ),
            Panel(
                "Latency",
                "Quantiles of the time spent answering POST /mutate.",
                [
                    q(
                        "histogram_quantile("
                        + quantile
                        + ", sum by (le) ("
                        + rate("lmcache_webhook_admission_duration_seconds_bucket", w)
                        + "))",
                        f"p{int(float(quantile) * 100)}",
                    )
                    for quantile in ("0.5", "0.9", "0.99")
                ],
                unit="s",
            ),
        ],
    )
    lookups = Row(
        "Engine lookups",
        [
            Panel(
                "Engine cache",
                "Engine ConfigMap lookups served from memory (hit), served stale while"
                " refreshed (stale), or sent to the API (miss).",
                [
                    q(
                        f"sum by (result) ({rate('lmcache_webhook_engine_cache_lookups_total', w)})",
                        "{{result}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Kubernetes API reads",
                "ConfigMap reads sent to the API: found, not_found (403/404) or error.",
                [
                    q(
                        f"sum by (result) ({rate('lmcache_webhook_kube_api_requests_total', w)})",
                        "{{result}}",
                    )
                ],
                unit="ops",
            ),
        ],
    )
    return DashboardSpec(
        uid="lmcache-webhook",
        title="LMCache / Injection webhook",
        description="The LMCache injection webhook: admission requests, injections and skips,"
        " errors, latency.",
        variables=[
            datasource_variable(),
            query_variable(
                "namespace", "label_values(lmcache_webhook_admission_requests_total, namespace)"
            ),
            query_variable(
                "job",
                'label_values(lmcache_webhook_admission_requests_total{namespace=~"$namespace"}, job)',
                multi=True,
            ),
        ],
        rows=[overview, traffic, lookups],
    )


DASHBOARDS: dict[str, Callable[[], DashboardSpec]] = {
    "engines": engine_dashboard,
    "coordinators": coordinator_dashboard,
    "webhook": webhook_dashboard,
}


# ---- building the JSON with the foundation SDK ---------------------------------------------


def datasource_variable() -> Any:
    from grafana_foundation_sdk.builders import dashboard

    return dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")


def query_variable(name: str, query: str, *, regex: str = "", multi: bool = False) -> Any:
    from grafana_foundation_sdk.builders import dashboard
    from grafana_foundation_sdk.models.dashboard import (
        DataSourceRef,
        VariableRefresh,
        VariableSort,
    )

    var = (
        dashboard.QueryVariable(name)
        .label(name)
        .query(query)
        .datasource(DataSourceRef(type_val="prometheus", uid="${datasource}"))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .multi(multi)
    )
    if regex:
        var = var.regex(regex)
    return var


def _panel(panel: Panel, x: int, y: int) -> Any:
    from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
    from grafana_foundation_sdk.models.common import (
        BigValueGraphMode,
        LegendDisplayMode,
        LegendPlacement,
    )
    from grafana_foundation_sdk.models.dashboard import (
        DataSourceRef,
        GridPos,
        Threshold,
        ThresholdsMode,
    )

    builder = (timeseries.Panel() if panel.kind == "timeseries" else stat.Panel()).title(
        panel.title
    )
    builder = builder.description(panel.description).unit(panel.unit)
    builder = builder.datasource(DataSourceRef(type_val="prometheus", uid="${datasource}"))
    builder = builder.grid_pos(GridPos(h=panel.height, w=panel.width, x=x, y=y))
    if panel.min is not None:
        builder = builder.min(panel.min)
    if panel.max is not None:
        builder = builder.max(panel.max)
    if panel.thresholds:
        steps = [
            Threshold(value=None if i == 0 else value, color=color)
            for i, (value, color) in enumerate(panel.thresholds)
        ]
        builder = builder.thresholds(
            dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)
        )
    if panel.kind == "stat":
        builder = builder.reduce_options(
            common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
        ).graph_mode(BigValueGraphMode.NONE)
    else:
        builder = builder.legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
        )
    for i, query in enumerate(panel.queries):
        target = (
            prometheus.Dataquery()
            .expr(query.expr)
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + i))
        )
        target = target.instant() if query.instant or panel.kind == "stat" else target.range()
        builder = builder.with_target(target)
    return builder


def build(spec: DashboardSpec) -> dict[str, Any]:
    """The dashboard's JSON model, panels laid out row by row on Grafana's grid."""
    from grafana_foundation_sdk.builders import dashboard
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, GridPos

    board = (
        dashboard.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["lmcache"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
    )
    for variable in spec.variables:
        board = board.with_variable(variable)
    y = 0
    for row in spec.rows:
        board = board.with_row(dashboard.Row(row.title).grid_pos(GridPos(h=1, w=24, x=0, y=y)))
        y += 1
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y = 0, y + line_height
                line_height = 0
            board = board.with_panel(_panel(panel, x, y))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    model = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    # Panel ids in reading order: Grafana needs them unique, and stable ids keep diffs small.
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    return model


def rendered() -> dict[Path, str]:
    return {
        DASHBOARD_DIR / f"{name}.json": json.dumps(build(make()), indent=2, sort_keys=True) + "\n"
        for name, make in DASHBOARDS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    files = rendered()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra = sorted(set(DASHBOARD_DIR.glob("*.json")) - set(files))
    if args.check:
        for path in stale:
            print(
                f"{path} is stale: run python -m lmcache_k8s.monitoring.dashboards --write",
                file=sys.stderr,
            )
        for path in extra:
            print(f"{path} is not generated by any dashboard: remove it", file=sys.stderr)
        return 1 if stale or extra else 0
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    for path in extra:
        path.unlink()
    for path, text in files.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
