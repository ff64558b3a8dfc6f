"""ipc: isolated: the engine rules about hostIPC and /dev/shm flip, and consumers get theirs."""

from __future__ import annotations

from postrender.invariants import SHM_VOLUME, isolated_connection, isolated_consumer
from tests.postrender.helpers import container, hand_written, output_docs, pod, run

ISOLATED = ["--port", "5555", "--l1-size-gb", "60", "--isolated-ipc"]


def test_an_isolated_engine_gets_no_host_ipc():
    outcome = run(hand_written(args=ISOLATED))
    (ds,) = output_docs(outcome)
    assert "hostIPC" not in pod(ds)
    assert not any("hostIPC" in w for w in outcome.warnings)


def test_host_ipc_on_an_isolated_engine_is_removed_with_a_warning():
    ds = hand_written(args=ISOLATED)
    pod(ds)["hostIPC"] = True
    outcome = run(ds)
    (out,) = output_docs(outcome)
    assert "hostIPC" not in pod(out)
    assert any(
        "spec.template.spec.hostIPC: removed: the server runs with --isolated-ipc" in w
        for w in outcome.warnings
    )


def test_an_isolated_engine_may_have_its_own_memory_backed_dev_shm():
    ds = hand_written(args=ISOLATED)
    pod(ds)["volumes"] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
    container(ds)["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm"}]
    assert run(ds).errors == []


def test_the_same_dev_shm_on_a_host_ipc_engine_stays_an_error():
    ds = hand_written(args=ISOLATED[:-1])
    pod(ds)["volumes"] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
    container(ds)["volumeMounts"] = [{"name": "shm", "mountPath": "/dev/shm"}]
    assert any("hides the host's /dev/shm" in e for e in run(ds).errors)


def test_isolated_connection_reads_the_configmap_key_like_the_connector():
    assert isolated_connection({"kv_connector_extra_config": {"lmcache.mp.isolated_ipc": True}})
    assert isolated_connection({"kv_connector_extra_config": {"lmcache.mp.isolated_ipc": "on"}})
    assert not isolated_connection({"kv_connector_extra_config": {}})
    assert not isolated_connection({})


def test_an_isolated_consumer_loses_host_ipc_and_gets_a_private_dev_shm():
    spec = {"hostIPC": True, "containers": [{"name": "vllm"}, {"name": "sidecar"}]}
    issues = isolated_consumer(spec, "spec.template.spec", "32Gi")
    assert "hostIPC" not in spec
    assert spec["volumes"] == [
        {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}}
    ]
    for c in spec["containers"]:
        assert c["volumeMounts"] == [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    assert [i.path for i in issues] == ["spec.template.spec.hostIPC", "spec.template.spec.volumes"]
    # A second pass changes nothing: the post-renderer is a fixed point.
    assert isolated_consumer(spec, "spec.template.spec", "32Gi") == []


def test_an_isolated_consumer_with_a_disk_backed_dev_shm_is_reported():
    spec = {
        "containers": [{"name": "vllm", "volumeMounts": [{"name": "d", "mountPath": "/dev/shm"}]}],
        "volumes": [{"name": "d", "emptyDir": {}}],
    }
    (issue,) = isolated_consumer(spec, "spec", "16Gi")
    assert issue.path == "spec.containers[0].volumeMounts"
    assert "not a memory-backed emptyDir" in issue.message
