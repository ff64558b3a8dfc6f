"""The invariants every LMCache engine pod needs are enforced, whatever produced the manifest."""

from __future__ import annotations

import copy

import pytest

from lmcache_k8s.connection import connection_hash
from postrender.invariants import probes, resources_for
from tests.postrender import chartlike
from tests.postrender.helpers import container, hand_written, output_docs, pod, run, vllm


def only(outcome):
    (doc,) = output_docs(outcome)
    return doc


def test_a_hand_written_daemonset_without_host_ipc_is_fixed_and_warned():
    outcome = run(hand_written())
    ds = only(outcome)
    assert pod(ds)["hostIPC"] is True
    assert any(
        "DaemonSet/my-cache: spec.template.spec.hostIPC: set to true" in w for w in outcome.warnings
    )


def test_every_fix_is_one_warning_and_the_result_matches_the_chart_shape():
    outcome = run(hand_written(args=["--port", "5555", "--l1-size-gb", "60"]))
    c = container(only(outcome))
    assert c["args"] == [
        "server",
        "--host", "0.0.0.0",
        "--port", "5555",
        "--http-host", "0.0.0.0",
        "--l1-size-gb", "60",
        "--eviction-policy", "LRU",
    ]  # fmt: skip
    assert c["env"] == [
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"},
    ]
    assert c["ports"] == [
        {"name": "server", "containerPort": 5555, "protocol": "TCP"},
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
    ]
    for key, probe in probes().items():
        assert c[key] == probe
    assert c["resources"] == {
        "requests": {"cpu": "4", "memory": "65Gi"},
        "limits": {"memory": "98Gi"},
    }
    assert len(outcome.warnings) == 12


def test_host_is_added_first_and_http_host_before_http_port():
    outcome = run(hand_written(args=["--port", "7000", "--http-port", "7001", "--l1-size-gb", "1"]))
    args = container(only(outcome))["args"]
    assert args[:3] == ["server", "--host", "0.0.0.0"]
    assert args[5:9] == ["--http-host", "0.0.0.0", "--http-port", "7001"]


def test_flags_spread_over_command_and_args_are_edited_in_place():
    ds = hand_written()
    c = container(ds)
    c["command"] = ["/opt/venv/bin/lmcache", "server", "--l1-size-gb", "2"]
    c["args"] = ["--port", "6000"]
    out = container(only(run(ds)))
    assert out["command"][:4] == ["/opt/venv/bin/lmcache", "server", "--host", "0.0.0.0"]
    assert out["args"][-2:] == ["--eviction-policy", "LRU"]
    assert out["ports"][0]["containerPort"] == 6000


def test_a_repeated_host_0000_is_dropped_to_exactly_one():
    args = ["--host", "0.0.0.0", "--l1-size-gb", "1", "--host=0.0.0.0"]
    outcome = run(hand_written(args=args))
    flags = container(only(outcome))["args"]
    assert sum(1 for a in flags if a.startswith("--host")) == 1
    assert any("removed a repeated --host 0.0.0.0" in w for w in outcome.warnings)


@pytest.mark.parametrize("flag", ["--host", "--http-host"])
@pytest.mark.parametrize("form", ["separate", "inline"])
def test_a_conflicting_bind_address_is_an_error(flag, form):
    extra = [f"{flag}=127.0.0.1"] if form == "inline" else [flag, "127.0.0.1"]
    ds = chartlike.daemonset("my-cache", extra=extra)
    outcome = run(ds)
    assert outcome.output is None
    assert any(
        f"DaemonSet/my-cache: engines.my-cache.extraArgs: {flag} 127.0.0.1 conflicts with {flag} 0.0.0.0"
        in e
        for e in outcome.errors
    ), outcome.errors


def test_an_empty_dir_at_dev_shm_is_an_error():
    ds = chartlike.daemonset("my-cache")
    pod(ds)["volumes"] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
    container(ds)["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm/"}]
    outcome = run(ds)
    assert outcome.output is None
    assert outcome.errors == [
        "DaemonSet/my-cache: engines.my-cache.volumeMounts: container lmcache mounts emptyDir"
        " volume 'shm' at /dev/shm: it hides the host's /dev/shm (shared through hostIPC) and"
        " breaks CUDA IPC; remove the volume and its mount"
    ]


def test_a_host_path_at_dev_shm_is_allowed():
    ds = chartlike.daemonset("my-cache")
    pod(ds)["volumes"] = [{"name": "shm", "hostPath": {"path": "/dev/shm"}}]
    container(ds)["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm"}]
    assert run(ds).ok


def test_nvidia_env_with_another_value_is_reset_after_the_log_level():
    ds = hand_written()
    container(ds)["env"] = [
        {"name": "LMCACHE_LOG_LEVEL", "value": "DEBUG"},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "0"},
        {"name": "MY_VAR", "value": "x"},
    ]
    outcome = run(ds)
    assert container(only(outcome))["env"] == [
        {"name": "LMCACHE_LOG_LEVEL", "value": "DEBUG"},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"},
        {"name": "MY_VAR", "value": "x"},
    ]
    assert any("set NVIDIA_VISIBLE_DEVICES=all" in w for w in outcome.warnings)


def test_wrong_probes_are_replaced():
    ds = chartlike.daemonset("my-cache")
    container(ds)["livenessProbe"] = {"httpGet": {"path": "/", "port": 8080}}
    del container(ds)["readinessProbe"]
    outcome = run(ds)
    c = container(only(outcome))
    assert c["livenessProbe"] == {"tcpSocket": {"port": "server"}, "periodSeconds": 10}
    assert c["readinessProbe"] == {"tcpSocket": {"port": "server"}, "periodSeconds": 5}
    assert len(outcome.warnings) == 2


def test_a_port_flag_patched_by_kustomize_moves_the_container_port():
    ds = chartlike.daemonset("my-cache")
    args = container(ds)["args"]
    args[args.index("--port") + 1] = "6000"
    outcome = run(ds)
    assert container(only(outcome))["ports"][0] == {
        "name": "server",
        "containerPort": 6000,
        "protocol": "TCP",
    }
    assert any("port server set to 6000" in w for w in outcome.warnings)


@pytest.mark.parametrize(
    ("size", "memory", "limit"),
    [(60, "65Gi", "98Gi"), (0.5, "6Gi", "9Gi"), (0.04, "6Gi", "9Gi"), (120, "125Gi", "188Gi")],
)
def test_resources_follow_the_formula(size, memory, limit):
    assert resources_for(size) == {
        "requests": {"cpu": "4", "memory": memory},
        "limits": {"memory": limit},
    }


def test_a_patched_l1_size_gets_matching_resources_with_a_warning():
    ds = chartlike.daemonset("my-cache", size_gb=60)
    args = container(ds)["args"]
    args[args.index("--l1-size-gb") + 1] = "0.5"
    outcome = run(ds)
    assert container(only(outcome))["resources"] == resources_for(0.5)
    assert [w for w in outcome.warnings if "resources" in w] == [
        "DaemonSet/my-cache: spec.template.spec.containers[0].resources: set from"
        " l1.sizeGB=0.5 (requests cpu 4, memory 6Gi; limits memory 9Gi); annotate the workload"
        ' with lmcache.ai/resource-overrides: "true" to keep your own'
    ]


def test_resource_overrides_annotation_keeps_the_users_resources():
    ds = chartlike.daemonset("my-cache")
    ds["metadata"]["annotations"] = {"lmcache.ai/resource-overrides": "true"}
    container(ds)["resources"] = {"limits": {"memory": "300Gi", "nvidia.com/gpu": 1}}
    outcome = run(ds)
    assert outcome.ok and not outcome.changed


def test_cpu_as_a_number_equals_cpu_as_a_string():
    ds = chartlike.daemonset("my-cache")
    container(ds)["resources"]["requests"]["cpu"] = 4
    assert not run(ds).changed


def test_a_coordinator_url_gets_the_advertise_address():
    ds = hand_written(args=["--l1-size-gb", "1", "--coordinator-url", "http://c:9300"])
    env = container(only(run(ds)))["env"]
    assert env[-1] == {
        "name": "LMCACHE_COORDINATOR_ADVERTISE_IP",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    }


def test_coordinators_get_no_gpu_invariants():
    deployment = chartlike.coordinator("fleet")
    outcome = run(deployment)
    assert outcome.ok and not outcome.changed
    assert "hostIPC" not in pod(only(outcome))


def test_a_shell_wrapped_server_is_an_error():
    ds = hand_written()
    container(ds)["command"] = ["/bin/sh", "-c"]
    container(ds)["args"] = ["exec /opt/venv/bin/lmcache server --l1-size-gb 60"]
    outcome = run(ds)
    assert outcome.output is None
    assert any("runs lmcache through a shell string" in e for e in outcome.errors)


def test_a_labelled_engine_without_the_server_is_an_error():
    ds = chartlike.daemonset("my-cache")
    container(ds)["command"] = ["sleep"]
    container(ds)["args"] = ["infinity"]
    outcome = run(ds)
    assert outcome.errors == [
        "DaemonSet/my-cache: engines.my-cache: no container runs `lmcache server`"
    ]


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "Job", "CronJob"])
def test_every_workload_kind_is_managed(kind):
    spec = copy.deepcopy(pod(hand_written()))
    if kind == "Pod":
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    elif kind == "CronJob":
        obj = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "p"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": {"spec": spec}}},
            },
        }
    else:
        obj = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": "p"},
            "spec": {"template": {"spec": spec}},
        }
    outcome = run(obj)
    out = only(outcome)
    spec_out = {
        "Pod": lambda o: o["spec"],
        "CronJob": lambda o: o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    }.get(kind, lambda o: o["spec"]["template"]["spec"])(out)
    assert spec_out["hostIPC"] is True
    assert outcome.warnings[0].startswith(f"{kind}/p: ")


# -- vLLM consumers ---------------------------------------------------------------------


def test_a_vllm_deployment_mounting_the_connection_gets_host_ipc_and_hash_seed():
    outcome = run(*[o for _, o in chartlike.engine_set("my-cache")], vllm())
    deployment = output_docs(outcome)[-1]
    assert pod(deployment)["hostIPC"] is True
    assert container(deployment, 0)["env"] == [{"name": "PYTHONHASHSEED", "value": "0"}]
    assert "env" not in container(deployment, 1)  # the sidecar does not mount it
    assert outcome.warnings[:2] == [
        "Deployment/vllm: spec.template.spec.hostIPC: set to true: it reads my-cache-connection"
        " and exchanges KV data with the engine over CUDA IPC",
        "Deployment/vllm: spec.template.spec.containers[0].env: added PYTHONHASHSEED=0: it reads"
        " my-cache-connection, and vLLM must hash token chunks exactly as LMCache does",
    ]


def test_a_wrong_hash_seed_is_reset():
    consumer = vllm()
    container(consumer)["env"] = [{"name": "PYTHONHASHSEED", "value": "random"}]
    outcome = run(hand_written(), consumer)
    assert container(output_docs(outcome)[1])["env"] == [{"name": "PYTHONHASHSEED", "value": "0"}]
    assert any("set PYTHONHASHSEED=0" in w for w in outcome.warnings)


def test_a_correct_vllm_deployment_is_left_alone():
    consumer = vllm()
    pod(consumer)["hostIPC"] = True
    container(consumer)["env"] = [{"name": "PYTHONHASHSEED", "value": "0"}]
    engine = [o for _, o in chartlike.engine_set("my-cache")]
    (cm,) = [o for o in engine if o["kind"] == "ConfigMap"]
    consumer["spec"]["template"]["metadata"] = {
        "labels": {"app": "vllm", "lmcache.ai/client-of": "my-cache"},
        "annotations": {
            "checksum/my-cache-connection": connection_hash(cm["data"]["kv-transfer-config.json"])
        },
    }
    outcome = run(*engine, consumer)
    assert outcome.ok and not outcome.changed and outcome.warnings == []


def test_a_projected_connection_volume_counts():
    consumer = vllm()
    pod(consumer)["volumes"] = [
        {"name": "kv", "projected": {"sources": [{"configMap": {"name": "my-cache-connection"}}]}}
    ]
    assert pod(output_docs(run(hand_written(), consumer))[1])["hostIPC"] is True


def test_a_connection_of_an_engine_not_in_the_stream_is_ignored():
    outcome = run(hand_written("other"), vllm())
    assert "hostIPC" not in pod(output_docs(outcome)[1])


def test_a_consumer_in_another_namespace_is_ignored():
    engine = chartlike.daemonset("my-cache")  # namespace llm
    consumer = vllm()
    consumer["metadata"]["namespace"] = "elsewhere"
    outcome = run(engine, consumer)
    assert outcome.ok and not outcome.changed
