"""A NetworkPolicy evaluator for the tests: does a policy set admit one TCP connection?

It follows the networking.k8s.io/v1 semantics as the Kubernetes documentation states them
(concepts/services-networking/network-policies):
- a pod is isolated for ingress when at least one policy of its namespace selects it and has
  Ingress in policyTypes (policyTypes defaults to Ingress, plus Egress when egress is set);
- an isolated pod accepts a connection when any rule of any selecting policy admits it (OR);
- a rule admits a connection when one of its peers matches the source (no `from`, or an
  empty one, matches every source) and one of its ports matches (no `ports`: every port);
- a peer with podSelector alone matches pods of the policy's namespace; namespaceSelector
  alone, every pod of the matching namespaces; both in one peer, their AND;
- a named port matches the target container's port of that name and protocol;
- traffic from the node the target pod runs on (kubelet probes) is always allowed; that is
  the documented exception the chart relies on (docs/security.md), modelled as `host`.
Egress is not evaluated: the chart leaves it open by default.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Selector = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    """One end of a connection: a pod (namespace, labels, named container ports) or the node."""

    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # container port name -> (number, protocol), from the pod template
    ports: dict[str, tuple[int, str]] = field(default_factory=dict)
    ip: str = "10.244.1.10"
    host: bool = False


def selects(selector: Selector | None, labels: dict[str, str]) -> bool:
    """A LabelSelector against labels: matchLabels AND every matchExpressions entry."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def namespace_labels(namespace: str, extra: dict[str, dict[str, str]]) -> dict[str, str]:
    # The API server labels every namespace kubernetes.io/metadata.name (1.21+).
    return {"kubernetes.io/metadata.name": namespace, **extra.get(namespace, {})}


def peer_matches(
    peer: dict[str, Any],
    source: Pod,
    policy_namespace: str,
    ns_labels: dict[str, dict[str, str]],
) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(source.ip)
        if ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ip in ipaddress.ip_network(e) for e in block.get("except") or [])
    if source.host:
        return False  # node traffic is matched only by ipBlock (and the exception below)
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], namespace_labels(source.namespace, ns_labels)):
            return False
    elif source.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], source.labels)


def port_matches(rule_port: dict[str, Any], target: Pod, port: int) -> bool:
    protocol = rule_port.get("protocol", "TCP")
    if protocol != "TCP":
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        named = target.ports.get(wanted)
        return named is not None and named == (port, "TCP")
    return wanted <= port <= rule_port.get("endPort", wanted)


def policy_types(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def admits(
    policies: list[dict[str, Any]],
    source: Pod,
    target: Pod,
    port: int,
    ns_labels: dict[str, dict[str, str]] | None = None,
) -> bool:
    """Whether `policies` let `source` open a TCP connection to `target` on `port`."""
    ns_labels = ns_labels or {}
    if source.host:
        return True  # the node-local exception; the tests only model the target's own node
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == target.namespace
        and "Ingress" in policy_types(p)
        and selects(p["spec"]["podSelector"], target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            if peers and not any(
                peer_matches(peer, source, policy["metadata"]["namespace"], ns_labels)
                for peer in peers
            ):
                continue
            rule_ports = rule.get("ports") or []
            if rule_ports and not any(port_matches(rp, target, port) for rp in rule_ports):
                continue
            return True
    return False
