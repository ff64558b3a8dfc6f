"""The chart's CacheBlend injection webhook: registration, workload, RBAC, TLS and values.

Renders are cached per (scenario, Helm version) for the module: every assertion reads the
same few `helm template` runs. Only objects labelled `app.kubernetes.io/component: webhook`
are inspected, so the engine templates (written elsewhere) can change freely.
"""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from lmcache_k8s.validate import check_values
from lmcache_k8s.webhook_values import WebhookValues
from tests.support import (
    CHART,
    HELMS,
    NAMESPACE,
    RELEASE,
    Rendered,
    helm_binary,
    helm_env,
    render,
    rendered,
)
from webhook.__main__ import build_parser as webhook_parser

CI = CHART / "ci"
SCENARIOS = {
    "certmanager": CI / "webhook-certmanager-values.yaml",
    "issuer": CI / "webhook-issuer-values.yaml",
    "helm-tls": CI / "webhook-helm-tls-values.yaml",
    "secret": CI / "webhook-secret-values.yaml",
    "disabled": CI / "webhook-disabled-values.yaml",
}
ENABLED = [s for s in SCENARIOS if s != "disabled"]
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]

# With release "rel" the chart's fullname is "rel-lmcache".
NAME = "rel-lmcache-webhook"
MWC_NAME = f"{NAME}.{NAMESPACE}"
SERVICE_DNS = [
    NAME,
    f"{NAME}.{NAMESPACE}",
    f"{NAME}.{NAMESPACE}.svc",
    f"{NAME}.{NAMESPACE}.svc.cluster.local",
]
SELECTOR = {
    "app.kubernetes.io/name": "lmcache",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "webhook",
}
HOOK_ANNOTATIONS = {
    "helm.sh/hook": "post-install,post-upgrade,post-rollback",
    "helm.sh/hook-delete-policy": "before-hook-creation",
}
CONFIGMAP_GET = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
BLEND_ENGINE = {
    "my-cacheblend": {
        "l1": {"sizeGB": 60},
        "injection": {
            "payloadImage": {"repository": "registry.example.com/cacheblend-plugin", "tag": "0.1.0"}
        },
    }
}


def scenario(name: str, helm: str = "helm3") -> Rendered:
    return rendered(values_files=(SCENARIOS[name],), helm=helm)


def _render_cached(values_yaml: str, helm: str, api_versions: tuple[str, ...]) -> Rendered:
    return rendered(yaml.safe_load(values_yaml), helm=helm, api_versions=api_versions)


def render_values(
    webhook: dict[str, Any],
    helm: str = "helm3",
    api_versions: tuple[str, ...] = ("cert-manager.io/v1", "monitoring.coreos.com/v1"),
    **top: Any,
) -> Rendered:
    """Render the blend engine plus an enabled webhook with these settings (cached)."""
    values = {"cacheBlendEngines": BLEND_ENGINE, "webhook": {"enabled": True, **webhook}, **top}
    return _render_cached(yaml.safe_dump(values, sort_keys=True), helm, api_versions)


def webhook_objects(rendered: Rendered) -> list[dict[str, Any]]:
    return [
        d
        for d in rendered.docs
        if (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "webhook"
    ]


def refs(rendered: Rendered) -> set[tuple[str, str, str]]:
    return {
        (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", ""))
        for d in webhook_objects(rendered)
    }


def mwc(rendered: Rendered) -> dict[str, Any]:
    return rendered.get("MutatingWebhookConfiguration", MWC_NAME)


def the_webhook(rendered: Rendered) -> dict[str, Any]:
    """The CacheBlend entry; test_each_mode_has_its_entry_and_path checks both."""
    cacheblend, _ = mwc(rendered)["webhooks"]
    return cacheblend


def pod_spec(rendered: Rendered) -> dict[str, Any]:
    return rendered.get("Deployment", NAME)["spec"]["template"]["spec"]


def container(rendered: Rendered) -> dict[str, Any]:
    (only,) = pod_spec(rendered)["containers"]
    return only


COMMON = {
    ("ServiceAccount", NAME, NAMESPACE),
    ("Service", NAME, NAMESPACE),
    ("Deployment", NAME, NAMESPACE),
    ("PodDisruptionBudget", NAME, NAMESPACE),
    ("Role", NAME, NAMESPACE),
    ("RoleBinding", NAME, NAMESPACE),
    ("ClusterRole", MWC_NAME, ""),
    ("ClusterRoleBinding", MWC_NAME, ""),
    ("MutatingWebhookConfiguration", MWC_NAME, ""),
    ("NetworkPolicy", NAME, NAMESPACE),
}


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        (
            "certmanager",
            {
                ("Issuer", f"{NAME}-selfsigned", NAMESPACE),
                ("Certificate", f"{NAME}-ca", NAMESPACE),
                ("Issuer", f"{NAME}-ca", NAMESPACE),
                ("Certificate", f"{NAME}-tls", NAMESPACE),
            },
        ),
        (
            "issuer",
            {
                ("Certificate", f"{NAME}-tls", NAMESPACE),
                ("Role", f"{NAME}-{NAMESPACE}", "shared-engines"),
                ("RoleBinding", f"{NAME}-{NAMESPACE}", "shared-engines"),
            },
        ),
        ("helm-tls", {("Secret", f"{NAME}-tls", NAMESPACE)}),
        ("secret", set()),
    ],
)
def test_each_tls_mode_renders_exactly_its_objects(name, extra):
    assert refs(scenario(name)) == COMMON | extra


# --- MutatingWebhookConfiguration ------------------------------------------------------------


def test_webhook_registration_matches_the_spec():
    hook = the_webhook(scenario("certmanager"))
    assert hook == {
        "name": "cacheblend-inject.lmcache.ai",
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Ignore",
        "reinvocationPolicy": "Never",
        "matchPolicy": "Equivalent",
        "timeoutSeconds": 5,
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
        "objectSelector": {
            "matchExpressions": [
                {"key": "lmcache.ai/cacheblend-inject", "operator": "In", "values": ["true"]}
            ]
        },
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system", "kube-public"],
                }
            ]
        },
        "clientConfig": {
            "service": {"name": NAME, "namespace": NAMESPACE, "path": "/mutate", "port": 443}
        },
    }


def test_each_mode_has_its_entry_and_path():
    """One process, two paths: each opt-in label is routed to its own path; a pod with
    both labels matches only the CacheBlend entry."""
    cacheblend, lmcache = mwc(scenario("certmanager"))["webhooks"]
    assert lmcache["name"] == "lmcache-inject.lmcache.ai"
    assert lmcache["clientConfig"]["service"]["path"] == "/mutate-lmcache"
    assert lmcache["objectSelector"] == {
        "matchExpressions": [
            {"key": "lmcache.ai/lmcache-inject", "operator": "In", "values": ["true"]},
            {"key": "lmcache.ai/cacheblend-inject", "operator": "NotIn", "values": ["true"]},
        ]
    }
    same = {k: v for k, v in lmcache.items() if k not in ("name", "objectSelector")}
    same["clientConfig"] = {"service": {**lmcache["clientConfig"]["service"], "path": "/mutate"}}
    assert same == {k: v for k, v in cacheblend.items() if k not in ("name", "objectSelector")}


def test_the_configuration_is_created_after_everything_else():
    """After install and upgrade, and again after a rollback to a revision with the webhook
    (an upgrade in between may have turned it off and deleted the configuration)."""
    annotations = mwc(scenario("certmanager"))["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade,post-rollback"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_the_only_cluster_permission_is_get_on_namespaces():
    rendered = scenario("certmanager")
    assert rendered.get("ClusterRole", MWC_NAME)["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}
    ]
    binding = rendered.get("ClusterRoleBinding", MWC_NAME)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


CLEANUP = f"{NAME}-cleanup"


def uninstall_hook(doc: dict[str, Any]) -> bool:
    """Whether Helm creates this object only for `helm uninstall` (a pre-delete hook)."""
    annotations = doc["metadata"].get("annotations") or {}
    return annotations.get("helm.sh/hook") == "pre-delete"


def test_uninstall_deletes_the_configuration_first_with_the_least_permission():
    """The configuration is a hook, which `helm uninstall` would leave behind: a pre-delete
    Job, allowed to delete that one configuration only, removes it first."""
    rendered = scenario("certmanager")
    job = rendered.get("Job", CLEANUP)
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"
    spec = job["spec"]["template"]["spec"]
    (cleanup,) = spec["containers"]
    assert cleanup["image"] == container(rendered)["image"]
    # The webhook's own parser accepts the arguments and names the rendered configuration.
    args = webhook_parser().parse_args(cleanup["args"])
    assert args.delete_configuration == MWC_NAME == mwc(rendered)["metadata"]["name"]
    role = rendered.get("ClusterRole", f"{MWC_NAME}-cleanup")
    assert role["rules"] == [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "resourceNames": [MWC_NAME],
            "verbs": ["delete"],
        }
    ]
    binding = rendered.get("ClusterRoleBinding", f"{MWC_NAME}-cleanup")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": spec["serviceAccountName"], "namespace": NAMESPACE}
    ]
    account = rendered.get("ServiceAccount", spec["serviceAccountName"])
    # RBAC and the account exist before the Job runs (lower hook weight).
    for obj in (account, role, binding):
        annotations = obj["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-delete"
        assert int(annotations["helm.sh/hook-weight"]) < 0
    # Its pods are not the webhook's: the Service and the PodDisruptionBudget never pick them.
    service = rendered.get("Service", NAME)["spec"]["selector"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not service.items() <= labels.items()


def test_no_cleanup_job_without_the_webhook():
    assert "Job" not in {d["kind"] for d in scenario("disabled").docs}


def _seed(**webhook: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"cacheBlendEngines": BLEND_ENGINE}
    if webhook:
        values["webhook"] = webhook
    return values


def test_a_cacheblend_engine_alone_turns_the_webhook_on():
    rendered = render(_seed())
    assert refs(rendered) >= {("MutatingWebhookConfiguration", MWC_NAME, "")}


def test_an_explicit_false_keeps_it_off_even_with_cacheblend_engines():
    assert refs(render(_seed(enabled=False))) == set()


def test_plain_engines_alone_leave_it_off_and_true_turns_it_on():
    plain = {"engines": {"kv": {"l1": {"sizeGB": 10}}}}
    assert refs(render(plain)) == set()
    assert ("MutatingWebhookConfiguration", MWC_NAME, "") in refs(
        render({**plain, "webhook": {"enabled": True}})
    )


def test_the_default_webhook_without_cert_manager_fails_naming_the_other_tls_modes():
    result = render(_seed(), api_versions=())
    assert result.returncode != 0
    message = result.stderr
    assert "webhook.tls.mode: is certManager" in message
    assert "cacheBlendEngines has an entry" in message
    assert "webhook.enabled: false" in message
    assert "helm (the chart generates the certificate)" in message
    assert "secret (you provide it)" in message


def test_failure_policy_timeout_and_exclusions_come_from_values():
    hook = the_webhook(scenario("issuer"))
    assert hook["failurePolicy"] == "Fail"
    assert hook["timeoutSeconds"] == 10
    (expr,) = hook["namespaceSelector"]["matchExpressions"]
    assert expr["values"] == ["kube-system", "kube-public", "cert-manager"]


@pytest.mark.parametrize("name", ENABLED)
def test_the_release_namespace_is_never_excluded(name):
    selector = the_webhook(scenario(name))["namespaceSelector"]
    excluded = [v for e in selector.get("matchExpressions", []) for v in e["values"]]
    assert NAMESPACE not in excluded


def test_an_empty_exclusion_list_selects_every_namespace():
    assert the_webhook(scenario("secret"))["namespaceSelector"] == {}


def test_configuration_name_is_unique_per_release_and_namespace():
    names = {
        mwc_doc["metadata"]["name"]
        for release, namespace in [("rel", "llm"), ("rel", "other"), ("second", "llm")]
        for mwc_doc in render(
            {"webhook": {"enabled": True}}, release=release, namespace=namespace
        ).kinds("MutatingWebhookConfiguration")
    }
    assert len(names) == 3


def test_certmanager_mode_injects_the_ca_from_the_serving_certificate():
    rendered = scenario("certmanager")
    annotations = mwc(rendered)["metadata"]["annotations"]
    assert annotations == {
        **HOOK_ANNOTATIONS,
        "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{NAME}-tls",
    }
    assert "caBundle" not in the_webhook(rendered)["clientConfig"]


def test_issuer_mode_injects_the_ca_from_the_serving_certificate():
    annotations = mwc(scenario("issuer"))["metadata"]["annotations"]
    assert annotations == {
        **HOOK_ANNOTATIONS,
        "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{NAME}-tls",
    }


def test_secret_mode_sets_the_given_ca_bundle():
    given = yaml.safe_load(SCENARIOS["secret"].read_text())["webhook"]["tls"]["secret"]
    rendered = scenario("secret")
    assert the_webhook(rendered)["clientConfig"]["caBundle"] == given["caBundle"]
    assert mwc(rendered)["metadata"]["annotations"] == HOOK_ANNOTATIONS
    tls_volume = next(v for v in pod_spec(rendered)["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == given["name"]


# --- Deployment ------------------------------------------------------------------------------


def test_deployment_runs_two_replicas_by_default_and_the_configured_count():
    assert scenario("certmanager").get("Deployment", NAME)["spec"]["replicas"] == 2
    assert scenario("secret").get("Deployment", NAME)["spec"]["replicas"] == 3


def test_pod_is_non_root_read_only_without_capabilities():
    spec = pod_spec(scenario("certmanager"))
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container(scenario("certmanager"))["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["automountServiceAccountToken"] is True
    assert spec["serviceAccountName"] == NAME
    assert "hostIPC" not in spec and "hostNetwork" not in spec


def test_container_args_name_the_certificate_and_the_release_namespace():
    assert container(scenario("helm-tls"))["args"] == [
        "--host",
        "0.0.0.0",
        "--port",
        "8443",
        "--tls-cert",
        "/tls/tls.crt",
        "--tls-key",
        "/tls/tls.key",
        "--engine-namespace",
        NAMESPACE,
        "--log-level",
        "DEBUG",
    ]


def test_engine_namespace_follows_the_release_namespace():
    rendered = render({"webhook": {"enabled": True}}, namespace="inference")
    args = rendered.get("Deployment", NAME)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--engine-namespace") + 1] == "inference"


def test_port_value_sets_args_container_port_and_probes_follow_the_named_port():
    c = container(scenario("secret"))
    assert c["args"][c["args"].index("--port") + 1] == "9443"
    assert c["ports"] == [{"name": "https", "containerPort": 9443, "protocol": "TCP"}]
    service = scenario("secret").get("Service", NAME)
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]


def test_probes_use_healthz_and_readyz_over_https():
    c = container(scenario("certmanager"))
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}


def test_tls_secret_is_mounted_read_only_and_tmp_is_writable():
    rendered = scenario("certmanager")
    assert container(rendered)["volumeMounts"] == [
        {"name": "tls", "mountPath": "/tls", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    assert pod_spec(rendered)["volumes"] == [
        {"name": "tls", "secret": {"secretName": f"{NAME}-tls", "defaultMode": 0o440}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]


def test_resources_have_requests_and_a_memory_limit():
    resources = container(scenario("certmanager"))["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"memory"}


def test_image_tag_defaults_to_the_chart_app_version():
    c = container(scenario("certmanager"))
    assert c["image"] == f"lmcache/cacheblend-webhook:{APP_VERSION}"
    assert c["imagePullPolicy"] == "IfNotPresent"
    c = container(scenario("secret"))
    assert c["image"] == "registry.example.com/lmcache/cacheblend-webhook:0.1.0"
    assert c["imagePullPolicy"] == "Always"


def test_image_digest_is_rendered_with_an_at_sign():
    digest = "sha256:" + "a" * 64
    c = render_values({"image": {"tag": digest}}).get("Deployment", NAME)
    image = c["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"lmcache/cacheblend-webhook@{digest}"


def test_replicas_prefer_different_nodes_by_default():
    affinity = pod_spec(scenario("certmanager"))["affinity"]
    assert affinity == {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": SELECTOR},
                    },
                }
            ]
        }
    }


def test_pod_shaping_values_are_rendered():
    given = yaml.safe_load(SCENARIOS["secret"].read_text())["webhook"]
    rendered = scenario("secret")
    spec = pod_spec(rendered)
    assert spec["affinity"] == given["affinity"]
    assert spec["nodeSelector"] == given["nodeSelector"]
    assert spec["tolerations"] == given["tolerations"]
    assert spec["priorityClassName"] == given["priorityClassName"]
    assert spec["imagePullSecrets"] == given["imagePullSecrets"]
    assert container(rendered)["resources"] == given["resources"]
    metadata = rendered.get("Deployment", NAME)["spec"]["template"]["metadata"]
    assert metadata["annotations"] == given["podAnnotations"]
    assert metadata["labels"].items() >= {**given["podLabels"], **SELECTOR}.items()


def test_pod_labels_never_override_selector_labels():
    rendered = render_values({"podLabels": {"app.kubernetes.io/component": "x", "team": "a"}})
    deployment = rendered.get("Deployment", NAME)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "webhook"
    assert labels["team"] == "a"
    assert deployment["spec"]["selector"]["matchLabels"] == SELECTOR


# --- PodDisruptionBudget ---------------------------------------------------------------------


def test_pdb_keeps_one_pod_available_by_default():
    pdb = scenario("certmanager").get("PodDisruptionBudget", NAME)
    assert pdb["spec"] == {
        "minAvailable": 1,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
        "selector": {"matchLabels": SELECTOR},
    }


def test_pdb_max_unavailable_replaces_min_available():
    spec = scenario("secret").get("PodDisruptionBudget", NAME)["spec"]
    assert spec["maxUnavailable"] == 1
    assert "minAvailable" not in spec


def test_pdb_accepts_a_percentage():
    rendered = render_values({"podDisruptionBudget": {"minAvailable": "50%"}}, helm="helm4")
    assert rendered.get("PodDisruptionBudget", NAME)["spec"]["minAvailable"] == "50%"


# --- RBAC ------------------------------------------------------------------------------------


def rbac(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """The webhook's Roles and RoleBindings, by namespace."""
    out: dict[str, dict[str, Any]] = {"Role": {}, "RoleBinding": {}}
    for doc in webhook_objects(rendered):
        if doc["kind"] in out:
            out[doc["kind"]][doc["metadata"]["namespace"]] = doc
    return out


@pytest.mark.parametrize(
    ("name", "namespaces"),
    [("certmanager", {NAMESPACE}), ("issuer", {NAMESPACE, "shared-engines"})],
)
def test_rbac_is_only_get_on_configmaps_in_the_engine_namespaces(name, namespaces):
    rendered = scenario(name)
    found = rbac(rendered)
    assert set(found["Role"]) == namespaces
    assert set(found["RoleBinding"]) == namespaces
    for ns, role in found["Role"].items():
        assert role["rules"] == CONFIGMAP_GET
        binding = found["RoleBinding"][ns]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
        ]
    # Cluster-wide, only `get` on namespaces (the Pod Security check), bound once; the
    # uninstall hook's own role is checked in test_uninstall_deletes_the_configuration_first.
    assert [r["rules"] for r in rendered.kinds("ClusterRole") if not uninstall_hook(r)] == [
        [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]
    ]
    bound = [
        doc["roleRef"]["name"]
        for doc in rendered.kinds("ClusterRoleBinding")
        if any(s.get("name") == NAME for s in doc.get("subjects", []))
    ]
    assert bound == [MWC_NAME]


def test_engine_namespaces_listing_the_release_namespace_add_no_duplicate_role():
    rendered = render_values({"engineNamespaces": [NAMESPACE, "a", "a"]})
    assert sorted(rbac(rendered)["Role"]) == ["a", NAMESPACE]


# --- cert-manager chain ----------------------------------------------------------------------


def test_certmanager_chain_self_signed_issuer_ca_certificate_ca_issuer_serving_certificate():
    rendered = scenario("certmanager")
    selfsigned = rendered.get("Issuer", f"{NAME}-selfsigned")
    ca_cert = rendered.get("Certificate", f"{NAME}-ca")
    ca_issuer = rendered.get("Issuer", f"{NAME}-ca")
    serving = rendered.get("Certificate", f"{NAME}-tls")
    assert selfsigned["spec"] == {"selfSigned": {}}
    assert ca_cert["spec"]["isCA"] is True
    assert ca_cert["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "Issuer",
        "name": f"{NAME}-selfsigned",
    }
    assert ca_issuer["spec"] == {"ca": {"secretName": ca_cert["spec"]["secretName"]}}
    assert serving["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "Issuer",
        "name": f"{NAME}-ca",
    }
    assert "isCA" not in serving["spec"]
    assert serving["spec"]["dnsNames"] == SERVICE_DNS
    assert serving["spec"]["secretName"] == f"{NAME}-tls"
    assert serving["spec"]["duration"] == "8760h"
    assert ca_cert["spec"]["duration"] == "43800h"


def test_serving_certificate_follows_the_cluster_domain():
    rendered = render_values({}, clusterDomain="k8s.example")
    dns = rendered.get("Certificate", f"{NAME}-tls")["spec"]["dnsNames"]
    assert dns[-1] == f"{NAME}.{NAMESPACE}.svc.k8s.example"


def test_user_issuer_replaces_the_chart_chain():
    rendered = scenario("issuer")
    assert rendered.kinds("Issuer") == []
    serving = rendered.get("Certificate", f"{NAME}-tls")
    assert serving["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "internal-ca",
    }
    assert serving["spec"]["dnsNames"] == SERVICE_DNS
    assert serving["spec"]["duration"] == "2160h"


@pytest.mark.parametrize("helm", HELMS)
def test_certmanager_mode_without_the_api_fails_with_what_to_do(helm):
    rendered = render_values({}, helm=helm, api_versions=("monitoring.coreos.com/v1",))
    assert rendered.returncode != 0
    message = " ".join(rendered.stderr.split())
    assert "does not serve the cert-manager.io/v1 API" in message
    assert "Install cert-manager" in message
    assert "--api-versions cert-manager.io/v1" in message
    assert "set webhook.tls.mode to helm" in message


@pytest.mark.parametrize("mode", ["helm", "secret"])
def test_other_tls_modes_need_no_cert_manager(mode):
    tls = {"mode": mode}
    if mode == "secret":
        tls["secret"] = {"name": "my-tls", "caBundle": base64.b64encode(b"pem").decode()}
    rendered = render_values({"tls": tls}, api_versions=())
    assert rendered.returncode == 0, rendered.stderr
    assert not [d for d in rendered.docs if d["apiVersion"].startswith("cert-manager.io/")]


def test_trust_crds_exist_renders_cert_manager_objects_without_the_api():
    rendered = render_values({"tls": {"certManager": {"trustCRDsExist": True}}}, api_versions=())
    assert len(rendered.kinds("Certificate")) == 2


# --- mode helm -------------------------------------------------------------------------------


def helm_mode_material(rendered: Rendered) -> tuple[x509.Certificate, x509.Certificate, Any]:
    secret = rendered.get("Secret", f"{NAME}-tls")
    assert secret["type"] == "kubernetes.io/tls"
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert set(data) == {"ca.crt", "tls.crt", "tls.key"}
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    cert = x509.load_pem_x509_certificate(data["tls.crt"])
    key = serialization.load_pem_private_key(data["tls.key"], password=None)
    return ca, cert, key


@pytest.mark.parametrize("helm", HELMS)
def test_helm_mode_generates_a_ca_and_a_serving_cert_for_the_service_names(helm):
    rendered = scenario("helm-tls", helm)
    ca, cert, key = helm_mode_material(rendered)
    assert ca.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca is True
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(SERVICE_DNS)
    cert.verify_directly_issued_by(ca)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    validity = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert validity.days == 730


@pytest.mark.parametrize("helm", HELMS)
def test_helm_mode_ca_bundle_equals_the_secret_ca(helm):
    rendered = scenario("helm-tls", helm)
    secret = rendered.get("Secret", f"{NAME}-tls")
    assert the_webhook(rendered)["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    assert mwc(rendered)["metadata"]["annotations"] == HOOK_ANNOTATIONS
    tls_volume = next(v for v in pod_spec(rendered)["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == secret["metadata"]["name"]


def test_helm_template_generates_a_new_certificate_each_time():
    # lookup returns nothing without a cluster: documented in docs/webhook-install.md
    first = scenario("helm-tls").get("Secret", f"{NAME}-tls")["data"]["ca.crt"]
    again = render(values_files=[SCENARIOS["helm-tls"]]).get("Secret", f"{NAME}-tls")
    assert again["data"]["ca.crt"] != first


# --- disabled --------------------------------------------------------------------------------


@pytest.mark.parametrize("helm", HELMS)
def test_disabled_webhook_renders_no_webhook_object(helm):
    for out in (scenario("disabled", helm), render({}, helm=helm)):
        assert webhook_objects(out) == []
        kinds = {d["kind"] for d in out.docs}
        assert not kinds & {"MutatingWebhookConfiguration", "Issuer", "Certificate"}
        assert not [d for d in out.docs if "webhook" in d["metadata"]["name"]]


def test_disabled_webhook_needs_no_cert_manager():
    rendered = render(values_files=[SCENARIOS["disabled"]], api_versions=())
    assert rendered.returncode == 0, rendered.stderr


# --- helm lint -------------------------------------------------------------------------------


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_ci_scenario_passes_helm_lint_strict(name, helm):
    # helm lint has no --api-versions flag: the cert-manager scenarios set trustCRDsExist.
    proc = subprocess.run(
        [helm_binary(helm), "lint", "--strict", str(CHART), "-f", str(SCENARIOS[name])],
        capture_output=True,
        text=True,
        env=helm_env(helm),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout


# --- values and schema -----------------------------------------------------------------------

BAD_VALUES = [
    ({"bogus": 1}, "webhook", "webhook.bogus"),
    ({"failurePolicy": "Sometimes"}, "webhook.failurePolicy", "webhook.failurePolicy"),
    ({"timeoutSeconds": 31}, "webhook.timeoutSeconds", "webhook.timeoutSeconds"),
    ({"timeoutSeconds": 0}, "webhook.timeoutSeconds", "webhook.timeoutSeconds"),
    ({"tls": {"mode": "vault"}}, "webhook.tls.mode", "webhook.tls.mode"),
    ({"tls": {"mode": "secret"}}, "webhook.tls.secret.name", "webhook.tls.secret.name"),
    (
        {"tls": {"mode": "secret", "secret": {"name": "x", "caBundle": "-----BEGIN CERT"}}},
        "webhook.tls.secret.caBundle",
        "webhook.tls.secret.caBundle",
    ),
    ({"replicas": 0}, "webhook.replicas", "webhook.replicas"),
    ({"port": 443}, "webhook.port", "webhook.port"),
    (
        {"excludedNamespaces": ["Kube_System"]},
        "webhook.excludedNamespaces.0",
        "webhook.excludedNamespaces.0",
    ),
    (
        {"podDisruptionBudget": {"minAvailable": "half"}},
        "webhook.podDisruptionBudget.minAvailable",
        "webhook.podDisruptionBudget.minAvailable",
    ),
]


def helm_path(dotted: str, helm: str) -> str:
    """Where each Helm version reports a values path: dotted (3) or a JSON pointer (4)."""
    if helm == "helm3":
        return f"- {dotted}:"
    return "at '/" + dotted.replace(".", "/") + "'"


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(("webhook", "helm_at", "issue_at"), BAD_VALUES)
def test_bad_webhook_values_are_rejected_by_helm_with_the_path(webhook, helm_at, issue_at, helm):
    rendered = render_values(webhook, helm=helm)
    assert rendered.returncode != 0
    assert helm_path(helm_at, helm) in rendered.stderr, rendered.stderr


@pytest.mark.parametrize(("webhook", "helm_at", "issue_at"), BAD_VALUES)
def test_bad_webhook_values_are_rejected_by_check_values_with_the_path(webhook, helm_at, issue_at):
    issues = check_values({"webhook": {"enabled": True, **webhook}})
    assert issue_at in {i.path for i in issues}, issues


def test_secret_mode_names_both_missing_fields():
    issues = check_values({"webhook": {"tls": {"mode": "secret"}}})
    assert {str(i) for i in issues} == {
        "webhook.tls.secret.name: is required when tls.mode is secret (got '')",
        "webhook.tls.secret.caBundle: is required when tls.mode is secret (got '')",
    }


@pytest.mark.parametrize("name", SCENARIOS)
def test_ci_scenarios_pass_check_values(name):
    assert check_values(yaml.safe_load(SCENARIOS[name].read_text())) == []


def values_yaml_webhook_block() -> list[str]:
    """The `webhook:` block of values.yaml: its leading comment up to the next top-level line."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    key = lines.index("webhook:")
    start = key
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    end = next(
        (i for i in range(key + 1, len(lines)) if re.match(r"[A-Za-z#]", lines[i])), len(lines)
    )
    return lines[start:end]


def test_values_yaml_webhook_block_equals_the_model_defaults():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["webhook"] == WebhookValues().model_dump(mode="json", by_alias=True)


def test_every_key_of_the_values_yaml_webhook_block_has_a_comment_above_it():
    block = values_yaml_webhook_block()
    undocumented = [
        line.strip()
        for previous, line in zip(block, block[1:], strict=False)
        if re.match(r"\s*[A-Za-z][\w./-]*:", line) and not previous.lstrip().startswith("#")
    ]
    assert undocumented == []


def test_committed_schema_is_current_for_the_webhook():
    import json

    from lmcache_k8s.generate import SCHEMA_FILE, values_schema

    committed = json.loads(Path(SCHEMA_FILE).read_text())
    generated = values_schema()
    for name in (
        "WebhookValues",
        "WebhookTLS",
        "SecretTLS",
        "CertManagerTLS",
        "PodDisruptionBudget",
    ):
        assert committed["$defs"][name] == generated["$defs"][name], (
            f"run python -m lmcache_k8s.generate --write ({name})"
        )
