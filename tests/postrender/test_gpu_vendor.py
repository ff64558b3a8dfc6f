"""gpuVendor read back from the pod: an AMD engine (host /dev/kfd mounted) gets no NVIDIA env,
and must be privileged to open the devices (relations.amd_needs_privileged)."""

from __future__ import annotations

from tests.postrender.helpers import container, hand_written, output_docs, pod, run

ARGS = ["--port", "5555", "--l1-size-gb", "60"]
KFD = {"name": "kfd", "hostPath": {"path": "/dev/kfd", "type": "CharDevice"}}


def nvidia_env(ds) -> list[str]:
    return [e["name"] for e in container(ds).get("env", []) if e["name"].startswith("NVIDIA_")]


def test_an_amd_engine_gets_no_nvidia_env():
    ds = hand_written(args=ARGS)
    pod(ds)["volumes"] = [KFD]
    container(ds)["volumeMounts"] = [{"name": "kfd", "mountPath": "/dev/kfd"}]
    container(ds)["securityContext"] = {"privileged": True}
    outcome = run(ds)
    assert outcome.errors == []
    (out,) = output_docs(outcome)
    assert nvidia_env(out) == []
    assert not any("NVIDIA" in w for w in outcome.warnings)


def test_the_same_engine_without_the_amd_device_is_nvidia_and_gets_the_env():
    outcome = run(hand_written(args=ARGS))
    (out,) = output_docs(outcome)
    assert nvidia_env(out) == ["NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"]


def test_an_unprivileged_amd_engine_is_refused_with_the_charts_words():
    from lmcache_k8s.relations import AMD_NEEDS_PRIVILEGED

    ds = hand_written(args=ARGS)
    pod(ds)["volumes"] = [KFD]
    container(ds)["volumeMounts"] = [{"name": "kfd", "mountPath": "/dev/kfd"}]
    container(ds)["securityContext"] = {"privileged": False}
    errors = run(ds).errors
    assert any(e.endswith(f".privileged: {AMD_NEEDS_PRIVILEGED}") for e in errors), errors
