"""Every ci/*-values.yaml scenario, on Helm 3 and Helm 4, with and without the post-renderer.

The post-renderer runs as an executable under Helm 3 and as the `lmcache` plugin under
Helm 4; on the chart's own output it must change nothing, so both renders give the same
objects. Every object must pass the Kubernetes schemas (or the CRD schema of its kind).
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    CHART,
    CI_VALUES,
    HELMS,
    K8S_VERSIONS,
    helm_binary,
    helm_env,
    ref,
    validate_object,
)
from tests.support import rendered as support_rendered

FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
# The `helm` TLS mode generates a fresh CA on every render; these fields differ run to run.
RANDOM_FIELDS = {("Secret", "data"), ("MutatingWebhookConfiguration", "webhooks")}


def test_there_are_scenarios():
    assert len(CI_VALUES) >= 12, "charts/lmcache/ci/ should hold one values file per scenario"


def rendered(values: Path, helm: str, postrender: bool):
    return support_rendered(values_files=(values,), helm=helm, postrender=postrender)


def comparable(docs: list[dict], random_tls: bool) -> list[dict]:
    out = []
    for doc in docs:
        doc = copy.deepcopy(doc)
        annotations = doc.get("metadata", {}).get("annotations") or {}
        annotations.pop(FILENAME_ANNOTATION, None)
        if not annotations and "annotations" in doc.get("metadata", {}):
            del doc["metadata"]["annotations"]
        for kind, field in RANDOM_FIELDS:
            if random_tls and doc.get("kind") == kind and field in doc:
                doc[field] = "<random>"
        out.append(doc)
    return out


scenarios = pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
helms = pytest.mark.parametrize("helm", HELMS)


@scenarios
@helms
def test_renders_the_same_objects_with_and_without_the_post_renderer(values, helm):
    plain = rendered(values, helm, False)
    post = rendered(values, helm, True)
    assert plain.returncode == 0, plain.stderr
    assert post.returncode == 0, post.stderr
    assert [ref(d) for d in post.docs] == [ref(d) for d in plain.docs]
    random_tls = "helm-tls" in values.name  # certificates generated at render time
    assert comparable(post.docs, random_tls) == comparable(plain.docs, random_tls)


@scenarios
@helms
def test_lints_strictly(values, helm):
    # helm lint has no --api-versions: scenarios with CRD kinds set the chart's trustCRDsExist.
    args = [helm_binary(helm), "lint", "--strict", str(CHART), "-f", str(values)]
    proc = subprocess.run(args, capture_output=True, text=True, env=helm_env(helm), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@scenarios
def test_renders_the_same_objects_on_helm3_and_helm4(values):
    random_tls = "helm-tls" in values.name
    helm3 = comparable(rendered(values, "helm3", False).docs, random_tls)
    helm4 = comparable(rendered(values, "helm4", False).docs, random_tls)
    # Helm 3 and Helm 4 may order objects of CRD kinds differently; the objects must agree.
    assert sorted(helm3, key=ref) == sorted(helm4, key=ref)


@scenarios
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_passes_its_schema(values, version):
    docs = rendered(values, "helm3", True).docs
    assert docs, "a scenario must render objects"
    for doc in docs:
        try:
            validate_object(doc, version)
        except Exception as exc:  # name the object in the failure
            raise AssertionError(f"{ref(doc)} fails the {version} schema: {exc}") from exc


def test_a_kind_without_schema_fails_validation():
    with pytest.raises(AssertionError, match="no schema"):
        validate_object(
            {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}, "1.35"
        )


def pod_specs(docs: list[dict]):
    """(where, pod spec) of every pod template the docs hold."""
    for doc in docs:
        template = doc.get("spec", {}).get("template", {})
        if "spec" in template:
            yield ref(doc), template["spec"]


@scenarios
def test_every_rendered_container_requests_cpu_and_memory(values):
    # A container without requests makes its pod BestEffort: first evicted under pressure.
    missing = []
    for where, spec in pod_specs(rendered(values, "helm3", False).docs):
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            requests = (c.get("resources") or {}).get("requests") or {}
            if not {"cpu", "memory"} <= set(requests):
                missing.append(f"{where} container {c['name']}: requests {requests}")
    assert missing == []


BASELINE_SCENARIO = CHART / "ci" / "engine-baseline-values.yaml"


def test_every_pod_of_the_baseline_scenario_passes_pod_security_baseline():
    from tests.pod_security import baseline_violations

    docs = rendered(BASELINE_SCENARIO, "helm3", True).docs
    kinds = set()
    failing = []
    for doc in docs:
        template = doc.get("spec", {}).get("template", {})
        if "spec" not in template:
            continue
        kinds.add(ref(doc).split("/")[0])
        annotations = template.get("metadata", {}).get("annotations")
        failing += [f"{ref(doc)}: {v}" for v in baseline_violations(template["spec"], annotations)]
    assert {"DaemonSet", "Deployment"} <= kinds
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert len(names) == 2, "the coordinator and the webhook"
    assert failing == []


def test_the_default_host_ipc_engine_fails_pod_security_baseline():
    # So the test above can fail: hostIPC and privileged are both baseline violations.
    from tests.pod_security import baseline_violations

    docs = rendered(CHART / "ci" / "engine-minimal-values.yaml", "helm3", False).docs
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet"]
    violations = baseline_violations(ds["spec"]["template"]["spec"])
    assert "Host Namespaces: hostIPC=true" in violations
    assert "Privileged Containers: container lmcache: privileged" in violations
