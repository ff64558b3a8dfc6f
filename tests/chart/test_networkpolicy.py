"""The NetworkPolicies (networkPolicy: in values; docs/security.md), on every ci/ scenario.

Selectors are checked against the rendered pod templates' labels; the flows that must be
allowed or denied are evaluated with tests/chart/netpol_eval.py, a small implementation of
the NetworkPolicy semantics (OR of policies, AND of the selectors of one peer, named ports
resolved against the target container).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from lmcache_k8s.names import (
    CACHEBLEND_ENGINE_ANNOTATION,
    CACHEBLEND_INJECT_LABEL,
    CLIENT_OF_LABEL,
    COMPONENT_LABEL,
    COORDINATOR_REF_ANNOTATION,
    TRUE,
)
from lmcache_k8s.validate import check_values
from tests.chart.helpers import blend, engine, notes, ok, pod_spec, rendered
from tests.chart.netpol_eval import Pod, admits, selects
from tests.support import CI_VALUES, K8S_VERSIONS, NAMESPACE, ref, validate_object
from webhook.connection import parse_connection_data
from webhook.inject import Injected, decide

ENGINE_COMPONENTS = ("cache-engine", "cacheblend-engine")
OTHER_NS = "inference"
# kube-prometheus-stack's Prometheus pod, as the Prometheus Operator labels it.
PROMETHEUS = Pod(
    "monitoring",
    {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus",
        "prometheus": "kube-prometheus-stack-prometheus",
    },
)
CONSUMER = Pod(NAMESPACE, {"app": "vllm"})  # mounts N-connection: no label needed
STRANGER = Pod(OTHER_NS, {"app": "vllm"})
NEIGHBOUR = Pod(NAMESPACE, {"app": "something-else"})
API_SERVER = Pod("", {}, ip="172.18.0.2")  # not a pod: matched by ipBlock only
NODE = Pod(host=True)  # the kubelet on the target's node

scenarios = pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)


def load(path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("DaemonSet", "Deployment")}


def policies(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


def as_pod(workload: dict[str, Any]) -> Pod:
    ports = {
        p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
        for c in pod_spec(workload)["containers"]
        for p in c.get("ports") or []
    }
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return Pod(workload["metadata"]["namespace"], labels, ports)


def component(workload: dict[str, Any]) -> str:
    return workload["spec"]["template"]["metadata"]["labels"][COMPONENT_LABEL]


def probe_ports(workload: dict[str, Any]) -> list[int]:
    pod = as_pod(workload)
    out = []
    for c in pod_spec(workload)["containers"]:
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = c.get(kind) or {}
            action = probe.get("tcpSocket") or probe.get("httpGet")
            if action:
                port = action["port"]
                out.append(pod.ports[port][0] if isinstance(port, str) else port)
    return out


# --- selectors ----------------------------------------------------------------------------


@scenarios
def test_each_policy_selects_exactly_its_components_pods(values):
    docs = ok(load(values)).docs
    pods = workloads(docs)
    assert pods, "every scenario deploys something"
    selected_by: dict[str, list[str]] = {name: [] for name in pods}
    for policy in policies(docs):
        chosen = {
            name
            for name, w in pods.items()
            if w["metadata"]["namespace"] == policy["metadata"]["namespace"]
            and selects(policy["spec"]["podSelector"], as_pod(w).labels)
        }
        # The policy is named after its workload (entry N, or the webhook's fullname).
        assert chosen == {policy["metadata"]["name"]}, ref(policy)
        assert policy["metadata"]["labels"][COMPONENT_LABEL] == component(
            pods[policy["metadata"]["name"]]
        )
        for name in chosen:
            selected_by[name].append(ref(policy))
    assert all(len(v) == 1 for v in selected_by.values()), selected_by


@scenarios
def test_every_policy_validates_against_the_kubernetes_schemas(values):
    for policy in policies(ok(load(values)).docs):
        for version in K8S_VERSIONS:
            validate_object(policy, version)


@scenarios
def test_no_rule_admits_every_source_except_the_webhooks(values):
    # An empty list of peers must never turn into a rule without `from` (= every source).
    for policy in policies(ok(load(values)).docs):
        webhook = policy["metadata"]["labels"][COMPONENT_LABEL] == "webhook"
        for rule in policy["spec"]["ingress"]:
            assert rule.get("ports"), ref(policy)
            assert webhook or rule.get("from"), ref(policy)


# --- flows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    what: str
    source: Pod
    target: str  # workload name
    port: int
    allowed: bool


def flows(docs: list[dict[str, Any]]) -> list[Flow]:
    """The flows every render must allow and deny, derived from its own objects."""
    pods = workloads(docs)
    out: list[Flow] = []
    for name, w in pods.items():
        pod = as_pod(w)
        for port in probe_ports(w):
            # Allowed only through the node-local exception (the CNI assumption).
            out.append(Flow("kubelet probe", NODE, name, port, True))
        if component(w) in ENGINE_COMPONENTS:
            server, http = pod.ports["server"][0], pod.ports["http"][0]
            wired = Pod(OTHER_NS, {"app": "vllm", CLIENT_OF_LABEL: name})
            other = Pod(OTHER_NS, {CLIENT_OF_LABEL: f"not-{name}"})
            out += [
                Flow("consumer in the release namespace to ZMQ", CONSUMER, name, server, True),
                Flow("labelled pod in another namespace to ZMQ", wired, name, server, True),
                Flow("unlabelled pod in another namespace to ZMQ", STRANGER, name, server, False),
                Flow("pod labelled for another engine to ZMQ", other, name, server, False),
                Flow("pod of the release namespace to HTTP", NEIGHBOUR, name, http, False),
                Flow("consumer to HTTP (admin API)", CONSUMER, name, http, False),
                Flow("labelled pod to HTTP (admin API)", wired, name, http, False),
                Flow("Prometheus to ZMQ", PROMETHEUS, name, server, False),
            ]
            ref_name = (w["metadata"].get("annotations") or {}).get(COORDINATOR_REF_ANNOTATION)
            if ref_name:
                coordinator = as_pod(pods[ref_name])
                port = coordinator.ports["http"][0]
                out.append(Flow(f"engine {name} to its coordinator", pod, ref_name, port, True))
                # The coordinator pushes fleet eviction (DELETE /cache/objects) and prefetches
                # to the HTTP port of every engine registered with it.
                out.append(
                    Flow(f"coordinator {ref_name} to {name}'s HTTP", coordinator, name, http, True)
                )
            for c in pods.values():
                if component(c) == "coordinator" and c["metadata"]["name"] != ref_name:
                    out.append(
                        Flow(
                            f"unrelated coordinator to {name}'s HTTP", as_pod(c), name, http, False
                        )
                    )
        if component(w) == "coordinator":
            port = pod.ports["http"][0]
            referencing = [
                e
                for e in pods.values()
                if (e["metadata"].get("annotations") or {}).get(COORDINATOR_REF_ANNOTATION) == name
            ]
            out += [
                Flow("pod of the release namespace to coordinator", NEIGHBOUR, name, port, False),
                Flow("consumer to coordinator", CONSUMER, name, port, False),
                Flow("pod of another namespace to coordinator", STRANGER, name, port, False),
            ]
            for e in pods.values():
                if component(e) in ENGINE_COMPONENTS and e not in referencing:
                    out.append(
                        Flow("unrelated engine to coordinator", as_pod(e), name, port, False)
                    )
        if component(w) == "webhook":
            port = pod.ports["https"][0]
            out += [
                Flow("API server to webhook", API_SERVER, name, port, True),
                Flow("any pod to another webhook port", STRANGER, name, port + 1, False),
            ]
    for svc in docs:
        if svc["kind"] != "Service" or not svc["metadata"]["name"].endswith("-metrics"):
            continue
        (target,) = [
            n
            for n, w in pods.items()
            if selects({"matchLabels": svc["spec"]["selector"]}, as_pod(w).labels)
        ]
        (svc_port,) = svc["spec"]["ports"]
        port = as_pod(pods[target]).ports[svc_port["targetPort"]][0]
        out.append(
            Flow(f"Prometheus scrapes {svc['metadata']['name']}", PROMETHEUS, target, port, True)
        )
    return out


def verdicts(docs: list[dict[str, Any]], table: list[Flow]) -> list[str]:
    """The flows whose outcome differs from what the table expects (empty: all agree)."""
    pods = workloads(docs)
    wrong = []
    for flow in table:
        got = admits(policies(docs), flow.source, as_pod(pods[flow.target]), flow.port)
        if got != flow.allowed:
            wrong.append(
                f"{flow.what} -> {flow.target}:{flow.port}: {'allowed' if got else 'denied'}"
            )
    return wrong


@scenarios
def test_flows_that_must_pass_pass_and_the_others_are_denied(values):
    docs = ok(load(values)).docs
    table = flows(docs)
    assert any(f.allowed for f in table) and any(not f.allowed for f in table)
    assert verdicts(docs, table) == []


# Combinations the ci/ scenarios do not cover: a coordinator with two engines where only one
# references it, metrics off on both ends, and entries adopted from the reference operator
# (their pods carry the operator's labels, which every peer naming them must use).
MORE = {
    "ref-metrics-off": {
        "coordinators": {"fleet": {"prometheus": {"enabled": False}}, "other": {}},
        "engines": {
            "a": engine(coordinator={"ref": {"name": "fleet"}}, prometheus={"enabled": False}),
            "b": engine(coordinator={"ref": {"name": "other"}}),
            "c": engine(),
        },
    },
    "adopted": {
        "coordinators": {"fleet": {"adoptOperatorObjects": True}},
        "engines": {
            "old": engine(adoptOperatorObjects=True, coordinator={"ref": {"name": "fleet"}}),
            "new": engine(coordinator={"ref": {"name": "fleet"}}, server={"httpPort": 9000}),
        },
    },
}


@pytest.mark.parametrize("values", MORE.values(), ids=MORE.keys())
def test_flows_and_selectors_beyond_the_scenarios(values):
    docs = ok(values).docs
    pods = workloads(docs)
    for policy in policies(docs):
        chosen = {
            n for n, w in pods.items() if selects(policy["spec"]["podSelector"], as_pod(w).labels)
        }
        assert chosen == {policy["metadata"]["name"]}, ref(policy)
    table = flows(docs)
    assert any("to its coordinator" in f.what for f in table)
    assert any(f.what.startswith("coordinator ") and f.allowed for f in table)
    assert verdicts(docs, table) == []


@scenarios
def test_without_the_policies_every_flow_is_allowed(values):
    # The evaluator is not vacuous: the same table, without the policies, allows everything.
    docs = ok(load(values)).docs
    table = flows(docs)
    open_docs = [d for d in docs if d["kind"] != "NetworkPolicy"]
    assert all(admits([], f.source, as_pod(workloads(open_docs)[f.target]), f.port) for f in table)


def test_adopted_engines_reach_their_coordinator():
    # adoptOperatorObjects gives an entry's pods the reference operator's selector labels
    # (instance: <entry>, not the release): the coordinator's policy must admit those pods,
    # or the engines lose their coordinator when Helm takes the operator's objects over.
    values = {
        "coordinators": {"fleet": {"adoptOperatorObjects": True}},
        "engines": {
            "adopted": engine(adoptOperatorObjects=True, coordinator={"ref": {"name": "fleet"}}),
            "plain": engine(coordinator={"ref": {"name": "fleet"}}),
            "unrelated": engine(adoptOperatorObjects=True),
        },
        "cacheBlendEngines": {
            "blend": {
                "l1": {"sizeGB": 1},
                "injection": {"payloadImage": {"repository": "r/p"}},
                "adoptOperatorObjects": True,
                "coordinator": {"ref": {"name": "fleet"}},
            }
        },
    }
    docs = ok(values).docs
    table = flows(docs)
    assert {f.what for f in table} >= {
        "engine adopted to its coordinator",
        "engine blend to its coordinator",
        "engine plain to its coordinator",
        "unrelated engine to coordinator",
    }
    assert verdicts(docs, table) == []


# --- values -------------------------------------------------------------------------------


@scenarios
def test_the_switch_turns_every_policy_off(values):
    data = load(values)
    data["networkPolicy"] = {"enabled": False}
    assert policies(ok(data).docs) == []


def test_notes_say_the_admin_api_is_open_when_policies_are_off():
    on = notes({"engines": {"my-cache": engine()}})
    off = notes({"engines": {"my-cache": engine()}, "networkPolicy": {"enabled": False}})
    assert "admin API" not in on
    # On, they say who gets in, in the words of the values to change.
    assert "lmcache.ai/client-of: N" in on and "networkPolicy.scrapers" in on
    assert "networkPolicy.coordinatorClients" not in on  # no coordinator in this release
    assert "kube-prometheus-stack" in on
    empty = notes({"coordinators": {"c": {}}, "networkPolicy": {"scrapers": []}})
    assert "networkPolicy.coordinatorClients" in empty
    assert "(empty: nothing can scrape /metrics)" in empty
    assert "lmcache.ai/client-of" not in empty  # no engine in this release
    assert "networkPolicy.enabled is false" in off
    assert "Every pod of the\ncluster can reach every port of this release" in off
    assert "POST /reconfigure/" in off


def test_scrapers_are_a_value_and_an_empty_list_admits_no_scraper():
    own = {"namespaceSelector": {"matchLabels": {"team": "obs"}}, "podSelector": {}}
    values = {"engines": {"my-cache": engine()}, "coordinators": {"fleet": {}}}
    docs = ok({**values, "networkPolicy": {"scrapers": [own]}}).docs
    pods = workloads(docs)
    ours = Pod("obs", {"app": "vmagent"})
    ns = {"obs": {"team": "obs"}}
    for name in ("my-cache", "fleet"):
        target = as_pod(pods[name])
        assert admits(policies(docs), ours, target, target.ports["http"][0], ns)
        assert not admits(policies(docs), PROMETHEUS, target, target.ports["http"][0], ns)
    docs = ok({**values, "networkPolicy": {"scrapers": []}}).docs
    engine_policy = next(p for p in policies(docs) if p["metadata"]["name"] == "my-cache")
    assert [r["ports"][0]["port"] for r in engine_policy["spec"]["ingress"]] == ["server"]
    # A coordinator nobody references and nobody scrapes admits nothing at all.
    coordinator_policy = next(p for p in policies(docs) if p["metadata"]["name"] == "fleet")
    assert coordinator_policy["spec"]["ingress"] == []


def test_metrics_off_closes_the_http_port():
    docs = ok({"engines": {"my-cache": engine(prometheus={"enabled": False})}}).docs
    target = as_pod(workloads(docs)["my-cache"])
    assert not admits(policies(docs), PROMETHEUS, target, target.ports["http"][0])


def test_coordinator_clients_are_admitted():
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}
    docs = ok({"coordinators": {"fleet": {}}, "networkPolicy": {"coordinatorClients": [peer]}}).docs
    target = as_pod(workloads(docs)["fleet"])
    port = target.ports["http"][0]
    assert admits(policies(docs), Pod("other", {"app": "lmcache"}), target, port)
    assert not admits(policies(docs), STRANGER, target, port)


WEBHOOK = {"webhook": {"enabled": True, "tls": {"mode": "certManager"}}}


def test_api_server_peers_restrict_the_webhook_port():
    control_plane = {"ipBlock": {"cidr": "172.18.0.0/24"}}
    docs = ok({**WEBHOOK, "networkPolicy": {"apiServer": [control_plane]}}).docs
    (name,) = workloads(docs)
    target = as_pod(workloads(docs)[name])
    port = target.ports["https"][0]
    assert admits(policies(docs), API_SERVER, target, port)
    assert admits(policies(docs), PROMETHEUS, target, port)  # /metrics shares the port
    assert not admits(policies(docs), STRANGER, target, port)
    for policy in policies(docs):
        for version in K8S_VERSIONS:
            validate_object(policy, version)


@pytest.mark.parametrize(
    "egress",
    [[], [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]],
    ids=["deny-all", "dns-only"],
)
def test_egress_is_open_unless_rules_are_given(egress):
    values = {"engines": {"my-cache": engine()}, "coordinators": {"fleet": {}}, **WEBHOOK}
    for policy in policies(ok(values).docs):
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        assert "egress" not in policy["spec"]
    values = copy.deepcopy(values) | {"networkPolicy": {"egress": egress}}
    docs = policies(ok(values).docs)
    assert len(docs) == 3
    for policy in docs:
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert policy["spec"]["egress"] == egress
        for version in K8S_VERSIONS:
            validate_object(policy, version)


def test_a_bad_peer_list_is_rejected_with_its_path():
    bad = rendered({"networkPolicy": {"scrapers": "prometheus"}})
    assert not bad.ok
    assert "networkPolicy" in bad.stderr and "scrapers" in bad.stderr


def test_a_pod_the_webhook_injects_in_another_namespace_reaches_the_zmq_port():
    # The chart's ConfigMap, read by the webhook as it reads it from the API, and the pod it
    # injects: the label it adds is the one the chart's policy admits, with no extra step.
    docs = ok({"cacheBlendEngines": {"my-blend": blend()}}).docs
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    config = parse_connection_data(NAMESPACE, "my-blend", configmap["data"])
    asked = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "vllm",
            "namespace": OTHER_NS,
            "labels": {"app": "vllm", CACHEBLEND_INJECT_LABEL: TRUE},
            "annotations": {CACHEBLEND_ENGINE_ANNOTATION: f"{NAMESPACE}/my-blend"},
        },
        "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai", "args": []}]},
    }
    outcome = decide(asked, config)
    assert isinstance(outcome, Injected), outcome
    target = as_pod(workloads(docs)["my-blend"])
    server = target.ports["server"][0]
    before = Pod(OTHER_NS, asked["metadata"]["labels"])
    after = Pod(OTHER_NS, outcome.pod["metadata"]["labels"])
    assert not admits(policies(docs), before, target, server)
    assert admits(policies(docs), after, target, server)
    assert not admits(policies(docs), after, target, target.ports["http"][0])


# A misspelt key would be dropped by an API server or GitOps tool that does not validate
# strictly, and what is left admits more: `podSelector: {}` is every pod of the namespace.
MISSPELT_PEERS = {
    "peer key": ([{"podSelecter": {"matchLabels": {"app": "x"}}}], "podSelecter"),
    "selector key": (
        [{"namespaceSelector": {}, "podSelector": {"matchLabel": {"app": "x"}}}],
        "matchLabel",
    ),
    "operator": (
        [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exist"}]}}],
        "operator",
    ),
    "ipBlock key": ([{"ipBlock": {"cidr": "10.0.0.0/8", "exept": ["10.1.0.0/16"]}}], "exept"),
}


@pytest.mark.parametrize("field", ["scrapers", "coordinatorClients", "apiServer"])
@pytest.mark.parametrize("peers, word", MISSPELT_PEERS.values(), ids=MISSPELT_PEERS.keys())
def test_a_misspelt_peer_is_refused_before_it_can_widen_a_policy(field, peers, word):
    values = {"engines": {"my-cache": engine()}, "networkPolicy": {field: peers}}
    for helm in ("helm3", "helm4"):
        bad = rendered(values, helm)
        assert not bad.ok
        assert field in bad.stderr and word in bad.stderr, bad.stderr
    issues = check_values(values)
    assert issues and all(f"networkPolicy.{field}.0" in str(i) for i in issues), issues


def test_every_kind_of_peer_is_accepted_and_rendered_as_given():
    peers = [
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["vmagent"]}]
            },
        },
        {"namespaceSelector": {}},
    ]
    values = {"engines": {"my-cache": engine()}, "networkPolicy": {"scrapers": peers}}
    assert check_values(values) == []
    (policy,) = policies(ok(values).docs)
    assert policy["spec"]["ingress"][1]["from"] == peers
    for version in K8S_VERSIONS:
        validate_object(policy, version)


# --- the evaluator itself ----------------------------------------------------------------

POLICY = {
    "metadata": {"name": "p", "namespace": "a"},
    "spec": {
        "podSelector": {"matchLabels": {"role": "db"}},
        "ingress": [
            {
                "from": [
                    {"podSelector": {"matchLabels": {"role": "app"}}},
                    {
                        "namespaceSelector": {"matchLabels": {"env": "prod"}},
                        "podSelector": {
                            "matchExpressions": [{"key": "tier", "operator": "Exists"}]
                        },
                    },
                ],
                "ports": [{"port": "pg"}],
            }
        ],
    },
}
DB = Pod("a", {"role": "db"}, {"pg": (5432, "TCP"), "admin": (8080, "TCP")})
NS = {"b": {"env": "prod"}, "c": {"env": "dev"}}


@pytest.mark.parametrize(
    "source, target, port, allowed",
    [
        (Pod("a", {"role": "app"}), DB, 5432, True),  # podSelector alone: same namespace
        (Pod("b", {"role": "app"}), DB, 5432, False),  # ...never another one
        (Pod("b", {"tier": "x"}), DB, 5432, True),  # namespace AND pod selector
        (Pod("c", {"tier": "x"}), DB, 5432, False),  # namespace fails the AND
        (Pod("b", {"role": "app"}), DB, 5432, False),  # pod fails the AND
        (Pod("a", {"role": "app"}), DB, 8080, False),  # named port resolves to 5432 only
        (Pod("a", {"role": "app"}), Pod("a", {"role": "db"}, {}), 5432, False),  # no such port
        (Pod("a", {"role": "x"}), Pod("a", {"role": "web"}), 80, True),  # not selected: open
        (Pod("z", {}), Pod("b", {"role": "db"}), 5432, True),  # policy of another namespace
        (NODE, DB, 8080, True),  # the node-local exception
    ],
)
def test_the_evaluator_follows_the_networkpolicy_semantics(source, target, port, allowed):
    assert admits([POLICY], source, target, port, NS) is allowed


def test_policies_add_up_and_an_empty_from_admits_everyone():
    everyone = copy.deepcopy(POLICY)
    everyone["metadata"]["name"] = "q"
    everyone["spec"]["ingress"] = [{"ports": [{"port": 8080}]}]
    assert not admits([POLICY], STRANGER, DB, 8080, NS)
    assert admits([POLICY, everyone], STRANGER, DB, 8080, NS)
    none = copy.deepcopy(POLICY)
    none["spec"]["ingress"] = []
    assert not admits([none], Pod("a", {"role": "app"}), DB, 5432, NS)
