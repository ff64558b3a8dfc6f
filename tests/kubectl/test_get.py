"""`kubectl lmcache get` against the chart's real objects in a fake API over TLS."""

from __future__ import annotations

import json

import pytest
import yaml

from .cluster import NAMESPACE
from .conftest import Api


def rows(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    return {line.split()[0]: line.split() for line in lines[1:]}


def status_of(api: Api, name: str) -> dict:
    return json.loads(api.run("get", name, "-o", "json").out)["status"]


@pytest.fixture
def installed(api: Api) -> Api:
    api.cluster.install()
    return api


def test_a_fresh_install_is_pending_with_nothing_scheduled(installed: Api):
    result = installed.run("get")
    assert result.code == 0, result.err
    table = rows(result.out)
    assert table["my-cache"][1:5] == ["LMCacheEngine", "Pending", "0", "0"]
    assert table["blend"][1:5] == ["CacheBlendEngine", "Pending", "0", "0"]
    assert table["my-coordinator"][1:6] == [
        "LMCacheCoordinator",
        "Pending",
        "0",
        "1",
        "http://my-coordinator.capture.svc:9301",
    ]


@pytest.mark.parametrize(
    ("desired", "ready", "phase", "available", "all_ready"),
    [
        (0, 0, "Pending", "False", "False"),
        (3, 0, "Pending", "False", "False"),
        (3, 1, "Degraded", "True", "False"),
        (3, 3, "Running", "True", "True"),
    ],
)
def test_engine_phase_follows_the_daemonset(
    installed: Api, desired, ready, phase, available, all_ready
):
    installed.cluster.schedule("my-cache", desired, ready)
    status = status_of(installed, "my-cache")
    assert (status["phase"], status["readyInstances"], status["desiredInstances"]) == (
        phase,
        ready,
        desired,
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["status"] == available
    assert conditions["AllInstancesReady"]["status"] == all_ready
    assert conditions["Available"]["message"] == f"{ready}/{desired} instances ready"
    assert conditions["ConfigValid"]["status"] == "True"
    assert len(status["endpoints"]) == desired
    assert sum(e["ready"] for e in status["endpoints"]) == ready


def test_engine_goes_degraded_then_running_as_pods_become_ready(installed: Api):
    seen = []
    for ready in (0, 1, 2, 3, 2):
        installed.cluster.schedule("my-cache", 3, ready)
        seen.append(status_of(installed, "my-cache")["phase"])
    assert seen == ["Pending", "Degraded", "Degraded", "Running", "Degraded"]


@pytest.mark.parametrize(
    ("replicas", "ready", "phase"),
    [(0, 0, "Pending"), (1, 0, "Pending"), (2, 1, "Degraded"), (1, 1, "Running")],
)
def test_coordinator_phase_follows_the_deployment(installed: Api, replicas, ready, phase):
    installed.cluster.scale("my-coordinator", replicas, ready)
    status = status_of(installed, "my-coordinator")
    assert (status["phase"], status["replicas"], status["readyReplicas"]) == (
        phase,
        replicas,
        ready,
    )
    assert status["endpoint"] == "http://my-coordinator.capture.svc:9301"


def test_a_deleted_workload_is_pending_and_says_so(installed: Api):
    installed.cluster.schedule("my-cache", 3, 3)
    installed.state.delete("DaemonSet", NAMESPACE, "my-cache")
    status = status_of(installed, "my-cache")
    assert (status["phase"], status["readyInstances"], status["desiredInstances"]) == (
        "Pending",
        0,
        0,
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["ConfigValid"]["status"] == "Unknown"
    assert "DaemonSet my-cache not found" in installed.run("describe", "my-cache").out


def test_an_engine_whose_hostipc_was_edited_away_fails_with_the_post_renderers_words(
    installed: Api,
):
    installed.cluster.schedule("my-cache", 3, 3)
    del installed.cluster.obj("DaemonSet", "my-cache")["spec"]["template"]["spec"]["hostIPC"]
    status = status_of(installed, "my-cache")
    assert status["phase"] == "Failed"
    valid = next(c for c in status["conditions"] if c["type"] == "ConfigValid")
    assert (valid["status"], valid["reason"]) == ("False", "ValidationFailed")
    assert valid["message"] == (
        "DaemonSet/my-cache: spec.template.spec.hostIPC: set to true: vLLM and LMCache share KV"
        " data over CUDA IPC, which needs the host IPC namespace"
    )
    assert rows(installed.run("get").out)["my-cache"][2] == "Failed"
    # the other workloads of the namespace are not blamed
    assert status_of(installed, "blend")["phase"] == "Pending"


def test_an_invalid_value_fails_with_the_values_path(installed: Api):
    args = installed.cluster.obj("DaemonSet", "my-cache")["spec"]["template"]["spec"]["containers"][
        0
    ]["args"]
    args[args.index("--l1-size-gb") + 1] = "0"
    valid = next(
        c for c in status_of(installed, "my-cache")["conditions"] if c["type"] == "ConfigValid"
    )
    assert (
        valid["message"]
        == "DaemonSet/my-cache: engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)"
    )


def test_a_metrics_service_pointing_elsewhere_fails_the_engine(installed: Api):
    service = installed.cluster.obj("Service", "my-cache-metrics")
    service["spec"]["ports"][0]["targetPort"] = 9999
    valid = next(
        c for c in status_of(installed, "my-cache")["conditions"] if c["type"] == "ConfigValid"
    )
    assert valid["status"] == "False"
    assert "sends scrapes to targetPort 9999" in valid["message"]


def test_json_lists_every_object_in_the_operators_shape(installed: Api):
    document = json.loads(installed.run("get", "-o", "json").out)
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    assert [(i["kind"], i["metadata"]["name"]) for i in document["items"]] == [
        ("CacheBlendEngine", "blend"),
        ("LMCacheEngine", "my-cache"),
        ("LMCacheCoordinator", "my-coordinator"),
    ]
    for item in document["items"]:
        assert item["apiVersion"] == "lmcache.lmcache.ai/v1alpha1"
        assert set(item["metadata"]) == {
            "name",
            "namespace",
            "creationTimestamp",
            "generation",
            "labels",
        }
        assert {c["type"] for c in item["status"]["conditions"]} == {
            "Available",
            "AllInstancesReady",
            "ConfigValid",
        }
        assert item["status"]["observedGeneration"] == 1


def test_yaml_is_the_same_document(installed: Api):
    as_yaml = yaml.safe_load(installed.run("get", "-o", "yaml").out)
    as_json = json.loads(installed.run("get", "-o", "json").out)
    assert as_yaml == as_json


def test_wide_adds_config_and_release(installed: Api):
    out = installed.run("get", "-o", "wide").out
    assert out.splitlines()[0].split()[-2:] == ["CONFIG", "RELEASE"]
    assert rows(out)["my-cache"][-2:] == ["Valid", "cap"]


def test_all_namespaces_adds_the_namespace_column(installed: Api):
    installed.cluster.install(namespace="other")
    result = installed.run("get", "-A")
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert sorted((line.split()[0], line.split()[1]) for line in lines[1:]) == [
        ("capture", "blend"),
        ("capture", "my-cache"),
        ("capture", "my-coordinator"),
        ("other", "blend"),
        ("other", "my-cache"),
        ("other", "my-coordinator"),
    ]
    assert all("/namespaces/" not in c.path for c in installed.state.calls)
    only_other = rows(installed.run("get", "-n", "other").out)
    assert set(only_other) == {"blend", "my-cache", "my-coordinator"}


def test_one_list_call_per_kind_with_the_charts_selector(installed: Api):
    installed.cluster.schedule("my-cache", 3, 3)
    installed.state.calls.clear()
    assert installed.run("get").code == 0
    paths = sorted(c.path for c in installed.state.calls)
    assert paths == [
        "/api/v1/namespaces/capture/configmaps",
        "/api/v1/namespaces/capture/services",
        "/apis/apps/v1/namespaces/capture/daemonsets",
        "/apis/apps/v1/namespaces/capture/deployments",
    ]
    for call in installed.state.calls:
        assert call.query["labelSelector"] == (
            "app.kubernetes.io/name=lmcache,"
            "app.kubernetes.io/component in (cache-engine,cacheblend-engine,coordinator)"
        )


def test_forbidden_daemonsets_are_reported_and_the_rest_is_shown(installed: Api):
    installed.cluster.schedule("my-cache", 3, 3)
    installed.state.deny("list", "daemonsets")
    result = installed.run("get")
    assert result.code == 1
    assert 'forbidden: cannot list daemonsets.apps in namespace "capture"' in result.err
    assert "engines show phase Unknown" in result.err
    table = rows(result.out)
    assert table["my-cache"][2:5] == ["Unknown", "?", "?"]
    assert table["my-coordinator"][2] == "Pending"


def test_forbidden_configmaps_make_configvalid_unknown_not_failed(installed: Api):
    installed.cluster.schedule("my-cache", 3, 3)
    installed.state.deny("list", "configmaps")
    result = installed.run("get", "my-cache", "-o", "json")
    assert result.code == 1
    status = json.loads(result.out)["status"]
    assert status["phase"] == "Running"
    valid = next(c for c in status["conditions"] if c["type"] == "ConfigValid")
    assert (valid["status"], valid["message"]) == ("Unknown", "cannot list configmaps: forbidden")


def test_nothing_installed_says_so(api: Api):
    result = api.run("get")
    assert (result.code, result.out) == (0, "")
    assert result.err == "No LMCache engines or coordinators found in namespace capture.\n"


def test_an_unknown_name_is_an_error(installed: Api):
    result = installed.run("get", "nope")
    assert result.code == 1
    assert result.err == "error: nope not found in namespace capture\n"
    assert installed.run("get", "lmcc/my-cache").code == 1  # right name, wrong kind
    bad = installed.run("get", "pod/my-cache")
    assert bad.code == 1 and "unknown kind 'pod'" in bad.err


def test_the_contexts_namespace_is_the_default(installed: Api):
    result = installed.run("--context", "fake-default-ns", "get")
    assert result.err == "No LMCache engines or coordinators found in namespace default.\n"


def test_connection_flags_go_before_or_after_the_command(installed: Api):
    installed.cluster.install(namespace="other")
    before = installed.run("-n", "other", "get", "-o", "json")
    after = installed.run("get", "-o", "json", "--namespace", "other")
    assert before.out == after.out
    assert {i["metadata"]["namespace"] for i in json.loads(before.out)["items"]} == {"other"}
