"""ipc: isolated: the engine rules about hostIPC and /dev/shm flip, and consumers get theirs."""

from __future__ import annotations

import yaml

from postrender.invariants import SHM_VOLUME, isolated_connection, isolated_consumer
from postrender.pipeline import process
from tests.pod_security import baseline_violations
from tests.postrender.helpers import container, hand_written, output_docs, pod, run, vllm
from tests.support import CHART, render

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


def test_an_isolated_consumer_gets_a_private_memory_backed_dev_shm():
    spec = {"containers": [{"name": "vllm"}, {"name": "sidecar"}]}
    changes, warnings = isolated_consumer(spec, "spec.template.spec", "32Gi")
    assert "hostIPC" not in spec
    assert warnings == []
    assert spec["volumes"] == [
        {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}}
    ]
    for c in spec["containers"]:
        assert c["volumeMounts"] == [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    assert [i.path for i in changes] == [
        "spec.template.spec.containers[0].volumeMounts",
        "spec.template.spec.containers[1].volumeMounts",
        "spec.template.spec.volumes",
    ]
    # A second pass changes nothing: the post-renderer is a fixed point.
    assert isolated_consumer(spec, "spec.template.spec", "32Gi") == ([], [])


def test_an_isolated_consumer_that_keeps_host_ipc_is_left_alone_with_a_warning():
    spec = {"hostIPC": True, "containers": [{"name": "vllm"}]}
    changes, (warning,) = isolated_consumer(spec, "spec", "16Gi")
    assert changes == []
    assert spec == {"hostIPC": True, "containers": [{"name": "vllm"}]}
    assert warning.path == "spec.hostIPC"
    assert "Pod Security baseline" in warning.message


def test_an_isolated_consumer_with_a_disk_backed_dev_shm_is_reported():
    spec = {
        "containers": [{"name": "vllm", "volumeMounts": [{"name": "d", "mountPath": "/dev/shm"}]}],
        "volumes": [{"name": "d", "emptyDir": {}}],
    }
    changes, (issue,) = isolated_consumer(spec, "spec", "16Gi")
    assert changes == []
    assert issue.path == "spec.containers[0].volumeMounts"
    assert "not a memory-backed emptyDir" in issue.message


# -- in the stream: the chart's isolated engine and a hand-written vLLM Deployment ----------


def chart_stream(values_file: str) -> list[dict]:
    return render(values_files=(CHART / "ci" / values_file,)).docs


def consumer_of(docs: list[dict], configmap: str, edit=None) -> tuple[list[str], list[str], dict]:
    deployment = vllm(configmap=configmap)
    if edit is not None:
        edit(pod(deployment))
    outcome = process(yaml.safe_dump_all([*docs, deployment]))
    if outcome.errors:
        return outcome.errors, outcome.warnings, {}
    (out,) = [
        d for d in yaml.safe_load_all(outcome.output) if d and d["metadata"]["name"] == "vllm"
    ]
    return outcome.errors, outcome.warnings, out


def test_a_consumer_of_an_isolated_engine_in_the_stream_gets_no_host_ipc_and_its_dev_shm():
    docs = chart_stream("engine-isolated-ipc-values.yaml")
    errors, warnings, out = consumer_of(docs, "isolated-cache-connection")
    assert errors == []
    spec = pod(out)
    assert "hostIPC" not in spec
    assert {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}} in spec[
        "volumes"
    ]
    assert {"name": SHM_VOLUME, "mountPath": "/dev/shm"} in container(out)["volumeMounts"]
    assert any("consumerShmSizeLimit" in w for w in warnings)
    # Fixed point: a second pass over the output changes nothing.
    again = process(yaml.safe_dump_all([*docs, out]))
    assert again.errors == [] and not again.changed


def test_a_consumers_own_dev_shm_emptydir_is_allowed_for_an_isolated_engine():
    def own_shm(spec):
        spec["volumes"].append({"name": "shm", "emptyDir": {"medium": "Memory"}})
        spec["containers"][0]["volumeMounts"].append({"name": "shm", "mountPath": "/dev/shm"})

    errors, _, out = consumer_of(
        chart_stream("engine-isolated-ipc-values.yaml"), "isolated-cache-connection", own_shm
    )
    assert errors == []
    # The sidecar still gets the engine's; the vLLM container keeps its own.
    assert {"name": "shm", "mountPath": "/dev/shm"} in container(out)["volumeMounts"]
    # The same pod reading a host-mode engine is an error (it hides the host's /dev/shm).
    errors, _, _ = consumer_of(
        chart_stream("engine-minimal-values.yaml"), "my-cache-connection", own_shm
    )
    assert any("hides the host's /dev/shm" in e for e in errors)


def test_a_consumer_of_the_baseline_scenario_passes_pod_security_baseline():
    docs = chart_stream("engine-baseline-values.yaml")
    for configmap in ("baseline-cache-connection", "baseline-blend-connection"):
        errors, _, out = consumer_of(docs, configmap)
        assert errors == []
        assert baseline_violations(pod(out)) == [], configmap
    # And a consumer of a host-mode engine does not (hostIPC), so the check can fail.
    _, _, out = consumer_of(chart_stream("engine-minimal-values.yaml"), "my-cache-connection")
    assert any(
        "host namespaces" in v.lower() or "hostipc" in v.lower()
        for v in baseline_violations(pod(out))
    )
