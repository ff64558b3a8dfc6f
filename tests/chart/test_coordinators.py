"""Coordinators (SPEC 1.4, 2.7): a Deployment with the real 0.5.6 coordinator flags,
a ClusterIP Service, and the optional metrics Service and ServiceMonitor."""

from __future__ import annotations

import pytest

from tests.chart.helpers import args, container, engine, flag_value, notes, ok, pod_spec, rendered
from tests.support import HELMS, RELEASE

helms = pytest.mark.parametrize("helm", HELMS)

DEFAULT_ARGS = [
    "--host", "0.0.0.0",
    "--port", "9300",
    "--instance-timeout", "30",
    "--health-check-interval", "10",
    "--eviction-check-interval", "5",
    "--eviction-ratio", "0.2",
    "--trigger-watermark", "1.0",
    "--chunk-size", "256",
    "--blend-probe-stride", "1",
    "--enable-blend-lookup",
]  # fmt: skip

SELECTOR = {
    "app.kubernetes.io/name": "lmcache",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "coordinator",
    "lmcache.ai/coordinator": "fleet",
}


def one(helm: str = "helm3", **fields):
    return ok({"coordinators": {"fleet": fields}}, helm)


def deployment(helm: str = "helm3", **fields):
    return one(helm, **fields).get("Deployment", "fleet")


@helms
def test_a_minimal_coordinator_renders_deployment_and_services(helm):
    out = one(helm)
    assert out.refs() == [
        "NetworkPolicy/fleet",
        "Service/fleet-metrics",
        "Service/fleet",
        "Deployment/fleet",
    ]
    for doc in out.docs:
        labels = doc["metadata"]["labels"]
        assert {k: labels[k] for k in SELECTOR} == SELECTOR
        assert doc["metadata"]["namespace"] == "llm"


@helms
def test_default_args_are_exactly_the_real_cli_flags(helm):
    d = deployment(helm)
    assert container(d)["name"] == "coordinator"
    assert container(d)["command"] == ["/opt/venv/bin/lmcache", "coordinator"]
    assert args(d) == DEFAULT_ARGS


def test_every_field_flows_into_its_flag_in_order():
    d = deployment(
        host="::",
        port=9400,
        instanceTimeout=60,
        healthCheckInterval=0,
        evictionCheckInterval=0,
        evictionRatio=0,
        triggerWatermark=0.9,
        blendChunkSize=512,
        blendProbeStride=4,
        blendLookup=False,
        prometheus={"enabled": False},
        extraArgs=["--verbose"],
    )
    assert args(d) == [
        "--host", "::",
        "--port", "9400",
        "--instance-timeout", "60",
        "--health-check-interval", "0",
        "--eviction-check-interval", "0",
        "--eviction-ratio", "0.0",
        "--trigger-watermark", "0.9",
        "--chunk-size", "512",
        "--blend-probe-stride", "4",
        "--disable-metrics",
        "--verbose",
    ]  # fmt: skip


def test_no_blend_chunk_size_flag_exists():
    assert not [a for a in args(deployment()) if a.startswith("--blend-chunk")]


def test_env_port_and_http_probes():
    c = container(deployment(logLevel="WARNING", env=[{"name": "A", "value": "1"}], port=9400))
    assert c["env"] == [
        {"name": "LMCACHE_LOG_LEVEL", "value": "WARNING"},
        {"name": "A", "value": "1"},
    ]
    assert c["ports"] == [{"name": "http", "containerPort": 9400, "protocol": "TCP"}]
    http = {"httpGet": {"path": "/healthz", "port": "http"}}
    assert c["startupProbe"] == {
        **http,
        "initialDelaySeconds": 5,
        "periodSeconds": 5,
        "failureThreshold": 30,
    }
    assert c["livenessProbe"] == {**http, "periodSeconds": 10}
    assert c["readinessProbe"] == {**http, "periodSeconds": 5}


@pytest.mark.parametrize(("replicas", "expected"), [(None, 1), (3, 3), (0, 0)])
def test_replicas_default_to_one_and_zero_is_kept(replicas, expected):
    fields = {} if replicas is None else {"replicas": replicas}
    assert deployment(**fields)["spec"]["replicas"] == expected


def test_no_gpu_settings_by_default():
    d = deployment()
    spec = pod_spec(d)
    for key in ("hostIPC", "hostNetwork", "runtimeClassName", "nodeSelector", "volumes"):
        assert key not in spec, key
    c = container(d)
    assert "privileged" not in c["securityContext"]
    assert c["image"] == "lmcache/vllm-openai:latest"


def test_default_requests_keep_the_coordinator_out_of_besteffort():
    assert container(deployment())["resources"] == {
        "requests": {"cpu": "100m", "memory": "384Mi"},
        "limits": {"memory": "1Gi"},
    }


def test_resources_are_replaced_whole_not_merged():
    # A user's requests-only block must not inherit the default memory limit.
    resources = {"requests": {"cpu": "2"}}
    assert container(deployment(resources=resources))["resources"] == resources


def test_the_coordinator_runs_without_privileges_or_an_api_token():
    d = deployment()
    assert container(d)["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod_spec(d)["automountServiceAccountToken"] is False
    # A service account the user names is theirs to use, token included.
    assert "automountServiceAccountToken" not in pod_spec(deployment(serviceAccountName="sa"))


def test_scheduling_and_resources_are_rendered_when_set():
    resources = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    d = deployment(
        resources=resources,
        nodeSelector={"pool": "system"},
        runtimeClassName="runc",
        priorityClassName="high",
        serviceAccountName="coord",
        imagePullSecrets=[{"name": "regcred"}],
        podLabels={"lmcache.ai/coordinator": "other", "team": "ml"},
        podAnnotations={"a": "b"},
    )
    spec = pod_spec(d)
    assert container(d)["resources"] == resources
    assert spec["nodeSelector"] == {"pool": "system"}
    assert spec["runtimeClassName"] == "runc"
    assert spec["priorityClassName"] == "high"
    assert spec["serviceAccountName"] == "coord"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert d["spec"]["template"]["metadata"]["labels"] == {**SELECTOR, "team": "ml"}
    assert d["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
    assert d["spec"]["selector"]["matchLabels"] == SELECTOR


@helms
def test_service_is_cluster_ip_on_the_http_port(helm):
    svc = one(helm, port=9400).get("Service", "fleet")
    assert svc["spec"] == {
        "type": "ClusterIP",
        "selector": SELECTOR,
        "ports": [{"name": "http", "port": 9400, "targetPort": "http", "protocol": "TCP"}],
    }


def test_metrics_service_targets_the_http_port_and_disappears_when_disabled():
    svc = one(prometheus={"port": 9091}).get("Service", "fleet-metrics")
    assert svc["spec"] == {
        "clusterIP": "None",
        "selector": SELECTOR,
        "ports": [{"name": "metrics", "port": 9091, "targetPort": "http", "protocol": "TCP"}],
    }
    off = one(prometheus={"enabled": False})
    assert off.refs() == ["NetworkPolicy/fleet", "Service/fleet", "Deployment/fleet"]
    assert "--disable-metrics" in args(off.get("Deployment", "fleet"))


@helms
def test_service_monitor_scrapes_metrics_on_the_metrics_service(helm):
    out = one(helm, prometheus={"serviceMonitor": {"enabled": True, "labels": {"release": "p"}}})
    sm = out.get("ServiceMonitor", "fleet")
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert sm["metadata"]["labels"]["release"] == "p"
    selected = sm["spec"]["selector"]["matchLabels"]
    assert selected.items() <= out.get("Service", "fleet-metrics")["metadata"]["labels"].items()
    assert not selected.items() <= out.get("Service", "fleet")["metadata"]["labels"].items()


@helms
def test_service_monitor_without_the_api_fails(helm):
    out = rendered(
        {"coordinators": {"fleet": {"prometheus": {"serviceMonitor": {"enabled": True}}}}},
        helm,
        api_versions=(),
    )
    assert not out.ok
    assert "coordinators.fleet.prometheus.serviceMonitor.enabled" in out.stderr
    assert "--api-versions monitoring.coreos.com/v1" in out.stderr


@helms
def test_engines_referencing_a_coordinator_follow_its_port(helm):
    out = ok(
        {
            "coordinators": {"fleet": {"port": 9555}},
            "engines": {"e": engine(coordinator={"ref": {"name": "fleet"}})},
            "cacheBlendEngines": {
                "b": {
                    "l1": {"sizeGB": 1},
                    "coordinator": {"ref": {"name": "fleet"}, "heartbeatInterval": 3},
                    "injection": {"payloadImage": {"repository": "x"}},
                }
            },
        },
        helm,
    )
    for name, heartbeat in (("e", "5"), ("b", "3")):
        argv = args(out.get("DaemonSet", name))
        assert flag_value(argv, "--coordinator-url") == "http://fleet.llm.svc:9555"
        assert flag_value(argv, "--coordinator-heartbeat-interval") == heartbeat


def test_notes_warn_about_several_replicas_and_a_tight_instance_timeout():
    text = notes(
        {
            "coordinators": {"fleet": {"replicas": 2, "instanceTimeout": 10}},
            "engines": {"e": engine(coordinator={"ref": {"name": "fleet"}})},
        }
    )
    assert "coordinators.fleet.replicas: 2 replicas do not share the in-memory registry" in text
    assert "coordinators.fleet.instanceTimeout: 10s is less than 3x the heartbeat" in text
    assert "Deployment fleet" in text


def test_a_best_effort_coordinator_is_warned_about_by_notes_and_the_post_renderer():
    from lmcache_k8s.relations import BEST_EFFORT_COORDINATOR
    from lmcache_k8s.validate import warn_values
    from tests.support import run_postrender

    warning = f"coordinators.fleet.resources: {BEST_EFFORT_COORDINATOR}"
    bare = {"coordinators": {"fleet": {"resources": {}}}}
    assert [str(w) for w in warn_values(bare)] == [warning]
    assert warning in notes(bare)
    assert warning in run_postrender(ok(bare).stdout).stderr
    # the default requests, or limits alone (Kubernetes copies them to requests), are fine
    for fine in ({}, {"resources": {"limits": {"memory": "1Gi"}}}):
        values = {"coordinators": {"fleet": fine}}
        assert warn_values(values) == [] and "BestEffort" not in notes(values)
        assert "BestEffort" not in run_postrender(ok(values).stdout).stderr
