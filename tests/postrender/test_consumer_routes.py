"""A consumer is any workload that reaches an engine's connection, by any route.

Generated combinations: every route a pod can read a ConfigMap by (volume, projected
volume, configMapKeyRef, envFrom), in a container or an init container, in every workload
kind. Each combination gets hostIPC, PYTHONHASHSEED=0 in the reading container, the
client label and the connection checksum; each with an emptyDir over /dev/shm is an error
worded as on engines. The reported inputs also go through Helm 3 and Helm 4.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmcache_k8s.connection import connection_hash
from postrender.pipeline import process
from tests.postrender import chartlike
from tests.postrender.helpers import docs, stream_of
from tests.support import CHART, HELMS, helm_binary, helm_env, postrender_executable

TESTDATA = Path(__file__).parent / "testdata"
CM = "my-cache-connection"
ROUTES = ("volume", "projected volume", "env", "envFrom")
GROUPS = ("containers", "initContainers")
KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
    "PodTemplate",
)
SHM_WORDS = (
    "mounts emptyDir volume 'dshm' at /dev/shm: it hides the host's /dev/shm (shared through"
    " hostIPC) and breaks CUDA IPC; remove the volume and its mount"
)


def reader(route: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the reading container, the pod's volumes) for one route."""
    container: dict[str, Any] = {"name": "vllm", "image": "vllm/vllm-openai:v0.33.0"}
    volumes: list[dict[str, Any]] = []
    if route == "volume":
        volumes = [{"name": "kv", "configMap": {"name": CM}}]
    elif route == "projected volume":
        volumes = [{"name": "kv", "projected": {"sources": [{"configMap": {"name": CM}}]}}]
    if volumes:
        container["volumeMounts"] = [{"name": "kv", "mountPath": "/etc/lmcache"}]
    elif route == "env":
        ref = {"configMapKeyRef": {"name": CM, "key": "kv-transfer-config.json"}}
        container["env"] = [{"name": "KV", "valueFrom": ref}]
    else:
        container["envFrom"] = [{"configMapRef": {"name": CM}}]
    return container, volumes


def workload(kind: str, pod: dict[str, Any]) -> dict[str, Any]:
    """A workload of `kind` whose pods are `pod` (a pod spec)."""
    template = {"metadata": {"labels": {"app": "vllm"}}, "spec": pod}
    body: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "vllm"}}
    if kind == "Pod":
        body.update(apiVersion="v1", metadata={"name": "vllm", "labels": {"app": "vllm"}}, spec=pod)
    elif kind == "PodTemplate":
        body.update(apiVersion="v1", template=template)
    elif kind == "CronJob":
        body.update(
            apiVersion="batch/v1",
            spec={"schedule": "@hourly", "jobTemplate": {"spec": {"template": template}}},
        )
    elif kind == "Job":
        body.update(apiVersion="batch/v1", spec={"template": template})
    elif kind == "ReplicationController":
        body.update(apiVersion="v1", spec={"selector": {"app": "vllm"}, "template": template})
    else:
        body["spec"] = {"selector": {"matchLabels": {"app": "vllm"}}, "template": template}
    return body


def template_of(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The pod template (metadata + spec) of a workload, Pod included."""
    if kind == "Pod":
        return body
    if kind == "PodTemplate":
        return body["template"]
    if kind == "CronJob":
        return body["spec"]["jobTemplate"]["spec"]["template"]
    return body["spec"]["template"]


def consumer(kind: str, route: str, group: str, shm: bool = False) -> dict[str, Any]:
    container, volumes = reader(route)
    main = {"name": "main", "image": "vllm/vllm-openai:v0.33.0"}
    pod: dict[str, Any] = {"containers": [main] if group == "initContainers" else [container]}
    if group == "initContainers":
        pod["initContainers"] = [container]
    if shm:
        volumes = [*volumes, {"name": "dshm", "emptyDir": {"medium": "Memory"}}]
        pod["containers"][0].setdefault("volumeMounts", []).append(
            {"name": "dshm", "mountPath": "/dev/shm"}
        )
    if volumes:
        pod["volumes"] = volumes
    return workload(kind, pod)


def engine() -> list[dict[str, Any]]:
    return [o for _, o in chartlike.engine_set("my-cache")]


def connection() -> str:
    (cm,) = [o for o in engine() if o["kind"] == "ConfigMap"]
    return cm["data"]["kv-transfer-config.json"]


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_route_in_every_kind_makes_a_consumer(kind, route, group):
    outcome = process(stream_of(*engine(), consumer(kind, route, group)))
    assert outcome.ok, outcome.errors
    out = docs(outcome.output)[-1]
    template = template_of(kind, out)
    assert template["spec"]["hostIPC"] is True
    (reading,) = template["spec"][group]
    assert {"name": "PYTHONHASHSEED", "value": "0"} in reading["env"]
    if group == "initContainers":  # the container that does not read it is left alone
        assert "env" not in template["spec"]["containers"][0]
    assert template["metadata"]["labels"]["lmcache.ai/client-of"] == "my-cache"
    annotations = template["metadata"]["annotations"]
    assert annotations[f"checksum/{CM}"] == connection_hash(connection())
    # a second pass changes nothing: the consumer is now a fixed point
    again = process(outcome.output)
    assert again.ok and not again.changed, again.warnings


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", KINDS)
def test_an_emptydir_over_dev_shm_on_any_consumer_is_an_error(kind, route):
    outcome = process(stream_of(*engine(), consumer(kind, route, "containers", shm=True)))
    assert outcome.output is None
    (error,) = outcome.errors
    assert error.startswith(f"{kind}/vllm: ")
    assert f"container vllm {SHM_WORDS}" in error
    assert "NCCL" in error


def test_every_problem_is_reported_at_once():
    first = consumer("Deployment", "env", "containers", shm=True)
    second = copy.deepcopy(first)
    second["metadata"]["name"] = "vllm-2"
    outcome = process(stream_of(*engine(), first, second))
    assert [e.split(":")[0] for e in outcome.errors] == ["Deployment/vllm", "Deployment/vllm-2"]


def test_a_workload_that_reads_another_configmap_is_not_a_consumer():
    other = consumer("Deployment", "env", "containers", shm=True)
    ref = other["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]
    ref["configMapKeyRef"]["name"] = "unrelated"
    outcome = process(stream_of(*engine(), other))
    assert outcome.ok and not outcome.changed


def test_a_changed_connection_changes_the_checksum():
    first = process(stream_of(*engine(), consumer("Deployment", "volume", "containers")))
    objects = engine()
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap"]
    cm["data"]["kv-transfer-config.json"] = cm["data"]["kv-transfer-config.json"].replace(
        '"5555"', '"6555"'
    )
    (ds,) = [o for o in objects if o["kind"] == "DaemonSet"]
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    args[args.index("5555")] = "6555"
    second = process(stream_of(*objects, consumer("Deployment", "volume", "containers")))
    assert second.ok, second.errors

    def checksum(outcome):
        return template_of("Deployment", docs(outcome.output)[-1])["metadata"]["annotations"]

    assert checksum(first) != checksum(second)


# -- the reported inputs, through Helm 3 and Helm 4 ------------------------------------------


@pytest.fixture(scope="module")
def chart_with(tmp_path_factory):
    """A copy of the chart with one extra template: the reported manifest."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(name.removesuffix(".yaml"))
        shutil.copytree(CHART, root / "lmcache", ignore=shutil.ignore_patterns("ci"))
        shutil.copy(TESTDATA / name, root / "lmcache" / "templates" / name)
        return root / "lmcache"

    return make


def helm_template(helm: str, chart: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    target = postrender_executable() if helm == "helm3" else "lmcache"
    log = tmp_path / "report.log"
    return subprocess.run(
        [helm_binary(helm), "template", "r", str(chart), "-n", "llm", "--post-renderer", target]
        + ["--set-json", 'engines={"my-cache":{"l1":{"sizeGB":60}}}'],
        capture_output=True,
        text=True,
        env={**helm_env(helm), "LMCACHE_POSTRENDER_LOG": str(log), "LMCACHE_POSTRENDER_TTY": "0"},
        timeout=120,
    )


@pytest.mark.parametrize("helm", HELMS)
def test_the_reported_env_consumer_is_wired_under_helm(helm, chart_with, tmp_path):
    proc = helm_template(helm, chart_with("consumer-env-configmapkeyref.yaml"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    (deployment,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    assert spec["hostIPC"] is True
    assert {"name": "PYTHONHASHSEED", "value": "0"} in spec["containers"][0]["env"]
    report = (tmp_path / "report.log").read_text()
    assert "Deployment/vllm-env: spec.template.spec.hostIPC: set to true" in report


@pytest.mark.parametrize("helm", HELMS)
def test_the_reported_dev_shm_consumer_fails_under_helm(helm, chart_with, tmp_path):
    proc = helm_template(helm, chart_with("consumer-devshm-emptydir.yaml"), tmp_path)
    assert proc.returncode != 0
    assert proc.stdout == ""
    report = (tmp_path / "report.log").read_text()
    assert (
        "Deployment/vllm: spec.template.spec.containers[0].volumeMounts[1]: container vllm"
        f" {SHM_WORDS}" in report
    )
    assert "nothing was written to stdout" in report


@pytest.mark.parametrize("label", ["wrong", "someone-else", ""])
def test_a_client_label_naming_another_engine_is_corrected(label):
    workload = consumer("Deployment", "env", "containers")
    workload["spec"]["template"]["metadata"]["labels"]["lmcache.ai/client-of"] = label
    outcome = process(stream_of(*engine(), workload))
    assert outcome.ok, outcome.errors
    labels = template_of("Deployment", docs(outcome.output)[-1])["metadata"]["labels"]
    assert labels["lmcache.ai/client-of"] == "my-cache"
    assert any("set lmcache.ai/client-of: my-cache" in w for w in outcome.warnings)


@pytest.mark.parametrize("path", ["/dev/shm/", "//dev/shm", "/dev/./shm", "/dev/../dev/shm"])
def test_every_spelling_of_dev_shm_is_caught(path):
    workload = consumer("Deployment", "volume", "containers", shm=True)
    mounts = workload["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    mounts[-1]["mountPath"] = path
    outcome = process(stream_of(*engine(), workload))
    assert outcome.output is None and len(outcome.errors) == 1
