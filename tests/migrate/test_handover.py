"""The handover of docs/migrate.md, run against the fake API server (tests/fake_kube.py)
holding the operator-shaped objects of every seed example: `kubectl lmcache migrate`
reads the resources from the live API, the operator is scaled down, the resources are
orphan-deleted, and the release's objects are applied as `helm --take-ownership` applies
them (rendered by the real Helm and post-renderer; each existing object patched in place,
a missing one created). Afterwards every object belongs to the release, keeps its UID,
the connection ConfigMaps are unchanged, and nothing points at a deleted resource.

Helm itself does not run against the fake API (it needs discovery and OpenAPI documents
the fake does not serve): the apply step makes the calls Helm makes, GET then PATCH or
POST, and the fake enforces what makes adoption necessary, the immutable selector.
"""

from __future__ import annotations

import io
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubectl_lmcache.cli import main
from kubectl_lmcache.migrate import VALUES_MAP, load_documents
from lmcache_k8s.names import KV_TRANSFER_CONFIG_KEY, METRICS_SUFFIX
from tests.fake_kube import BY_KIND, FakeKube, FakeKubeState
from tests.kubectl.conftest import TOKEN, write_kubeconfig
from tests.kubectl.conftest import kube_tls as kube_tls  # noqa: PLC0414 (the fixture)
from tests.migrate import operator_model
from tests.support import left_by_helm, render

from .test_round_trip import EXAMPLES, TESTDATA

RELEASE = "lmcache"
OPERATOR_NS = "lmcache-operator-system"
OPERATOR_GROUP = "lmcache.lmcache.ai/"


class Rest:
    """The few API calls the procedure makes (what kubectl and helm send)."""

    def __init__(self, url: str, ca_pem: bytes) -> None:
        self.url = url
        self.context = ssl.create_default_context(cadata=ca_pem.decode())

    def call(self, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {TOKEN}")
        request.add_header("Content-Type", content_type or "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, json.loads(exc.read())["message"]) from None


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _path(kind: str, namespace: str, name: str = "") -> str:
    resource = BY_KIND[kind]
    root = f"/apis/{resource.api_version}" if resource.group else "/api/v1"
    scope = f"/namespaces/{namespace}" if namespace else ""  # "" for cluster-scoped kinds
    return f"{root}{scope}/{resource.plural}" + (f"/{name}" if name else "")


def _namespaced(example: str) -> tuple[str, list[dict[str, Any]]]:
    resources = load_documents((TESTDATA / f"{example}.yaml").read_text(), example)
    # one namespace per example, so same-named examples do not collide
    namespace = f"ns-{example}"
    for index, resource in enumerate(resources):
        resource["metadata"]["namespace"] = namespace
        resource["metadata"]["uid"] = f"uid-{example}-{index}"
        resource["metadata"]["finalizers"] = []
        resource["status"] = {"phase": "Running"}
    return namespace, resources


@pytest.fixture
def cluster(kube_tls, tmp_path: Path) -> Iterator[tuple[FakeKubeState, Rest, Path]]:
    state = FakeKubeState(token=TOKEN)
    with FakeKube(state, kube_tls.cert_file, kube_tls.key_file) as server:
        user = f"- name: plugin-user\n  user: {{token: {TOKEN}}}"
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig", server.url, kube_tls.ca.pem, user=user, namespace="default"
        )
        yield state, Rest(server.url, kube_tls.ca.pem), kubeconfig


def _install_operator(state: FakeKubeState) -> dict[str, list[dict[str, Any]]]:
    """Every example's resources and the objects the operator made for them."""
    state.put(
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "lmcache-operator-controller-manager", "namespace": OPERATOR_NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"control-plane": "cm"}}},
        }
    )
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for example in EXAMPLES:
        namespace, resources = _namespaced(example)
        by_namespace[namespace] = resources
        for resource in resources:
            state.put(resource)
            for obj in operator_model.operator_objects(resource, namespace):
                state.put(obj)
    return by_namespace


def _snapshot(state: FakeKubeState, namespace: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (obj["kind"], name): json.loads(json.dumps(obj))
        for (_, ns, name), obj in state.objects.items()
        if ns == namespace
    }


def _migrate(kubeconfig: Path, out: Path, *extra: str) -> None:
    err = io.StringIO()
    code = main(
        ["--kubeconfig", str(kubeconfig), "migrate", "-A", "-o", str(out), *extra],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 0, err.getvalue()


def _take_ownership(rest: Rest, values_file: Path, namespace: str, helm: str) -> None:
    """Apply the release as `helm upgrade --install --take-ownership` does."""
    out = render(
        values_files=[values_file],
        helm=helm,
        postrender=True,
        namespace=namespace,
        release=RELEASE,
    )
    for doc in out.docs:
        if not left_by_helm(doc, "upgrade"):
            continue
        meta = doc["metadata"]
        meta.setdefault("annotations", {}).update(
            {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": namespace}
        )
        scope = meta.get("namespace", "")
        path = _path(doc["kind"], scope, meta["name"])
        try:
            rest.call("GET", path)
        except ApiError as exc:
            assert exc.code == 404, exc
            rest.call("POST", _path(doc["kind"], scope), doc)
        else:
            rest.call("PATCH", path, doc, "application/merge-patch+json")


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_handover_keeps_objects_and_connections_and_leaves_no_stale_owners(
    cluster, tmp_path: Path, helm: str
) -> None:
    state, rest, kubeconfig = cluster
    by_namespace = _install_operator(state)
    before = {ns: _snapshot(state, ns) for ns in by_namespace}

    # 1. convert, from the live API
    _migrate(kubeconfig, tmp_path / "values", "--adopt")
    # 2.2 stop the operator's reconciliation
    rest.call(
        "PATCH",
        _path("Deployment", OPERATOR_NS, "lmcache-operator-controller-manager"),
        {"spec": {"replicas": 0}},
        "application/merge-patch+json",
    )
    for namespace, resources in by_namespace.items():
        # 2.3 orphan-delete the resources
        for resource in resources:
            path = _path(resource["kind"], namespace, resource["metadata"]["name"])
            rest.call("DELETE", path, {"kind": "DeleteOptions", "propagationPolicy": "Orphan"})
        # ... and the operator's ServiceMonitors, which 2.4 creates anew (a patch would
        # keep the operator's selector keys, and the monitor would select nothing)
        for kind, name in before[namespace]:
            if kind == "ServiceMonitor":
                rest.call("DELETE", _path(kind, namespace, name))
        # 2.4 let Helm take the objects over
        _take_ownership(rest, tmp_path / "values" / f"{namespace}.yaml", namespace, helm)
    # 2.5 remove the operator
    rest.call("DELETE", _path("Deployment", OPERATOR_NS, "lmcache-operator-controller-manager"))

    deleted = {r["metadata"]["uid"] for rs in by_namespace.values() for r in rs}
    for namespace in by_namespace:
        after = _snapshot(state, namespace)
        assert not [key for key in after if key[0] in VALUES_MAP]
        for key, obj in after.items():
            meta = obj["metadata"]
            # 2.6: every object belongs to the release, and no owner points at a resource
            assert meta["annotations"]["meta.helm.sh/release-name"] == RELEASE, key
            owners = meta.get("ownerReferences") or []
            assert not [
                o
                for o in owners
                if o["uid"] in deleted or o["apiVersion"].startswith(OPERATOR_GROUP)
            ], key
            if key in before[namespace] and key[0] != "ServiceMonitor":
                assert meta["uid"] == before[namespace][key]["metadata"]["uid"], key
        for key, obj in before[namespace].items():
            if key[0] == "ConfigMap":
                assert (
                    after[key]["data"][KV_TRANSFER_CONFIG_KEY]
                    == obj["data"][KV_TRANSFER_CONFIG_KEY]
                ), key
            if key[0] in ("DaemonSet", "Deployment"):
                assert after[key]["spec"]["selector"] == obj["spec"]["selector"]
                # The chart leaves the update strategy at Kubernetes' default,
                # RollingUpdate with maxUnavailable 1: one engine pod restarts at a time.
                assert "updateStrategy" not in after[key]["spec"]
        # Prometheus keeps scraping: each ServiceMonitor still selects its metrics Service.
        # (Neither Helm deletes a selector key the operator wrote and the chart does not.)
        monitors = [obj for key, obj in after.items() if key[0] == "ServiceMonitor"]
        assert monitors or not any(key[0] == "ServiceMonitor" for key in before[namespace])
        for monitor in monitors:
            name = monitor["metadata"]["name"]
            service = after[("Service", f"{name}{METRICS_SUFFIX}")]
            wanted = monitor["spec"]["selector"]["matchLabels"]
            assert wanted.items() <= service["metadata"]["labels"].items(), name
    assert not any(ns == OPERATOR_NS for (_, ns, _) in state.objects)


def test_without_adoption_helm_cannot_patch_the_operators_workload(cluster, tmp_path) -> None:
    state, rest, kubeconfig = cluster
    by_namespace = _install_operator(state)
    _migrate(kubeconfig, tmp_path / "values")
    namespace = "ns-minimal"
    for resource in by_namespace[namespace]:
        path = _path(resource["kind"], namespace, resource["metadata"]["name"])
        rest.call("DELETE", path, {"propagationPolicy": "Orphan"})
    with pytest.raises(ApiError, match="spec.selector: .* field is immutable"):
        _take_ownership(rest, tmp_path / "values" / f"{namespace}.yaml", namespace, "helm3")


def test_without_adoption_replaced_workloads_keep_their_services_selecting(
    cluster, tmp_path
) -> None:
    # docs/migrate.md "Without adoption": the workloads are orphan-deleted and created anew
    # with the chart's selector; Services N and N-metrics are patched in place. Their
    # selector must lose the operator's key the chart does not render first, or it would
    # select neither the old pods (instance: N) nor the new ones (no managed-by) after 2.4.
    state, rest, kubeconfig = cluster
    by_namespace = _install_operator(state)
    _migrate(kubeconfig, tmp_path / "values")
    for namespace in ("ns-minimal", "ns-coordinator"):
        before = _snapshot(state, namespace)
        for resource in by_namespace[namespace]:
            path = _path(resource["kind"], namespace, resource["metadata"]["name"])
            rest.call("DELETE", path, {"propagationPolicy": "Orphan"})
        for kind, name in before:
            if kind in ("DaemonSet", "Deployment"):
                rest.call("DELETE", _path(kind, namespace, name), {"propagationPolicy": "Orphan"})
            if kind == "Service":
                drop = {"spec": {"selector": {"app.kubernetes.io/managed-by": None}}}
                rest.call(
                    "PATCH", _path(kind, namespace, name), drop, "application/merge-patch+json"
                )
                # still the old pods' Service until 2.4
                selector = state.get("Service", namespace, name)["spec"]["selector"]
                entry = name.removesuffix(METRICS_SUFFIX)
                old = before[(_workload_kind(before, entry), entry)]
                assert selector.items() <= old["spec"]["template"]["metadata"]["labels"].items()
        _take_ownership(rest, tmp_path / "values" / f"{namespace}.yaml", namespace, "helm3")
        after = _snapshot(state, namespace)
        for (kind, name), service in after.items():
            if kind != "Service":
                continue
            entry = name.removesuffix(METRICS_SUFFIX)
            workload = after[(_workload_kind(after, entry), entry)]
            pod_labels = workload["spec"]["template"]["metadata"]["labels"]
            assert service["spec"]["selector"].items() <= pod_labels.items(), name
            if (kind, name) in before:  # the chart adds the coordinator's metrics Service
                assert service["metadata"]["uid"] == before[(kind, name)]["metadata"]["uid"]


def _workload_kind(snapshot: dict[tuple[str, str], Any], name: str) -> str:
    return "DaemonSet" if ("DaemonSet", name) in snapshot else "Deployment"


def test_deleting_a_resource_without_orphan_deletes_its_objects(cluster) -> None:
    state, rest, _ = cluster
    by_namespace = _install_operator(state)
    namespace = "ns-custom-port"
    (resource,) = by_namespace[namespace]
    rest.call("DELETE", _path("LMCacheEngine", namespace, resource["metadata"]["name"]))
    assert _snapshot(state, namespace) == {}
