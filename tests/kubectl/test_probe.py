"""`--probe`: engine /status and coordinator /instances through the API server's proxy."""

from __future__ import annotations

import json

import pytest

from kubectl_lmcache.probe import coordinator_service, parse_engine_status

from .cluster import NAMESPACE
from .conftest import Api

GIB = 1024**3


def engine_status(used_gib: float, sessions: int) -> dict:
    """The shape lmcache 0.5.6's MPCacheServer.report_status() returns (abridged)."""
    return {
        "is_healthy": True,
        "engine_type": "MPCacheServer",
        "chunk_size": 256,
        "hash_algorithm": "blake3",
        "active_sessions": sessions,
        "storage_manager": {
            "is_healthy": True,
            "l1_usage": [int(used_gib * GIB), 20 * GIB],
            "l1_capacity_bytes_by_backend": {"cpu": 20 * GIB},
            "num_l2_adapters": 0,
        },
    }


@pytest.fixture
def probed(api: Api) -> Api:
    api.cluster.install()
    api.cluster.schedule("my-cache", 3, 3)
    api.cluster.scale("my-coordinator", 1, 1)
    for i, pod in enumerate(api.cluster.engine_pods("my-cache")):
        name = pod["metadata"]["name"]
        api.state.proxy[("pods", NAMESPACE, name, "8080", "/status")] = (
            200,
            engine_status(1.5 * (i + 1), i),
        )
    instances = [
        {"instance_id": f"mp-{n}", "ip": f"10.244.{n}.7", "http_port": 8080, "metadata": {}}
        for n in (1, 2)  # the pod on gpu-node-3 has not registered
    ]
    api.state.proxy[("services", NAMESPACE, "my-coordinator", "9301", "/instances")] = (
        200,
        {"instances": instances},
    )
    return api


def test_get_probe_sums_usage_sessions_and_registrations(probed: Api):
    result = probed.run("get", "--probe")
    assert result.code == 0, result.err
    lines = {line.split()[0]: line.split() for line in result.out.splitlines()}
    assert lines["NAME"][-3:] == ["L1-USED", "SESSIONS", "REGISTERED"]
    assert lines["my-cache"][-3:] == ["9.0/60.0GiB", "3", "2/3"]
    assert lines["my-coordinator"][-3:] == ["-", "-", "2"]
    paths = {c.path for c in probed.state.calls_to("/proxy/")}
    assert paths == {
        "/api/v1/namespaces/capture/pods/my-cache-00000:8080/proxy/status",
        "/api/v1/namespaces/capture/pods/my-cache-00001:8080/proxy/status",
        "/api/v1/namespaces/capture/pods/my-cache-00002:8080/proxy/status",
        "/api/v1/namespaces/capture/services/my-coordinator:9301/proxy/instances",
    }


def test_describe_probe_shows_each_pod(probed: Api):
    out = probed.run("describe", "my-cache", "--probe").out
    endpoints = out.split("Endpoints:\n")[1].split("Consumers:")[0].splitlines()
    assert endpoints[0].split()[-6:] == ["L1", "USED", "SESSIONS", "REGISTERED", "PROBE", "ERROR"]
    rows = [line.split() for line in endpoints[1:]]
    assert [r[6:9] for r in rows] == [
        ["1.5/20.0GiB", "0", "yes"],
        ["3.0/20.0GiB", "1", "yes"],
        ["4.5/20.0GiB", "2", "NO"],
    ]


def test_json_probe_fields(probed: Api):
    status = json.loads(probed.run("get", "my-cache", "-o", "json", "--probe").out)["status"]
    assert status["endpoints"][0]["probe"] == {
        "l1UsedBytes": int(1.5 * GIB),
        "l1CapacityBytes": 20 * GIB,
        "activeSessions": 0,
        "healthy": True,
        "registered": True,
    }
    coordinator = json.loads(probed.run("get", "my-coordinator", "-o", "json", "--probe").out)
    assert coordinator["status"]["registeredInstances"] == 2


def test_a_proxy_the_user_may_not_use_is_reported_per_pod(probed: Api):
    probed.state.deny("get", "pods/proxy")
    result = probed.run("describe", "my-cache", "--probe")
    assert result.code == 0
    assert "forbidden (needs get on pods/proxy)" in result.out
    assert 'cannot get resource "pods/proxy"' in result.out
    lines = {
        line.split()[0]: line.split() for line in probed.run("get", "--probe").out.splitlines()
    }
    assert lines["my-cache"][-3:] == ["?", "?", "?"]


def test_a_server_not_answering_is_reported(probed: Api):
    del probed.state.proxy[("pods", NAMESPACE, "my-cache-00002", "8080", "/status")]
    out = probed.run("describe", "my-cache", "--probe").out
    assert "503 ServiceUnavailable: error trying to reach service" in out


def test_engine_status_parsing_handles_the_single_l1_form():
    body = json.dumps(
        {
            "active_sessions": 1,
            "storage_manager": {"l1_manager": {"memory_used_bytes": 5, "memory_total_bytes": 9}},
        }
    ).encode()
    result = parse_engine_status(body)
    assert (result.l1_used_bytes, result.l1_capacity_bytes, result.active_sessions) == (5, 9, 1)
    assert parse_engine_status(b"<html>").error == "/status did not return JSON"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://my-coordinator.capture.svc:9301", ("capture", "my-coordinator", 9301)),
        ("http://c.other.svc.cluster.local:9300", ("other", "c", 9300)),
        ("http://c.other:80", ("other", "c", 80)),
        ("http://c:9300", ("capture", "c", 9300)),
        ("http://10.0.0.5:9300", None),
        ("https://coordinator.example.com", None),
    ],
)
def test_coordinator_urls_that_name_a_service(url, expected):
    assert coordinator_service(url, "capture") == expected


def test_a_coordinator_not_answering_leaves_registration_unknown_and_says_why(probed: Api):
    del probed.state.proxy[("services", NAMESPACE, "my-coordinator", "9301", "/instances")]
    out = probed.run("describe", "my-cache", "--probe").out
    rows = out.split("Endpoints:\n")[1].split("Consumers:")[0].splitlines()[1:]
    assert {line.split()[8] for line in rows} == {"-"}
    assert (
        "registration unknown: http://my-coordinator.capture.svc:9301/instances: 503"
        " ServiceUnavailable" in out
    )
