"""Every values rule is enforced on rendered objects, with the values' own paths and wording."""

from __future__ import annotations

import json

import pytest

from tests.postrender import chartlike
from tests.postrender.helpers import container, hand_written, run


def set_flag(workload, flag, value):
    args = container(workload)["args"]
    args[args.index(flag) + 1] = value
    return workload


def errors_of(*objects):
    outcome = run(*objects)
    assert outcome.output is None, "an invalid stream must produce no output"
    return outcome.errors


ENGINE_CASES = [
    ("--l1-size-gb", "0", "engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)"),
    ("--l1-size-gb", "-1.5", "engines.my-cache.l1.sizeGB: must be greater than 0 (got -1.5)"),
    ("--l1-size-gb", "lots", "engines.my-cache.l1.sizeGB: must be a number (got 'lots')"),
    ("--port", "80", "engines.my-cache.server.port: must be at least 1024 (got 80)"),
    ("--port", "70000", "engines.my-cache.server.port: must be at most 65535 (got 70000)"),
    (
        "--http-port",
        "5555",
        "engines.my-cache.server.httpPort: must differ from server.port (both 5555)",
    ),
    ("--chunk-size", "0", "engines.my-cache.server.chunkSize: must be greater than 0 (got 0)"),
    ("--max-workers", "0", "engines.my-cache.server.maxWorkers: must be greater than 0 (got 0)"),
    (
        "--hash-algorithm",
        "md5",
        "engines.my-cache.server.hashAlgorithm: must be one of builtin, sha256_cbor or blake3 (got 'md5')",
    ),
    (
        "--eviction-policy",
        "FIFO",
        "engines.my-cache.eviction.policy: must be one of LRU (got 'FIFO')",
    ),
    (
        "--eviction-trigger-watermark",
        "1.5",
        "engines.my-cache.eviction.triggerWatermark: must be at most 1 (got 1.5)",
    ),
    (
        "--eviction-trigger-watermark",
        "0.0",
        "engines.my-cache.eviction.triggerWatermark: must be greater than 0 (got 0)",
    ),
    (
        "--eviction-ratio",
        "0",
        "engines.my-cache.eviction.evictionRatio: must be greater than 0 (got 0)",
    ),
    (
        "--eviction-ratio",
        "2.0",
        "engines.my-cache.eviction.evictionRatio: must be at most 1 (got 2)",
    ),
]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    ENGINE_CASES,
    ids=[c[2].split(":")[0] + c[1] for c in ENGINE_CASES],
)
def test_engine_flag_rules(flag, value, message):
    ds = set_flag(chartlike.daemonset("my-cache"), flag, value)
    assert f"DaemonSet/my-cache: {message}" in errors_of(ds)


def test_the_same_rules_hold_for_the_inline_flag_form():
    ds = hand_written(args=["--l1-size-gb=0", "--port=80"])
    errors = errors_of(ds)
    assert (
        "DaemonSet/my-cache: engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)" in errors
    )
    assert (
        "DaemonSet/my-cache: engines.my-cache.server.port: must be at least 1024 (got 80)" in errors
    )


def test_a_missing_l1_size_is_an_error():
    assert errors_of(hand_written(args=["--port", "5555"])) == [
        "DaemonSet/my-cache: engines.my-cache.l1.sizeGB: is required (lmcache server refuses to"
        " start without --l1-size-gb)"
    ]


def test_a_bad_log_level_is_read_from_the_env():
    ds = chartlike.daemonset("my-cache", log_level="TRACE")
    assert errors_of(ds) == [
        "DaemonSet/my-cache: engines.my-cache.logLevel: must be one of DEBUG, INFO, WARNING or ERROR"
        " (got 'TRACE')"
    ]


def test_several_problems_on_several_objects_are_reported_at_once():
    a = set_flag(set_flag(chartlike.daemonset("a"), "--l1-size-gb", "0"), "--port", "80")
    b = chartlike.daemonset("b", log_level="LOUD")
    c = chartlike.coordinator("c", instance_timeout=0)
    errors = errors_of(a, b, c)
    assert errors == [
        "DaemonSet/a: engines.a.server.port: must be at least 1024 (got 80)",
        "DaemonSet/a: engines.a.l1.sizeGB: must be greater than 0 (got 0)",
        "DaemonSet/b: engines.b.logLevel: must be one of DEBUG, INFO, WARNING or ERROR (got 'LOUD')",
        "Deployment/c: coordinators.c.instanceTimeout: must be greater than 0 (got 0)",
    ]


def test_a_service_monitor_needs_metrics():
    ds = chartlike.daemonset("my-cache", metrics=False)
    errors = errors_of(ds, chartlike.service_monitor("my-cache"))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.prometheus.serviceMonitor.enabled: needs"
        " prometheus.enabled: true"
    ]


def test_a_metrics_service_while_metrics_are_off_is_an_error():
    ds = chartlike.daemonset("my-cache", metrics=False)
    errors = errors_of(ds, chartlike.metrics_service("my-cache"))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.prometheus.enabled: metrics are disabled"
        " (--disable-metrics), but Service/my-cache-metrics is rendered: Prometheus would scrape a"
        " port that serves no /metrics"
    ]


def test_a_metrics_service_aimed_at_another_port_is_an_error():
    svc = chartlike.metrics_service("my-cache")
    svc["spec"]["ports"][0]["targetPort"] = 9090
    errors = errors_of(chartlike.daemonset("my-cache"), svc)
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.prometheus.port: Service/my-cache-metrics sends"
        " scrapes to targetPort 9090, but /metrics is served on the http port (8080)"
    ]


def test_the_metrics_service_port_is_validated_as_prometheus_port():
    errors = errors_of(
        chartlike.daemonset("my-cache"), chartlike.metrics_service("my-cache", port=0)
    )
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.prometheus.port: must be at least 1 (got 0)"
    ]


def test_a_bad_service_monitor_interval_is_an_error():
    errors = errors_of(
        chartlike.daemonset("my-cache"), chartlike.service_monitor("my-cache", interval="soon")
    )
    assert errors[0].startswith(
        "DaemonSet/my-cache: engines.my-cache.prometheus.serviceMonitor.interval: must match"
    )


def test_the_connection_configmap_must_point_at_the_engine_port():
    ds = set_flag(chartlike.daemonset("my-cache"), "--port", "6000")
    container(ds)["ports"][0]["containerPort"] = 6000
    errors = errors_of(ds, chartlike.connection("my-cache", port=5555))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.server.port: ConfigMap/my-cache-connection sends"
        " vLLM to port 5555, but the engine listens on --port 6000"
    ]


def test_a_connection_configmap_without_an_extra_config_map_is_not_port_checked():
    # Only the JSON text is the post-renderer's business; its shape is vLLM's. Used to crash.
    cm = chartlike.connection("my-cache")
    kv = json.loads(cm["data"]["kv-transfer-config.json"])
    kv["kv_connector_extra_config"] = ["lmcache.mp.port", 6000]
    cm["data"]["kv-transfer-config.json"] = json.dumps(kv)
    outcome = run(chartlike.daemonset("my-cache"), cm)
    assert outcome.errors == [] and outcome.output is not None


# -- flags the real lmcache 0.5.6 CLI rejects ------------------------------------------------

REJECTED = [
    (["--disable-prometheus"], "--disable-prometheus is not a flag of lmcache server 0.5.6: use --disable-metrics"),
    (["--prometheus-enable"], "--prometheus-enable is not a flag of lmcache server 0.5.6: metrics are on by default; use --disable-metrics"),
    (["--engine-type", "blend_v3"], "--engine-type blend_v3 is not accepted by lmcache server 0.5.6: use --engine-type blend"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "message"), REJECTED, ids=[r[0][0] for r in REJECTED])
def test_flags_the_real_cli_rejects_name_their_replacement(extra, message):
    errors = errors_of(chartlike.daemonset("my-cache", extra=extra))
    assert len(errors) == 1
    assert errors[0].startswith(f"DaemonSet/my-cache: engines.my-cache.extraArgs: {message}")


MISLEADING = [
    (["--coordinator-l2-event-reporting"], "--coordinator-l2-event-reporting is a deprecated spelling: use --coordinator-event-reporting"),
    (["--coordinator-l2-event-flush-interval", "5"], "--coordinator-l2-event-flush-interval is a deprecated spelling: use --coordinator-event-reporting"),
    (["--prometheus-port", "9090"], "--prometheus-port opens nothing: lmcache server serves /metrics on its HTTP port (--http-port)"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "message"), MISLEADING, ids=[m[0][0] for m in MISLEADING])
def test_flags_the_real_server_accepts_but_that_mislead_are_warnings(extra, message):
    outcome = run(chartlike.daemonset("my-cache", extra=extra))
    assert outcome.ok, outcome.errors
    assert not outcome.changed
    assert [w for w in outcome.warnings if message in w] != [], outcome.warnings


def test_prometheus_port_on_a_coordinator_is_an_error():
    errors = errors_of(chartlike.coordinator("fleet", extra=["--prometheus-port", "9090"]))
    assert errors == [
        "Deployment/fleet: coordinators.fleet.extraArgs: --prometheus-port is not a flag of"
        " lmcache coordinator 0.5.6: metrics are served at /metrics on the coordinator port (--port)"
    ]


def test_blend_chunk_size_on_a_coordinator_names_chunk_size():
    errors = errors_of(chartlike.coordinator("fleet", extra=["--blend-chunk-size", "256"]))
    assert errors == [
        "Deployment/fleet: coordinators.fleet.extraArgs: --blend-chunk-size is not a flag of"
        " lmcache coordinator 0.5.6: use --chunk-size (coordinators.<name>.blendChunkSize)"
    ]


def test_a_managed_flag_repeated_with_another_value_is_an_error():
    errors = errors_of(chartlike.daemonset("my-cache", extra=["--max-workers", "4"]))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.server.maxWorkers: --max-workers is given twice (1 and"
        " 4): it is rendered from server.maxWorkers; do not repeat it in extraArgs"
    ]


def test_unknown_flags_are_extra_args_and_pass():
    outcome = run(chartlike.daemonset("my-cache", extra=["--some-new-flag", "x", "--verbose"]))
    assert outcome.ok and not outcome.changed


def test_a_switch_with_a_value_is_an_error():
    errors = errors_of(chartlike.daemonset("my-cache", extra=["--disable-metrics=true"]))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.extraArgs: --disable-metrics takes no value (got 'true')"
    ]


def test_an_argument_that_is_not_a_string_is_an_error():
    ds = hand_written(args=["--l1-size-gb", 60])
    assert errors_of(ds) == [
        "DaemonSet/my-cache: engines.my-cache.extraArgs: argument 60 of container lmcache must be a"
        " string: quote it"
    ]


def test_l2_adapters_are_validated():
    ds = chartlike.daemonset(
        "my-cache", extra=["--l2-adapter", '{"host":"r"}', "--l2-adapter", "{nope"]
    )
    errors = errors_of(ds)
    assert "DaemonSet/my-cache: engines.my-cache.l2Backends.0.type: is required" in errors
    assert any(
        e.startswith(
            "DaemonSet/my-cache: engines.my-cache.l2Backends.1: --l2-adapter is not valid JSON"
        )
        for e in errors
    )


def test_object_names_follow_the_values_name_rule():
    name = "x" * 56
    errors = errors_of(chartlike.daemonset(name))
    assert errors == [
        f"DaemonSet/{name}: engines.{name}: must be at most 55 characters (got '{name}')"
    ]


def test_one_name_in_two_maps_is_an_error():
    errors = errors_of(chartlike.daemonset("dup"), chartlike.coordinator("dup"))
    assert errors == [
        "Deployment/dup: coordinators.dup: name already used by engines.dup (their Services would collide)"
    ]


def test_the_same_workload_twice_is_an_error():
    again = hand_written("twice")
    again["metadata"]["namespace"] = "llm"
    errors = errors_of(chartlike.daemonset("twice"), again)
    assert "DaemonSet/twice: engines.twice: also defined by DaemonSet/twice" in errors


def test_a_blend_engine_without_engine_type_blend_is_an_error():
    ds = chartlike.daemonset("my-cb", blend=True)
    args = container(ds)["args"]
    del args[args.index("--engine-type") : args.index("--engine-type") + 2]
    assert errors_of(ds, chartlike.connection("my-cb", blend=True)) == [
        "DaemonSet/my-cb: cacheBlendEngines.my-cb: a CacheBlend engine must run with --engine-type"
        " blend --l1-align-bytes 16777216; without it the server is a plain LMCache engine the"
        " blend connector cannot use"
    ]


def test_a_labelled_cache_engine_running_blend_is_an_error():
    ds = chartlike.daemonset("my-cache", extra=["--engine-type", "blend"])
    assert errors_of(ds) == [
        "DaemonSet/my-cache: engines.my-cache.extraArgs: --engine-type blend runs a CacheBlend"
        " engine: declare it under cacheBlendEngines (component cacheblend-engine)"
    ]


# -- CacheBlend engines ----------------------------------------------------------------------


def blend_set(name="my-cb", chunk="256", **connection):
    ds = set_flag(chartlike.daemonset(name, blend=True), "--chunk-size", chunk)
    return [ds, chartlike.connection(name, blend=True, **connection)]


def test_a_chart_like_blend_engine_passes():
    outcome = run(*blend_set())
    assert outcome.ok and not outcome.changed


def test_a_blend_engine_needs_chunk_size_256():
    assert errors_of(*blend_set(chunk="128")) == [
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.server.chunkSize: must be one of 256 (got 128)"
    ]


def test_blend_fields_are_read_from_the_connection_configmap():
    errors = errors_of(*blend_set(check_layer=-1, recomp_ratio=0))
    assert errors == [
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.blend.checkLayer: must be at least 0 (got -1)",
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.blend.recompRatio: must be greater than 0 (got 0)",
    ]


def test_the_injection_settings_are_validated():
    injection = {"cudagraph": "full", "imagePullSecrets": [{}], "payloadImage": {"tag": "1"}}
    errors = errors_of(*blend_set(injection=injection))
    assert errors == [
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.injection.payloadImage.repository: is required",
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.injection.imagePullSecrets.0.name: is required",
        "DaemonSet/my-cb: cacheBlendEngines.my-cb.injection.cudagraph: must be one of eager,"
        " piecewise or full_decode_only (got 'full')",
    ]


def test_a_hand_written_blend_engine_without_its_configmap_is_not_held_to_unobservable_fields():
    ds = hand_written("cb", args=["--l1-size-gb", "8", "--engine-type", "blend"])
    outcome = run(ds)
    assert outcome.ok, outcome.errors


def test_an_unparsable_connection_configmap_is_an_error():
    ds, cm = blend_set()
    cm["data"]["kv-transfer-config.json"] = "{"
    errors = errors_of(ds, cm)
    assert len(errors) == 1
    assert errors[0].startswith(
        "ConfigMap/my-cb-connection: cacheBlendEngines.my-cb: key kv-transfer-config.json is not"
        " valid JSON"
    )


# -- coordinators ------------------------------------------------------------------------------

COORDINATOR_CASES = [
    ({"port": 0}, "coordinators.fleet.port: must be at least 1 (got 0)"),
    ({"replicas": -1}, "coordinators.fleet.replicas: must be at least 0 (got -1)"),
    ({"instance_timeout": 0}, "coordinators.fleet.instanceTimeout: must be greater than 0 (got 0)"),
    ({"health": -1}, "coordinators.fleet.healthCheckInterval: must be at least 0 (got -1)"),
    (
        {"eviction_check": -1},
        "coordinators.fleet.evictionCheckInterval: must be at least 0 (got -1)",
    ),
    ({"ratio": 1.5}, "coordinators.fleet.evictionRatio: must be at most 1 (got 1.5)"),
    ({"watermark": 0.0}, "coordinators.fleet.triggerWatermark: must be greater than 0 (got 0)"),
    ({"chunk_size": 0}, "coordinators.fleet.blendChunkSize: must be greater than 0 (got 0)"),
    ({"stride": 0}, "coordinators.fleet.blendProbeStride: must be greater than 0 (got 0)"),
]


@pytest.mark.parametrize(
    ("fields", "message"), COORDINATOR_CASES, ids=[c[1].split(":")[0] for c in COORDINATOR_CASES]
)
def test_coordinator_bounds(fields, message):
    assert errors_of(chartlike.coordinator("fleet", **fields)) == [f"Deployment/fleet: {message}"]


def referencing(name="my-cache", target="fleet", port=9300, **kw):
    return chartlike.daemonset(
        name,
        coordinator_ref=target,
        coordinator_url=f"http://{target}.llm.svc:{port}",
        **kw,
    )


def test_a_chart_like_coordinator_reference_passes():
    outcome = run(referencing(), chartlike.coordinator("fleet"))
    assert outcome.ok and not outcome.changed and outcome.warnings == []


def test_an_unknown_coordinator_ref_is_an_error():
    assert errors_of(referencing(target="ghost")) == [
        'DaemonSet/my-cache: engines.my-cache.coordinator.ref.name: no coordinator named "ghost" in'
        " coordinators"
    ]


def test_a_blend_chunk_mismatch_is_an_error():
    ds = set_flag(referencing(), "--chunk-size", "512")
    assert errors_of(ds, chartlike.coordinator("fleet")) == [
        "Deployment/fleet: coordinators.fleet.blendChunkSize: must equal the chunkSize of"
        " engines.my-cache (512), which uses this coordinator (got 256)"
    ]


def test_a_url_that_misses_the_referenced_coordinator_is_an_error():
    errors = errors_of(referencing(port=9300), chartlike.coordinator("fleet", port=9400))
    assert errors == [
        "DaemonSet/my-cache: engines.my-cache.coordinator.ref.name: --coordinator-url"
        " http://fleet.llm.svc:9300 does not reach coordinator fleet (expected"
        " http://fleet.<namespace>.svc:9400)"
    ]


def test_coordinator_ref_fields_are_validated():
    ds = chartlike.daemonset("my-cache", coordinator_url="ftp://c", heartbeat=0)
    errors = errors_of(ds)
    assert (
        "DaemonSet/my-cache: engines.my-cache.coordinator.heartbeatInterval: must be greater than 0 (got 0)"
        in errors
    )
    assert any(
        e.startswith("DaemonSet/my-cache: engines.my-cache.coordinator.url: must match")
        for e in errors
    )


def test_replicas_above_one_warn():
    outcome = run(chartlike.coordinator("fleet", replicas=3))
    assert outcome.ok
    assert outcome.warnings == [
        "Deployment/fleet: coordinators.fleet.replicas: 3 replicas do not share the in-memory"
        " registry; engines will see different fleets"
    ]


def test_an_instance_timeout_below_three_heartbeats_warns():
    outcome = run(referencing(heartbeat=5), chartlike.coordinator("fleet", instance_timeout=10))
    assert outcome.ok
    assert outcome.warnings == [
        "Deployment/fleet: coordinators.fleet.instanceTimeout: 10s is less than 3x the heartbeat"
        " interval of engines.my-cache (5s): a late heartbeat evicts the engine"
    ]


def test_warnings_as_errors_fails_the_run():
    outcome = run(chartlike.coordinator("fleet", replicas=2), warnings_as_errors=True)
    assert outcome.output is None
    assert outcome.errors and outcome.warnings == []


def test_a_hand_written_engine_may_name_another_engine_type():
    """Only the chart refuses rendered flags in extraArgs; a hand-written engine keeps its own."""
    outcome = run(hand_written(args=["--l1-size-gb", "60", "--engine-type", "default"]))
    assert outcome.ok, outcome.errors
