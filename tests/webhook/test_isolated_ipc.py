"""Isolated IPC in both webhook modes: no hostIPC, a memory-backed /dev/shm, Pod Security.

The golden cases whose engine ConfigMap says `"lmcache.mp.isolated_ipc": true` are
injected without hostIPC and pass the Pod Security baseline profile (tests/pod_security.py);
the host-mode ones do not, so the check can fail. The engine side comes from the chart.
"""

from __future__ import annotations

import pytest

from lmcache_k8s.names import CONNECTION_SUFFIX
from postrender.invariants import SHM_VOLUME as POSTRENDER_SHM_VOLUME
from tests.pod_security import baseline_violations
from tests.support import CHART, render
from webhook.connection import EngineConfigError, parse_connection_data
from webhook.constants import SHM_VOLUME
from webhook.inject import Injected, Skipped, decide

from .goldens import case_paths, load_case

CASES = [load_case(path) for path in case_paths()]
ISOLATED = [c for c in CASES if c.engine is not None and c.engine.isolated]
INJECTED = [c for c in CASES if c.expect == "injected"]


def injected(case) -> dict:
    outcome = decide(case.pod, case.engine, case.mode, case.enforce_level)
    assert isinstance(outcome, Injected), outcome
    return outcome.pod


def test_both_modes_have_isolated_cases_including_a_baseline_namespace():
    assert {c.mode for c in ISOLATED if c.expect == "injected"} == {c.mode for c in CASES}
    assert {c.mode for c in ISOLATED if c.enforce_level == "baseline"} == {c.mode for c in CASES}


@pytest.mark.parametrize(
    "case", [c for c in ISOLATED if c.expect == "injected"], ids=lambda c: c.name
)
def test_an_isolated_injection_adds_no_host_ipc_and_passes_baseline(case):
    pod = injected(case)
    spec = pod["spec"]
    assert "hostIPC" not in spec
    assert baseline_violations(spec, pod["metadata"].get("annotations")) == []
    shm = [v for v in spec["volumes"] if v["name"] == SHM_VOLUME]
    own = any(
        m["mountPath"] == "/dev/shm" and m["name"] != SHM_VOLUME
        for c in case.pod["spec"]["containers"]
        for m in c.get("volumeMounts", [])
    )
    if own:
        assert shm == []  # the pod's own /dev/shm is kept and none is added
    else:
        assert shm == [
            {
                "name": SHM_VOLUME,
                "emptyDir": {"medium": "Memory", "sizeLimit": case.engine.shm_size_limit},
            }
        ]


@pytest.mark.parametrize(
    "case",
    [c for c in INJECTED if c.engine is not None and not c.engine.isolated],
    ids=lambda c: c.name,
)
def test_a_host_ipc_injection_fails_baseline(case):
    # So the test above can fail: the host-mode injection's hostIPC is a baseline violation.
    pod = injected(case)
    assert pod["spec"]["hostIPC"] is True
    assert baseline_violations(pod["spec"], pod["metadata"].get("annotations")) != []


def test_restricted_still_skips_the_cacheblend_mode_but_not_the_lmcache_mode():
    by_name = {c.name: c for c in CASES}
    cb = by_name["skip-isolated-pod-security-restricted"]
    outcome = decide(cb.pod, cb.engine, cb.mode, cb.enforce_level)
    assert isinstance(outcome, Skipped) and outcome.reason.value == "pod-security-restricted"
    injected(by_name["lmcache-isolated-restricted-namespace"])


def test_the_webhook_and_the_post_renderer_name_the_volume_alike():
    assert SHM_VOLUME == POSTRENDER_SHM_VOLUME


@pytest.mark.parametrize(
    "values_file,engine,size",
    [
        ("engine-isolated-ipc-values.yaml", "isolated-cache", "32Gi"),
        ("engine-baseline-values.yaml", "baseline-cache", "16Gi"),
        ("engine-baseline-values.yaml", "baseline-blend", "16Gi"),
        ("engine-minimal-values.yaml", "my-cache", None),
    ],
)
def test_the_webhook_reads_the_mode_and_size_from_the_charts_configmap(values_file, engine, size):
    docs = render(values_files=(CHART / "ci" / values_file,)).docs
    (cm,) = [d for d in docs if d["metadata"]["name"] == engine + CONNECTION_SUFFIX]
    config = parse_connection_data("default", engine, cm["data"])
    assert config.isolated is (size is not None)
    if size is not None:
        assert config.shm_size_limit == size


@pytest.mark.parametrize("size", ["lots", "0", "16", "0Gi"])
def test_a_bad_size_in_the_configmap_is_an_error_naming_the_key(size):
    # "0" (no limit) and "16" (16 bytes) are Kubernetes quantities, but no /dev/shm vLLM can use
    data = {"kv-transfer-config.json": "{}", "consumer-shm-size-limit": size}
    with pytest.raises(
        EngineConfigError, match="consumer-shm-size-limit: must be a positive quantity with a unit"
    ):
        parse_connection_data("llm", "e", data)
