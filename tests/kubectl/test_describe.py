"""`kubectl lmcache describe`: conditions, endpoints, consumers (wired, skipped, stale), events."""

from __future__ import annotations

import json

import pytest

from lmcache_k8s.connection import canonical_json, connection_hash

from .cluster import NAMESPACE, STARTED, vllm_pod
from .conftest import Api

UPGRADED = "2026-11-29T18:10:00Z"  # after the vLLM pods started


@pytest.fixture
def installed(api: Api) -> Api:
    api.cluster.install()
    api.cluster.schedule("my-cache", 3, 3)
    api.cluster.schedule("blend", 3, 3)
    api.cluster.scale("my-coordinator", 1, 1)
    return api


def section(out: str, title: str) -> str:
    start = out.index(title)
    rest = out[start + len(title) :]
    ends = [
        i
        for i in (rest.find("\nEvents"), rest.find("\nNotes:"), rest.find("\nNot checked:"))
        if i >= 0
    ]
    return rest[: min(ends)] if ends else rest


def consumer_rows(out: str) -> dict[str, list[str]]:
    lines = section(out, "Consumers:\n").splitlines()
    return {
        line.split()[1]: line.split()
        for line in lines[1:]
        if line.startswith("  ") and not line.startswith("    ") and not line.strip().endswith(":")
    }


def kv_of(api: Api, engine: str) -> str:
    return api.cluster.obj("ConfigMap", f"{engine}-connection")["data"]["kv-transfer-config.json"]


def test_describe_shows_status_conditions_release_and_endpoints(installed: Api):
    result = installed.run("describe", "my-cache")
    assert result.code == 0, result.err
    out = result.out
    assert "Kind:         LMCacheEngine\n" in out
    assert "Release:      cap (chart lmcache-0.1.0)\n" in out
    assert "Workload:     DaemonSet/my-cache (generation 1, observed 1)\n" in out
    assert "Coordinator:  http://my-coordinator.capture.svc:9301\n" in out
    assert f"hash {connection_hash(kv_of(installed, 'my-cache'))}" in out
    assert "  Phase:                Running\n" in out
    conditions = section(out, "Conditions:\n").split("Endpoints:")[0].splitlines()
    assert [line.split()[:3] for line in conditions[1:]] == [
        ["Available", "True", "AtLeastOneReady"],
        ["AllInstancesReady", "True", "AllReady"],
        ["ConfigValid", "True", "Valid"],
    ]
    endpoints = section(out, "Endpoints:\n").split("Consumers:")[0].splitlines()[1:]
    assert [line.split()[0] for line in endpoints] == ["gpu-node-1", "gpu-node-2", "gpu-node-3"]
    assert "Consumers:    <none>" in out


def test_a_pod_mounting_the_connection_before_an_upgrade_is_current(installed: Api):
    installed.state.put(vllm_pod("vllm-6d4b9c7f8d-a", mount="my-cache-connection"))
    row = consumer_rows(installed.run("describe", "my-cache").out)["vllm-6d4b9c7f8d-a"]
    assert row[:5] == [NAMESPACE, "vllm-6d4b9c7f8d-a", "gpu-node-1", "mounted", "current"]


def test_a_pod_started_before_the_connection_changed_is_stale_with_the_roll_command(installed: Api):
    installed.state.put(vllm_pod("vllm-6d4b9c7f8d-a", mount="my-cache-connection"))
    installed.cluster.rewrite_connection("my-cache", "5556", UPGRADED)
    out = installed.run("describe", "my-cache").out
    assert consumer_rows(out)["vllm-6d4b9c7f8d-a"][3:5] == ["mounted", "stale"]
    assert f"ConfigMap data written {UPGRADED}, after the container started {STARTED}" in out
    assert "roll Deployment/vllm: kubectl rollout restart deployment/vllm -n capture" in out


def test_a_pod_reading_the_connection_through_envfrom_is_wired_by_env(installed: Api):
    installed.state.put(vllm_pod("vllm-6d4b9c7f8d-e", env_from="my-cache-connection"))
    row = consumer_rows(installed.run("describe", "my-cache").out)["vllm-6d4b9c7f8d-e"]
    assert row[3:5] == ["env", "current"]


def injected_pod(
    api: Api, name: str, engine: str, *, kv: str, namespace: str = NAMESPACE, hash_annotation: bool
):
    annotations = {
        "lmcache.ai/cacheblend-engine": engine,
        "lmcache.ai/cacheblend-injected": "true",
    }
    if hash_annotation:
        annotations["lmcache.ai/connection-hash"] = connection_hash(kv)
    pod = vllm_pod(
        name,
        namespace,
        annotations=annotations,
        labels={"lmcache.ai/cacheblend-inject": "true"},
        args=["--model", "m", "--kv-transfer-config", canonical_json(json.loads(kv))],
    )
    api.state.put(pod)


@pytest.mark.parametrize("hash_annotation", [True, False], ids=["annotation", "args"])
def test_an_injected_pod_is_current_until_the_connection_changes(installed: Api, hash_annotation):
    injected_pod(
        installed,
        "vllm-6d4b9c7f8d-i",
        "blend",
        kv=kv_of(installed, "blend"),
        hash_annotation=hash_annotation,
    )
    row = consumer_rows(installed.run("describe", "blend").out)["vllm-6d4b9c7f8d-i"]
    assert row[3:5] == ["injected", "current"]
    installed.cluster.rewrite_connection("blend", "6000", UPGRADED)
    out = installed.run("describe", "blend").out
    assert consumer_rows(out)["vllm-6d4b9c7f8d-i"][3:5] == ["injected", "stale"]
    new = connection_hash(kv_of(installed, "blend"))
    assert f"the ConfigMap now {new}" in out
    assert "kubectl rollout restart deployment/vllm -n capture" in out


def test_an_injected_pod_in_another_namespace_is_found(installed: Api):
    injected_pod(
        installed,
        "vllm-6d4b9c7f8d-x",
        "capture/blend",
        kv=kv_of(installed, "blend"),
        namespace="apps",
        hash_annotation=True,
    )
    rows = consumer_rows(installed.run("describe", "blend").out)
    assert rows["vllm-6d4b9c7f8d-x"][0] == "apps"
    assert rows["vllm-6d4b9c7f8d-x"][3:5] == ["injected", "current"]
    assert "vllm-6d4b9c7f8d-x" not in installed.run("describe", "my-cache").out


def test_a_skipped_pod_shows_the_webhooks_reason(installed: Api):
    pod = vllm_pod(
        "vllm-6d4b9c7f8d-s",
        annotations={
            "lmcache.ai/cacheblend-engine": "blend",
            "lmcache.ai/cacheblend-skip-reason": "command-override",
        },
        labels={"lmcache.ai/cacheblend-inject": "true"},
    )
    installed.state.put(pod)
    row = consumer_rows(installed.run("describe", "blend").out)["vllm-6d4b9c7f8d-s"]
    assert row[3:] == ["skipped", "-", "command-override"]


def test_a_plain_lmcache_skip_is_reported_by_its_own_annotation(installed: Api):
    pod = vllm_pod(
        "vllm-6d4b9c7f8d-p",
        annotations={
            "lmcache.ai/lmcache-engine": "my-cache",
            "lmcache.ai/lmcache-skip-reason": "kv-transfer-config-present",
        },
        labels={"lmcache.ai/lmcache-inject": "true"},
    )
    installed.state.put(pod)
    row = consumer_rows(installed.run("describe", "my-cache").out)["vllm-6d4b9c7f8d-p"]
    assert row[3:] == ["skipped", "-", "kv-transfer-config-present"]


def test_a_pod_that_asked_for_an_engine_but_lacks_the_opt_in_label_is_not_injected(installed: Api):
    installed.state.put(
        vllm_pod("vllm-6d4b9c7f8d-n", annotations={"lmcache.ai/cacheblend-engine": "blend"})
    )
    out = installed.run("describe", "blend").out
    assert consumer_rows(out)["vllm-6d4b9c7f8d-n"][3:5] == ["not-injected", "-"]
    assert "the pod lacks the label lmcache.ai/cacheblend-inject=true" in out


def test_wiring_problems_of_a_consumer_are_listed(installed: Api):
    installed.state.put(
        vllm_pod(
            "vllm-6d4b9c7f8d-b",
            mount="my-cache-connection",
            host_ipc=False,
            hash_seed=False,
            node="cpu-node-9",
        )
    )
    out = installed.run("describe", "my-cache").out
    assert "hostIPC is not true: CUDA IPC with the engine fails" in out
    assert "PYTHONHASHSEED is not 0 in container vllm" in out
    assert "no ready my-cache pod on node cpu-node-9" in out


def test_pods_of_other_engines_and_unrelated_pods_are_not_consumers(installed: Api):
    installed.state.put(vllm_pod("vllm-6d4b9c7f8d-o", mount="blend-connection"))
    installed.state.put(vllm_pod("web-1", owner=None))
    out = installed.run("describe", "my-cache").out
    assert "Consumers:    <none>" in out


def test_describe_shows_the_workloads_warning_events_newest_first(installed: Api):
    for i, (reason, when) in enumerate(
        [("FailedCreate", "2026-11-29T18:07:57Z"), ("BackOff", "2026-11-29T18:11:00Z")]
    ):
        installed.state.put(
            {
                "kind": "Event",
                "metadata": {"name": f"my-cache.{i}", "namespace": NAMESPACE},
                "involvedObject": {
                    "kind": "DaemonSet" if i == 0 else "Pod",
                    "namespace": NAMESPACE,
                    "name": "my-cache" if i == 0 else "my-cache-00000",
                },
                "reason": reason,
                "message": f"{reason} happened",
                "type": "Warning",
                "count": 3,
                "lastTimestamp": when,
            }
        )
    installed.state.put(
        {
            "kind": "Event",
            "metadata": {"name": "other.1", "namespace": NAMESPACE},
            "involvedObject": {"kind": "DaemonSet", "namespace": NAMESPACE, "name": "blend"},
            "reason": "FailedCreate",
            "message": "not mine",
            "type": "Warning",
            "lastTimestamp": "2026-11-29T18:11:00Z",
        }
    )
    out = installed.run("describe", "my-cache").out
    events = out.split("Events (Warning):\n")[1].splitlines()
    assert [line.split()[2] for line in events[1:]] == ["BackOff", "FailedCreate"]
    assert "not mine" not in out
    assert any(
        c.query.get("fieldSelector") == "type=Warning" for c in installed.state.calls_to("/events")
    )


def test_describe_a_coordinator_lists_its_pods_and_engines(installed: Api):
    out = installed.run("describe", "my-coordinator").out
    assert "Kind:         LMCacheCoordinator\n" in out
    assert "Endpoint:     http://my-coordinator.capture.svc:9301\n" in out
    assert "  Replicas:             1\n" in out
    assert "my-coordinator-74c569df4f-00000" in out
    assert "Engines:      my-cache (LMCacheEngine)\n" in out


def test_describe_without_permission_for_events_or_pods_says_what_it_could_not_check(
    installed: Api,
):
    installed.state.deny("list", "events")
    installed.state.deny("list", "pods", "")
    result = installed.run("describe", "my-cache")
    assert result.code == 0
    checked = result.out.split("Not checked:\n")[1]
    assert 'events: forbidden: cannot list events in namespace "capture"' in checked
    assert "consumers in other namespaces" in checked


def test_describe_an_unknown_name_fails(installed: Api):
    result = installed.run("describe", "nope")
    assert (result.code, result.err) == (1, "error: nope not found in namespace capture\n")


def test_a_consumer_of_an_isolated_engine_needs_no_host_ipc(api: Api):
    values = {"engines": {"my-cache": {"l1": {"sizeGB": 1}, "ipc": "isolated"}}}
    api.cluster.install(values=values)
    api.cluster.schedule("my-cache", 1, 1)
    api.state.put(vllm_pod("vllm-6d4b9c7f8d-i", mount="my-cache-connection", host_ipc=False))
    out = api.run("describe", "my-cache").out
    assert "vllm-6d4b9c7f8d-i" in out
    assert "hostIPC is not true" not in out
