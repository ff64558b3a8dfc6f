"""The webhook's render-time checks that need a cluster, with Helm talking to a (fake) API.

`helm template --dry-run=server` renders with `lookup` and the cluster's API versions, as
`helm install` and `helm upgrade` do, against tests/fake_kube.py served over TLS on
loopback (legacy discovery included). This is the only way these template branches run:
under a plain `helm template`, `lookup` sees no cluster.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fake_kube import FakeKube, FakeKubeState
from tests.support import CHART, HELMS, NAMESPACE, RELEASE, Rendered, helm_binary, helm_env
from tests.webhook.pki import CertificateAuthority, write_pair

TOKEN = "helm-user-token"
MWC_NAME = f"{RELEASE}-lmcache-webhook.{NAMESPACE}"
PLAIN = {"engines": {"kv": {"l1": {"sizeGB": 40}}}}


class Cluster:
    """A fake API server and a kubeconfig for it; `state` is reset by each test."""

    def __init__(self, kube: FakeKube, kubeconfig: Path) -> None:
        self.kube = kube
        self.kubeconfig = kubeconfig

    @property
    def state(self) -> FakeKubeState:
        return self.kube.state

    def render(self, values: dict[str, Any], helm: str) -> Rendered:
        """`helm template --dry-run=server`: Helm reads the cluster (`lookup`, API versions)."""
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(values, f)
        env = helm_env(helm)
        env["KUBECONFIG"] = str(self.kubeconfig)
        args = [helm_binary(helm), "template", RELEASE, str(CHART), "-n", NAMESPACE]
        # The fake serves no OpenAPI document; the objects' schemas are checked elsewhere
        # (tests/support.validate_object).
        args += ["--dry-run=server", "--disable-openapi-validation", "-f", f.name]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        finally:
            os.unlink(f.name)
        return Rendered(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    ca = CertificateAuthority("fake-kube-ca")
    ca_file = ca.write(tmp / "ca.crt")
    write_pair(ca.issue("kube", ("localhost",)), tmp / "kube.crt", tmp / "kube.key")
    with FakeKube(FakeKubeState(token=TOKEN), tmp / "kube.crt", tmp / "kube.key") as kube:
        server = kube.url.replace("127.0.0.1", "localhost")  # the certificate's name
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "fake",
                            "cluster": {"server": server, "certificate-authority": str(ca_file)},
                        }
                    ],
                    "users": [{"name": "user", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "user"}}],
                    "current-context": "fake",
                }
            )
        )
        yield Cluster(kube, kubeconfig)


@pytest.fixture
def cluster(running: Cluster) -> Cluster:
    """The running fake API with the release namespace and `default` in it."""
    state = running.state
    with state.lock:
        state.objects.clear()
        state.calls.clear()
        state.denied.clear()
    state.put_namespace("default")  # as in every cluster
    state.put_namespace(NAMESPACE)
    # What the NVIDIA GPU Operator creates; the preflight checks the engines' RuntimeClass.
    state.put(
        {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": {"name": "nvidia"},
            "handler": "nvidia",
        }
    )
    return running


def with_webhook(**webhook: Any) -> dict[str, Any]:
    return {**PLAIN, "webhook": {"enabled": True, "tls": {"mode": "helm"}, **webhook}}


@pytest.mark.parametrize("helm", HELMS)
def test_a_missing_engine_namespace_fails_the_render_naming_it(cluster: Cluster, helm: str):
    cluster.state.put_namespace("shared-engines")
    result = cluster.render(with_webhook(engineNamespaces=["shared-engines", "missing"]), helm)
    assert result.returncode != 0
    assert "webhook.engineNamespaces: namespace missing does not exist" in result.stderr
    assert "shared-engines" not in result.stderr
    # Helm did look: the check ran against the cluster, not around it.
    assert any(c.path == "/api/v1/namespaces/missing" for c in cluster.state.calls)


@pytest.mark.parametrize("helm", HELMS)
def test_existing_engine_namespaces_render(cluster: Cluster, helm: str):
    cluster.state.put_namespace("shared-engines")
    result = cluster.render(with_webhook(engineNamespaces=["shared-engines"]), helm)
    assert result.returncode == 0, result.stderr
    roles = {r["metadata"]["namespace"] for r in result.kinds("Role")}
    assert roles == {NAMESPACE, "shared-engines"}


def _left_configuration() -> dict[str, Any]:
    """The configuration an earlier revision with the webhook created (a hook object)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": MWC_NAME,
            "labels": {"app.kubernetes.io/instance": RELEASE},
            "annotations": {"helm.sh/hook": "post-install,post-upgrade,post-rollback"},
        },
        "webhooks": [],
    }


def _webhook_deployment() -> dict[str, Any]:
    """The webhook's Deployment of the revision before the upgrade."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{RELEASE}-lmcache-webhook", "namespace": NAMESPACE},
        "spec": {},
    }


def _hooks(result: Rendered) -> dict[str, str]:
    return {
        f"{d['kind']}/{d['metadata']['name']}": (d["metadata"].get("annotations") or {}).get(
            "helm.sh/hook", ""
        )
        for d in result.docs
        if "webhook" in d["metadata"]["name"]
    }


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(
    "values",
    [
        {**PLAIN, "webhook": {"enabled": False}},
        # The null default with no CacheBlend engine left: off as well.
        PLAIN,
    ],
    ids=["enabled-false", "last-cacheblend-engine-removed"],
)
def test_turning_the_webhook_off_deletes_the_configuration_before_the_upgrade(
    cluster: Cluster, helm: str, values: dict[str, Any]
):
    """Found trying issue 9: the configuration is a hook object, so an upgrade that turns
    the webhook off left it pointing at the deleted Service, and the new revision had no
    pre-delete hook to remove it on uninstall either."""
    cluster.state.put(_left_configuration())
    cluster.state.put(_webhook_deployment())
    result = cluster.render(values, helm)
    assert result.returncode == 0, result.stderr
    cleanup = f"{RELEASE}-lmcache-webhook-cleanup"
    assert _hooks(result) == {
        f"ServiceAccount/{cleanup}": "pre-install,pre-upgrade",
        f"ClusterRole/{MWC_NAME}-cleanup": "pre-install,pre-upgrade",
        f"ClusterRoleBinding/{MWC_NAME}-cleanup": "pre-install,pre-upgrade",
        f"Job/{cleanup}": "pre-install,pre-upgrade",
    }
    job = result.get("Job", cleanup)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--delete-configuration", MWC_NAME]
    role = result.get("ClusterRole", f"{MWC_NAME}-cleanup")
    assert role["rules"][0]["resourceNames"] == [MWC_NAME]
    assert role["rules"][0]["verbs"] == ["delete"]


@pytest.mark.parametrize("helm", HELMS)
def test_an_engine_only_release_without_a_configuration_renders_no_cleanup(
    cluster: Cluster, helm: str
):
    cluster.state.put(_webhook_deployment())
    result = cluster.render(PLAIN, helm)
    assert result.returncode == 0, result.stderr
    assert _hooks(result) == {}
    # Helm asked: the absence is the cluster's answer, not a skipped lookup.
    path = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{MWC_NAME}"
    assert any(c.path == path and c.status == 404 for c in cluster.state.calls)


@pytest.mark.parametrize("helm", HELMS)
def test_with_the_webhook_on_the_cleanup_stays_a_pre_delete_hook(cluster: Cluster, helm: str):
    cluster.state.put(_left_configuration())
    result = cluster.render(with_webhook(), helm)
    assert result.returncode == 0, result.stderr
    hooks = _hooks(result)
    assert hooks[f"Job/{RELEASE}-lmcache-webhook-cleanup"] == "pre-delete"
    assert hooks[f"MutatingWebhookConfiguration/{MWC_NAME}"] == (
        "post-install,post-upgrade,post-rollback"
    )


@pytest.mark.parametrize("helm", HELMS)
def test_the_check_also_runs_when_the_release_namespace_is_still_to_be_created(
    cluster: Cluster, helm: str
):
    """`helm install --create-namespace`, as the docs install: the release namespace does
    not exist yet when Helm renders, but Helm does see the cluster (found trying issue 9:
    the check was gated on the release namespace and so skipped)."""
    cluster.state.delete("Namespace", "", NAMESPACE)
    result = cluster.render(with_webhook(engineNamespaces=["missing"]), helm)
    assert result.returncode != 0
    assert "webhook.engineNamespaces: namespace missing does not exist" in result.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_listing_the_release_namespace_passes_before_create_namespace_makes_it(
    cluster: Cluster, helm: str
):
    cluster.state.delete("Namespace", "", NAMESPACE)
    result = cluster.render(with_webhook(engineNamespaces=[NAMESPACE]), helm)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_a_namespace_scoped_user_installs_engines_without_cluster_reads(
    cluster: Cluster, helm: str
):
    """An engine-only release needs no cluster-scoped permission once the preflight is off:
    with the webhook off too, the chart reads nothing at the cluster scope (Helm's `lookup`
    fails the render on a 403), and looks for a configuration to clean up only when the
    webhook's Deployment, which only an earlier revision with the webhook made, is there."""
    for plural in ("namespaces", "runtimeclasses", "mutatingwebhookconfigurations"):
        cluster.state.deny("get", plural)
    # With the preflight on (the default) Helm's own 403 fails the render, as documented
    # in docs/webhook-install.md, "Preflight at install".
    denied = cluster.render(PLAIN, helm)
    assert denied.returncode != 0 and "forbidden" in denied.stderr
    result = cluster.render({**PLAIN, "preflight": {"enabled": False}}, helm)
    assert result.returncode == 0, result.stderr
    assert _hooks(result) == {}


@pytest.mark.parametrize("helm", HELMS)
def test_a_missing_runtime_class_fails_against_the_api_server(cluster: Cluster, helm: str):
    # The same rule as tests/chart/test_preflight.py, through Helm's real lookup.
    cluster.state.delete("RuntimeClass", "", "nvidia")
    result = cluster.render(PLAIN, helm)
    assert result.returncode != 0
    assert 'engines.kv.runtimeClassName: RuntimeClass "nvidia" does not exist' in result.stderr
