"""Values of the NetworkPolicies (`networkPolicy:` in values.yaml).

On by default: an engine's HTTP port serves, besides `/metrics`, an unauthenticated admin
API (cache clear, L2 reconfiguration; docs/security.md) that must not be open to the whole
cluster. Every default here is also written, with a comment, in the `networkPolicy:` block
of `charts/lmcache/values.yaml`; tests/chart/test_generated.py proves the two are equal.

Peers are typed (NetworkPolicyPeer and its LabelSelector, with unknown keys refused): a
misspelt key would otherwise be dropped by an API server or a GitOps tool that does not
validate strictly, and what remains admits more, never less (`podSelector: {matchLabel:
...}` becomes `podSelector: {}`, every pod of the namespace). Which combinations of
podSelector, namespaceSelector and ipBlock a peer may hold is left to the API server, which
refuses a wrong one loudly. Egress rules stay free-form NetworkPolicyEgressRule objects
(opt-in; the Kubernetes schemas check them after rendering).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from lmcache_k8s.fields import KubeList, Strict, StringMap


class _Sparse(Strict):
    """Dumps only the keys that are set, as the Kubernetes object is written."""

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class LabelSelectorRequirement(_Sparse):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class LabelSelector(_Sparse):
    """A Kubernetes LabelSelector; `{}` selects everything, as in Kubernetes."""

    matchLabels: StringMap | None = None
    matchExpressions: list[LabelSelectorRequirement] | None = None


class IPBlock(_Sparse):
    cidr: str = Field(min_length=1)
    except_: list[str] | None = Field(None, alias="except")


class NetworkPolicyPeer(_Sparse):
    """A NetworkPolicyPeer (networking.k8s.io/v1): the same keys, nothing else."""

    podSelector: LabelSelector | None = None
    namespaceSelector: LabelSelector | None = None
    ipBlock: IPBlock | None = None


Peers = list[NetworkPolicyPeer]

# kube-prometheus-stack's Prometheus pods, in whatever namespace it runs: the Prometheus
# Operator labels every pod of a Prometheus object `app.kubernetes.io/name: prometheus`.
KUBE_PROMETHEUS_STACK_SCRAPER = NetworkPolicyPeer(
    namespaceSelector=LabelSelector(),
    podSelector=LabelSelector(matchLabels={"app.kubernetes.io/name": "prometheus"}),
)


class NetworkPolicyValues(Strict):
    enabled: bool = Field(
        True,
        description="Render one NetworkPolicy per engine, CacheBlend engine, coordinator and"
        " the webhook. false leaves every port, the engines' admin API included, open to"
        " every pod of the cluster.",
    )
    scrapers: Peers = Field(
        [KUBE_PROMETHEUS_STACK_SCRAPER],
        description="Peers (NetworkPolicyPeer objects) allowed to the metrics (HTTP) ports of engines and"
        " coordinators, and to the webhook's port when apiServer is set. [] admits no"
        " scraper.",
    )
    coordinatorClients: Peers = Field(
        [],
        description="Extra peers allowed to every coordinator's port, besides the engines of"
        " this release that reference it (e.g. engines of other releases that use its URL).",
    )
    apiServer: Peers = Field(
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
