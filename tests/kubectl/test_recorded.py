"""The plugin on what a real API server answered after `helm install` (tests/testdata).

One engine `my-cache` on 3 GPU nodes with 2 pods Ready (desired 3, ready 2), and a
coordinator whose only pod is Pending; the DaemonSet's events hold the FailedCreate
warnings from before the `nvidia` RuntimeClass existed.
"""

from __future__ import annotations

import json

import pytest

from .cluster import recorded
from .conftest import Api


@pytest.fixture
def captured(api: Api) -> Api:
    for name in (
        "list-daemonsets.json",
        "list-deployments.json",
        "list-pods.json",
        "list-configmaps.json",
        "list-events.json",
    ):
        api.state.load_list(recorded(name))
    return api


def test_get_shows_the_engine_degraded_and_the_coordinator_pending(captured: Api):
    result = captured.run("get")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "PHASE", "READY", "DESIRED", "ENDPOINT", "AGE"]
    assert lines[1].split() == [
        "my-cache",
        "LMCacheEngine",
        "Degraded",
        "2",
        "3",
        "tcp://my-cache.capture.svc.cluster.local:5555",
        "5m",
    ]
    assert lines[2].split() == [
        "my-coordinator",
        "LMCacheCoordinator",
        "Pending",
        "0",
        "1",
        "http://my-coordinator.capture.svc:9301",
        "5m",
    ]


def test_the_live_objects_of_a_clean_install_pass_the_post_renderers_checks(captured: Api):
    """Server-filled defaults (probe timeoutSeconds, port protocol...) are no violation."""
    objects = json.loads(captured.run("get", "-o", "json").out)["items"]
    for item in objects:
        valid = next(c for c in item["status"]["conditions"] if c["type"] == "ConfigValid")
        assert (valid["status"], valid["reason"]) == ("True", "Valid"), valid["message"]


def test_describe_reaches_the_runtimeclass_sentence_helm_never_showed(captured: Api):
    result = captured.run("describe", "my-cache")
    assert result.code == 0, result.err
    assert 'pod rejected: RuntimeClass "nvidia" not found' in result.out
    events = result.out.split("Events (Warning):\n")[1]
    assert "FailedCreate" in events and "DaemonSet/my-cache" in events
    assert "SuccessfulCreate" not in result.out  # Normal events are not warnings


def test_describe_lists_one_endpoint_per_node_with_readiness(captured: Api):
    out = captured.run("describe", "my-cache").out
    endpoints = out.split("Endpoints:\n")[1].split("Consumers:")[0].splitlines()
    assert endpoints[0].split() == ["NODE", "HOST", "IP", "POD", "PORT", "METRICS", "PORT", "READY"]
    rows = [line.split() for line in endpoints[1:]]
    assert rows == [
        ["gpu-node-1", "192.0.2.11", "my-cache-hd7hj", "5555", "8080", "true"],
        ["gpu-node-2", "192.0.2.12", "my-cache-vk26t", "5555", "8080", "true"],
        ["gpu-node-3", "192.0.2.13", "my-cache-x7s2n", "5555", "8080", "false"],
    ]


def test_json_status_is_shaped_like_the_operators(captured: Api):
    engine = json.loads(captured.run("get", "lmc/my-cache", "-o", "json").out)
    assert engine["kind"] == "LMCacheEngine"
    assert engine["metadata"]["name"] == "my-cache"
    status = engine["status"]
    assert list(status) == [
        "phase",
        "readyInstances",
        "desiredInstances",
        "endpoints",
        "conditions",
        "observedGeneration",
    ]
    assert (status["phase"], status["readyInstances"], status["desiredInstances"]) == (
        "Degraded",
        2,
        3,
    )
    assert status["endpoints"][2] == {
        "nodeName": "gpu-node-3",
        "hostIP": "192.0.2.13",
        "podName": "my-cache-x7s2n",
        "port": 5555,
        "metricsPort": 8080,
        "ready": False,
    }
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("Available", "True", "AtLeastOneReady", "2/3 instances ready"),
        ("AllInstancesReady", "False", "NotAllReady", "2/3 instances ready"),
        ("ConfigValid", "True", "Valid", "the post-renderer's checks pass on the live objects"),
    ]
    coordinator = json.loads(captured.run("get", "lmcc/my-coordinator", "-o", "json").out)
    assert coordinator["status"] == {
        "phase": "Pending",
        "replicas": 1,
        "readyReplicas": 0,
        "endpoint": "http://my-coordinator.capture.svc:9301",
        "conditions": coordinator["status"]["conditions"],
        "observedGeneration": 1,
    }


def test_a_service_account_without_rbac_for_daemonsets_is_told_so(captured: Api):
    """The 403 body is the recorded one; the plugin reports it and keeps going."""
    captured.state.user = "system:serviceaccount:capture:nobody"
    captured.state.deny("list", "daemonsets", "capture")
    result = captured.run("get")
    assert result.code == 1
    expected = recorded("status-403-list-daemonsets.json")["message"]
    said = expected.partition(" is forbidden: ")[2]
    assert said in result.err
    assert 'RBAC verb "list" on daemonsets.apps is needed' in result.err
    assert "my-coordinator" in result.out  # the rest is still shown
