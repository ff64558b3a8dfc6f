"""Values of the NetworkPolicies (`networkPolicy:` in values.yaml).

On by default: an engine's HTTP port serves, besides `/metrics`, an unauthenticated admin
API (cache clear, L2 reconfiguration; docs/security.md) that must not be open to the whole
cluster. Every default here is also written, with a comment, in the `networkPolicy:` block
of `charts/lmcache/values.yaml`; tests/chart/test_generated.py proves the two are equal.

Peers and egress rules are free-form Kubernetes objects (NetworkPolicyPeer,
NetworkPolicyEgressRule): the Kubernetes schemas check them after rendering.
"""

from __future__ import annotations

from pydantic import Field

from lmcache_k8s.fields import KubeList, Strict

# kube-prometheus-stack's Prometheus pods, in whatever namespace it runs: the Prometheus
# Operator labels every pod of a Prometheus object `app.kubernetes.io/name: prometheus`.
KUBE_PROMETHEUS_STACK_SCRAPER = {
    "namespaceSelector": {},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


class NetworkPolicyValues(Strict):
    enabled: bool = Field(
        True,
        description="Render one NetworkPolicy per engine, CacheBlend engine, coordinator and"
        " the webhook. false leaves every port, the engines' admin API included, open to"
        " every pod of the cluster.",
    )
    scrapers: KubeList = Field(
        [KUBE_PROMETHEUS_STACK_SCRAPER],
        description="Peers (NetworkPolicyPeer objects) allowed to the metrics (HTTP) ports of engines and"
        " coordinators, and to the webhook's port when apiServer is set. [] admits no"
        " scraper.",
    )
    coordinatorClients: KubeList = Field(
        [],
        description="Extra peers allowed to every coordinator's port, besides the engines of"
        " this release that reference it (e.g. engines of other releases that use its URL).",
    )
    apiServer: KubeList = Field(
        [],
        description="Peers (usually ipBlock of the control plane) allowed to the webhook's"
        " port. [] opens that one port to every source: the API server's address is not"
        " known in general (docs/security.md).",
    )
    egress: KubeList | None = Field(
        None,
        description="null leaves egress open. A list (NetworkPolicyEgressRule objects) adds"
        " policyType Egress with exactly those rules to every policy; [] denies all egress.",
    )
