"""The kubelet emulation the runtime tier starts processes with (no processes here)."""

from __future__ import annotations

import pytest

from tests.runtime import kubelet

POD = kubelet.PodFacts(name="e-rt", namespace="llm", pod_ip="10.244.0.7", host_ip="10.244.0.1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "a"),
        ("x$(A)y$(B)", "xay$b"),  # B's value is used as is: no second expansion
        ("$(MISSING)", "$(MISSING)"),  # an undefined reference stays as written
        ("$$(A)", "$(A)"),  # $$ escapes the reference
        ("$$", "$"),
        ("cost $5", "cost $5"),
        ('{"password":"$(A)"}', '{"password":"a"}'),
    ],
)
def test_expand_follows_kubernetes(text, expected):
    assert kubelet.expand(text, {"A": "a", "B": "$b"}) == expected


def test_env_is_built_in_order_with_the_downward_api_and_secrets():
    container = {
        "env": [
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "URL", "value": "http://$(IP):8080/$(LATER)"},
            {"name": "LATER", "value": "x"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
        "args": ["--pw", "$(PW)", "--url", "$(URL)"],
    }
    env = kubelet.container_env(container, POD, secrets={("s", "k"): "hunter2"})
    # A value sees only the variables defined before it.
    assert env["URL"] == "http://10.244.0.7:8080/$(LATER)"
    assert env["NS"] == "llm"
    assert kubelet.command_line(container, env) == [
        "--pw",
        "hunter2",
        "--url",
        "http://10.244.0.7:8080/$(LATER)",
    ]


def test_a_missing_secret_key_is_refused_unless_optional():
    ref = {"name": "s", "key": "k"}
    container = {"env": [{"name": "PW", "valueFrom": {"secretKeyRef": ref}}]}
    with pytest.raises(kubelet.Unsupported, match="s/k"):
        kubelet.container_env(container, POD, secrets={})
    ref["optional"] = True
    assert "PW" not in kubelet.container_env(container, POD, secrets={})


def test_service_links_come_first_and_skip_headless_services():
    links = [
        kubelet.ServiceLink("fleet", "10.96.0.3", (("http", 9400, "TCP"),)),
        kubelet.ServiceLink("my-cache-metrics", "", (("metrics", 9090, "TCP"),)),
    ]
    container = {"env": [{"name": "C", "value": "$(FLEET_SERVICE_HOST)"}]}
    env = kubelet.container_env(container, POD, secrets={}, services=links)
    assert env["FLEET_SERVICE_HOST"] == env["C"] == "10.96.0.3"
    assert env["FLEET_SERVICE_PORT_HTTP"] == "9400"
    assert env["FLEET_PORT_9400_TCP_ADDR"] == "10.96.0.3"
    assert not any(k.startswith("MY_CACHE_METRICS") for k in env)
    assert "FLEET_SERVICE_HOST" not in kubelet.container_env(
        container, POD, secrets={}, services=links, service_links=False
    )


def test_probes_get_kubernetes_defaults_and_named_ports():
    container = {
        "ports": [
            {"name": "server", "containerPort": 5555},
            {"name": "http", "containerPort": 8080},
        ],
        "startupProbe": {
            "tcpSocket": {"port": "server"},
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
            "failureThreshold": 30,
        },
        "livenessProbe": {"httpGet": {"path": "/healthcheck", "port": "http"}},
    }
    startup, liveness = kubelet.probes(container)
    assert (startup.port, startup.budget, startup.timeout) == (5555, 155, 1)
    assert (liveness.port, liveness.path, liveness.period, liveness.budget) == (
        8080,
        "/healthcheck",
        10,
        30,
    )
    with pytest.raises(LookupError, match="no port named 'grpc'"):
        kubelet.container_port(container, "grpc")
