"""Bad values are rejected by Helm 3, Helm 4 and `check_values` alike, naming the same path.

One table drives all three: Helm rejects a case through values.schema.json or through the
`fail` of templates/_validate.tpl, `check_values` (and so the post-renderer) through the models
and lmcache_k8s/relations.py. Helm 3 prints dotted paths (`engines.my-cache.l1.sizeGB`), Helm 4
JSON pointers (`/engines/my-cache/l1/sizeGB`); either form is accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from lmcache_k8s.validate import check_values
from tests.chart.helpers import PAYLOAD, blend, engine, ok, rendered
from tests.support import (
    HELMS,
    run_postrender,
)

helms = pytest.mark.parametrize("helm", HELMS)


@dataclass(frozen=True)
class Case:
    id: str
    values: dict[str, Any]
    path: str  # the path check_values reports
    # Where Helm reports it when that differs (a missing or unknown key is reported at its
    # parent); None: Helm names no path (bad map keys, unknown top-level keys).
    helm_path: str | None = ""
    word: str | None = None  # a word Helm's message must contain too (the key, the name)

    @property
    def helm_at(self) -> str | None:
        return self.path if self.helm_path == "" else self.helm_path


def eng(**fields: Any) -> dict[str, Any]:
    return {"engines": {"my-cache": engine(**fields)}}


def cb(**fields: Any) -> dict[str, Any]:
    return {"cacheBlendEngines": {"my-cb": blend(**fields)}}


def coord(**fields: Any) -> dict[str, Any]:
    return {"coordinators": {"fleet": fields}}


E = "engines.my-cache"
B = "cacheBlendEngines.my-cb"
C = "coordinators.fleet"
LONG = "a" * 56

CASES = [
    # --- names and unknown keys (1.1, 1.6)
    Case("name-not-dns", {"engines": {"My_Cache": engine()}}, "engines.My_Cache", None, "My_Cache"),
    Case("name-too-long", {"engines": {LONG: engine()}}, f"engines.{LONG}", None, LONG),
    Case("coordinator-name-not-dns", {"coordinators": {"9lives": {}}}, "coordinators.9lives",
         None, "9lives"),
    Case("name-used-twice", {"engines": {"dup": engine()}, "cacheBlendEngines": {"dup": blend()}},
         "cacheBlendEngines.dup"),
    Case("name-is-another-entrys-metrics-service", {"engines": {"a": engine(), "a-metrics": engine()}},
         "engines.a-metrics"),
    Case("unknown-top-level-key", {"engine": {}}, "engine", None, "engine"),
    Case("unknown-engine-key", eng(sever={"port": 6000}), f"{E}.sever", E, "sever"),
    Case("unknown-nested-key", eng(l1={"sizeGB": 1, "sizeGb": 2}), f"{E}.l1.sizeGb", f"{E}.l1",
         "sizeGb"),
    Case("unknown-coordinator-key", coord(blendChunk=256), f"{C}.blendChunk", C, "blendChunk"),
    # --- EngineSpec (1.2)
    Case("l1-missing", {"engines": {"my-cache": {}}}, f"{E}.l1", E, "l1"),
    Case("size-missing", eng(l1={}), f"{E}.l1.sizeGB", f"{E}.l1", "sizeGB"),
    Case("size-zero", eng(l1={"sizeGB": 0}), f"{E}.l1.sizeGB"),
    Case("size-negative", eng(l1={"sizeGB": -1}), f"{E}.l1.sizeGB"),
    Case("size-string", eng(l1={"sizeGB": "60"}), f"{E}.l1.sizeGB"),
    Case("pull-policy", eng(image={"pullPolicy": "Sometimes"}), f"{E}.image.pullPolicy"),
    Case("image-repository-empty", eng(image={"repository": ""}), f"{E}.image.repository"),
    Case("port-low", eng(server={"port": 80}), f"{E}.server.port"),
    Case("port-high", eng(server={"port": 65536}), f"{E}.server.port"),
    Case("http-port-low", eng(server={"httpPort": 1023}), f"{E}.server.httpPort"),
    Case("http-port-equals-port", eng(server={"port": 6000, "httpPort": 6000}),
         f"{E}.server.httpPort"),
    Case("http-port-equals-default-port", eng(server={"httpPort": 5555}), f"{E}.server.httpPort"),
    Case("chunk-size-zero", eng(server={"chunkSize": 0}), f"{E}.server.chunkSize"),
    Case("max-workers-zero", eng(server={"maxWorkers": 0}), f"{E}.server.maxWorkers"),
    Case("hash-algorithm", eng(server={"hashAlgorithm": "md5"}), f"{E}.server.hashAlgorithm"),
    Case("eviction-policy", eng(eviction={"policy": "LFU"}), f"{E}.eviction.policy"),
    Case("watermark-zero", eng(eviction={"triggerWatermark": 0}), f"{E}.eviction.triggerWatermark"),
    Case("watermark-above-one", eng(eviction={"triggerWatermark": 1.5}),
         f"{E}.eviction.triggerWatermark"),
    Case("eviction-ratio-zero", eng(eviction={"evictionRatio": 0}), f"{E}.eviction.evictionRatio"),
    Case("eviction-ratio-above-one", eng(eviction={"evictionRatio": 1.01}),
         f"{E}.eviction.evictionRatio"),
    Case("prometheus-port-zero", eng(prometheus={"port": 0}), f"{E}.prometheus.port"),
    Case("prometheus-port-high", eng(prometheus={"port": 70000}), f"{E}.prometheus.port"),
    Case("service-monitor-needs-metrics",
         eng(prometheus={"enabled": False, "serviceMonitor": {"enabled": True}}),
         f"{E}.prometheus.serviceMonitor.enabled", f"{E}.prometheus"),
    Case("service-monitor-interval", eng(prometheus={"serviceMonitor": {"interval": "soon"}}),
         f"{E}.prometheus.serviceMonitor.interval"),
    Case("l2-backend-without-type", eng(l2Backends=[{"host": "redis"}]), f"{E}.l2Backends.0.type",
         f"{E}.l2Backends.0", "type"),
    Case("log-level", eng(logLevel="TRACE"), f"{E}.logLevel"),
    Case("privileged-not-bool", eng(privileged="yes"), f"{E}.privileged"),
    Case("node-selector-not-string", eng(nodeSelector={"gpu": True}), f"{E}.nodeSelector.gpu"),
    Case("runtime-class-not-string", eng(runtimeClassName=5), f"{E}.runtimeClassName"),
    Case("gpu-vendor-unknown", eng(gpuVendor="intel"), f"{E}.gpuVendor"),
    Case("amd-unprivileged", eng(gpuVendor="amd", privileged=False), f"{E}.privileged"),
    Case("extra-args-not-strings", eng(extraArgs=[1]), f"{E}.extraArgs.0"),
    Case("extra-args-repeat-a-rendered-flag", eng(extraArgs=["--max-workers", "4"]),
         f"{E}.extraArgs"),
    Case("extra-args-repeat-a-rendered-flag-inline", eng(extraArgs=["--log-file", "x", "--port=6000"]),
         f"{E}.extraArgs", word="--port"),
    Case("extra-args-bind-address", eng(extraArgs=["--host", "127.0.0.1"]), f"{E}.extraArgs",
         word="--host"),
    Case("extra-args-disable-metrics", eng(extraArgs=["--disable-metrics"]), f"{E}.extraArgs",
         word="--disable-metrics"),
    Case("shm-emptydir", eng(volumes=[{"name": "shm", "emptyDir": {"medium": "Memory"}}],
                             volumeMounts=[{"name": "shm", "mountPath": "/dev/shm/"}]),
         f"{E}.volumeMounts", word="'shm'"),
    # 0 is no limit at all and a bare number is bytes: neither is a /dev/shm for vLLM
    Case("consumer-shm-zero", eng(ipc="isolated", consumerShmSizeLimit="0"),
         f"{E}.consumerShmSizeLimit"),
    Case("consumer-shm-bare-bytes", eng(ipc="isolated", consumerShmSizeLimit="16"),
         f"{E}.consumerShmSizeLimit"),
    Case("consumer-shm-zero-with-unit", eng(consumerShmSizeLimit="0Gi"), f"{E}.consumerShmSizeLimit"),
    Case("consumer-shm-lowercase-unit", cb(consumerShmSizeLimit="16gi"),
         f"{B}.consumerShmSizeLimit"),
    Case("pull-secret-without-name", eng(imagePullSecrets=[{}]), f"{E}.imagePullSecrets.0.name",
         f"{E}.imagePullSecrets.0", "name"),
    # --- CacheBlendSpec (1.3)
    Case("blend-chunk-size", cb(server={"chunkSize": 512}), f"{B}.server.chunkSize"),
    Case("blend-check-layer-negative", cb(blend={"checkLayer": -1}), f"{B}.blend.checkLayer"),
    Case("blend-recomp-ratio-zero", cb(blend={"recompRatio": 0}), f"{B}.blend.recompRatio"),
    Case("blend-recomp-ratio-above-one", cb(blend={"recompRatio": 1.5}), f"{B}.blend.recompRatio"),
    Case("blend-injection-missing", {"cacheBlendEngines": {"my-cb": engine()}}, f"{B}.injection",
         B, "injection"),
    Case("blend-payload-repository-missing", cb(injection={"payloadImage": {"tag": "x"}}),
         f"{B}.injection.payloadImage.repository", f"{B}.injection.payloadImage", "repository"),
    Case("blend-payload-pull-policy",
         cb(injection={"payloadImage": {"repository": "x", "pullPolicy": "Maybe"}}),
         f"{B}.injection.payloadImage.pullPolicy"),
    Case("blend-cudagraph", cb(injection={**PAYLOAD, "cudagraph": "full"}),
         f"{B}.injection.cudagraph"),
    Case("blend-unknown-injection-key", cb(injection={**PAYLOAD, "target": "vllm"}),
         f"{B}.injection.target", f"{B}.injection", "target"),
    Case("blend-extra-args-engine-type", cb(extraArgs=["--engine-type", "blend"]), f"{B}.extraArgs",
         word="--engine-type"),
    Case("blend-shm-emptydir", cb(volumes=[{"name": "s", "emptyDir": {}}],
                                  volumeMounts=[{"name": "s", "mountPath": "/dev/shm"}]),
         f"{B}.volumeMounts"),
    Case("blend-http-port-equals-port", cb(server={"port": 6000, "httpPort": 6000}),
         f"{B}.server.httpPort"),
    # --- CoordinatorSpec (1.4)
    Case("coordinator-replicas-negative", coord(replicas=-1), f"{C}.replicas"),
    Case("coordinator-port-zero", coord(port=0), f"{C}.port"),
    Case("coordinator-port-high", coord(port=65536), f"{C}.port"),
    Case("coordinator-host-empty", coord(host=""), f"{C}.host"),
    Case("coordinator-instance-timeout-zero", coord(instanceTimeout=0), f"{C}.instanceTimeout"),
    Case("coordinator-health-check-negative", coord(healthCheckInterval=-1),
         f"{C}.healthCheckInterval"),
    Case("coordinator-eviction-check-negative", coord(evictionCheckInterval=-1),
         f"{C}.evictionCheckInterval"),
    Case("coordinator-eviction-ratio-above-one", coord(evictionRatio=1.5), f"{C}.evictionRatio"),
    Case("coordinator-eviction-ratio-negative", coord(evictionRatio=-0.1), f"{C}.evictionRatio"),
    Case("coordinator-watermark-zero", coord(triggerWatermark=0), f"{C}.triggerWatermark"),
    Case("coordinator-blend-chunk-zero", coord(blendChunkSize=0), f"{C}.blendChunkSize"),
    Case("coordinator-probe-stride-zero", coord(blendProbeStride=0), f"{C}.blendProbeStride"),
    Case("coordinator-blend-lookup-not-bool", coord(blendLookup="yes"), f"{C}.blendLookup"),
    Case("coordinator-extra-args-repeat-a-rendered-flag", coord(extraArgs=["--chunk-size=512"]),
         f"{C}.extraArgs", word="--chunk-size"),
    Case("coordinator-service-monitor-needs-metrics",
         coord(prometheus={"enabled": False, "serviceMonitor": {"enabled": True}}),
         f"{C}.prometheus.serviceMonitor.enabled", f"{C}.prometheus"),
    # --- CoordinatorRef (1.5)
    Case("ref-and-url", {**eng(coordinator={"ref": {"name": "fleet"}, "url": "http://c:1"}),
                         **coord()}, f"{E}.coordinator"),
    Case("neither-ref-nor-url", eng(coordinator={"heartbeatInterval": 5}), f"{E}.coordinator"),
    Case("unknown-ref", eng(coordinator={"ref": {"name": "nope"}}), f"{E}.coordinator.ref.name"),
    Case("blend-unknown-ref", cb(coordinator={"ref": {"name": "nope"}}),
         f"{B}.coordinator.ref.name"),
    Case("ref-name-not-dns", eng(coordinator={"ref": {"name": "Fleet!"}}),
         f"{E}.coordinator.ref.name"),
    Case("url-scheme", eng(coordinator={"url": "ftp://fleet:9300"}), f"{E}.coordinator.url"),
    Case("heartbeat-zero", eng(coordinator={"url": "http://c:1", "heartbeatInterval": 0}),
         f"{E}.coordinator.heartbeatInterval"),
    Case("chunk-size-mismatch",
         {**eng(server={"chunkSize": 512}, coordinator={"ref": {"name": "fleet"}}), **coord()},
         f"{C}.blendChunkSize"),
    Case("blend-chunk-size-mismatch",
         {**cb(coordinator={"ref": {"name": "fleet"}}), **coord(blendChunkSize=128)},
         f"{C}.blendChunkSize"),
]  # fmt: skip

cases = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])


def pointer(path: str) -> str:
    return "/" + path.replace(".", "/")


@cases
@helms
def test_helm_rejects_the_values_and_names_the_path(case, helm):
    out = rendered(case.values, helm)
    assert not out.ok, f"{case.id} rendered on {helm}"
    if case.helm_at is not None:
        assert case.helm_at in out.stderr or pointer(case.helm_at) in out.stderr, out.stderr
    if case.word is not None:
        assert case.word in out.stderr, out.stderr


@cases
def test_check_values_reports_the_same_path(case):
    paths = [issue.path for issue in check_values(case.values)]
    assert case.path in paths, paths


def test_every_case_is_valid_once_its_one_mistake_is_gone():
    # Guards the table: each case differs from valid values by the one mistake it names,
    # which this base set of valid values proves renders and validates.
    valid = {
        **eng(coordinator={"ref": {"name": "fleet"}}),
        **cb(coordinator={"url": "http://c:9300"}),
        **coord(),
    }
    assert check_values(valid) == []
    ok(valid)


@helms
def test_boundary_values_are_accepted(helm):
    values = {
        "engines": {
            "a" * 55: engine(0.001, server={"port": 1024, "httpPort": 65535}),
            "edge": engine(
                1,
                eviction={"triggerWatermark": 1, "evictionRatio": 1},
                prometheus={"port": 1},
                runtimeClassName="",
                nodeSelector={},
                consumerShmSizeLimit="0.5Gi",
                coordinator={"ref": {"name": "fleet"}, "heartbeatInterval": 1},
            ),
        },
        "cacheBlendEngines": {"b": blend(blend={"checkLayer": 0, "recompRatio": 1})},
        "coordinators": {
            "fleet": {
                "replicas": 0,
                "port": 65535,
                "healthCheckInterval": 0,
                "evictionCheckInterval": 0,
                "evictionRatio": 0,
                "triggerWatermark": 1,
            }
        },
    }
    assert check_values(values) == []
    ok(values, helm)


SCHEMA_ERRORS = {
    "engines": {
        "a": engine(0, server={"port": 80}, logLevel="TRACE"),
        "b": engine(eviction={"triggerWatermark": 1.5}),
    },
    "coordinators": {"c": {"replicas": -1}},
}
SCHEMA_ERROR_PATHS = [
    "engines.a.l1.sizeGB",
    "engines.a.server.port",
    "engines.a.logLevel",
    "engines.b.eviction.triggerWatermark",
    "coordinators.c.replicas",
]


@helms
def test_schema_errors_are_reported_together(helm):
    out = rendered(SCHEMA_ERRORS, helm)
    assert not out.ok
    for path in SCHEMA_ERROR_PATHS:
        assert path in out.stderr or pointer(path) in out.stderr, (path, out.stderr)
    assert sorted(i.path for i in check_values(SCHEMA_ERRORS)) == sorted(SCHEMA_ERROR_PATHS)


RELATION_ERRORS = {
    "engines": {
        "a": engine(server={"port": 6000, "httpPort": 6000}, coordinator={"ref": {"name": "x"}}),
        "b": engine(server={"chunkSize": 512}, coordinator={"ref": {"name": "fleet"}}),
        "fleet": engine(),
    },
    "coordinators": {"fleet": {}},
}


@helms
def test_relational_errors_fail_once_with_the_post_renderers_messages_one_per_line(helm):
    out = rendered(RELATION_ERRORS, helm)
    assert not out.ok
    assert out.stderr.count("invalid values:") == 1
    lines = out.stderr.split("invalid values:\n", 1)[1].strip().splitlines()
    lines = [line for line in lines if line and not line.startswith("Use --debug")]
    expected = {str(issue) for issue in check_values(RELATION_ERRORS)}
    assert len(expected) == 4
    assert set(lines) == expected


# --- what the chart refuses in the values, the post-renderer refuses in a manifest ----------

WORKLOAD_CASES = {
    "host-in-extra-args": {"extraArgs": ["--host", "127.0.0.1"]},
    "http-host-in-extra-args": {"extraArgs": ["--http-host=127.0.0.1", "--log-file", "x"]},
    "shm-emptydir": {
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}],
        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
    },
}


def chart_errors(out) -> set[str]:
    text = out.stderr.split("invalid values:\n", 1)[1]
    return {line for line in text.splitlines() if line and not line.startswith("Use --debug")}


@pytest.mark.parametrize("fields", WORKLOAD_CASES.values(), ids=list(WORKLOAD_CASES))
@pytest.mark.parametrize("kind", ["engines", "cacheBlendEngines"])
def test_the_post_renderer_refuses_on_a_workload_what_the_chart_refuses_in_values(fields, kind):
    spec = {**(blend() if kind == "cacheBlendEngines" else engine()), **fields}
    values = {kind: {"cache": spec}}
    failed = {helm: rendered(values, helm) for helm in HELMS}
    assert not any(out.ok for out in failed.values())
    from_chart = chart_errors(failed["helm3"])
    assert chart_errors(failed["helm4"]) == from_chart
    assert from_chart == {str(issue) for issue in check_values(values)}
    assert len(from_chart) == 1

    # The same mistake made after rendering (a kustomize patch, say) reaches the post-renderer,
    # which refuses it at the same path (with its own, finer words for a bind address).
    clean = {kind: {"cache": {k: v for k, v in spec.items() if k not in fields}}}
    docs = [dict(d) for d in ok(clean).docs]
    for i, doc in enumerate(docs):
        if doc["kind"] == "DaemonSet":
            doc = docs[i] = json.loads(json.dumps(doc))
            pod = doc["spec"]["template"]["spec"]
            pod["containers"][0]["args"] += fields.get("extraArgs", [])
            if "volumes" in fields:
                pod["volumes"] = fields["volumes"]
                pod["containers"][0]["volumeMounts"] = fields["volumeMounts"]
    proc = run_postrender(yaml.safe_dump_all(docs))
    assert proc.returncode != 0 and proc.stdout == ""
    prefix = "lmcache-postrender: error: DaemonSet/cache: "
    from_post_renderer = {
        line.removeprefix(prefix) for line in proc.stderr.splitlines() if line.startswith(prefix)
    }
    assert {line.split(": ", 1)[0] for line in from_post_renderer} == {
        line.split(": ", 1)[0] for line in from_chart
    }
    if "volumes" in fields:  # the same rule word for word
        assert from_post_renderer == from_chart
