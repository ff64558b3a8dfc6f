"""The webhook against a fake Kubernetes API over real TLS, end to end through HTTPS."""

from __future__ import annotations

import base64
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lmcache_k8s.names import CACHEBLEND_INJECTED_ANNOTATION, CACHEBLEND_SKIP_REASON_ANNOTATION
from webhook.kube import KubeClient, KubeConfig
from webhook.metrics import Metrics
from webhook.resolver import EngineResolver
from webhook.server import create_app
from webhook.tls import ReloadingTLS

from .builders import connection_data, pod, review
from .conftest import TLSFiles, make_tls_files
from .fake_kube import FakeKube, FakeKubeState
from .serving import RunningWebhook

ENGINE_CM = "blend-connection"


@dataclass
class Stack:
    api: FakeKubeState
    token_file: Path
    webhook_url: str
    webhook_tls: TLSFiles

    def _client(self) -> httpx.Client:
        verify = ssl.create_default_context(cafile=str(self.webhook_tls.ca_file))
        return httpx.Client(verify=verify, timeout=10)

    def admit(self, obj: dict[str, Any], namespace: str = "llm") -> dict[str, Any]:
        with self._client() as http:
            answer = http.post(self.webhook_url + "/mutate", json=review(obj, namespace=namespace))
        assert answer.status_code == 200
        return answer.json()["response"]

    def get(self, path: str) -> httpx.Response:
        with self._client() as http:
            return http.get(self.webhook_url + path)

    def metric(self, name: str, **labels: str) -> float:
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        raise AssertionError(f"metric {name}{labels} not exported")


def annotations_after(response: dict[str, Any]) -> dict[str, str]:
    """The annotations the patch adds (the builders' pods start with one map)."""
    added: dict[str, str] = {}
    for op in json.loads(base64.b64decode(response["patch"])):
        prefix = "/metadata/annotations/"
        if op["path"].startswith(prefix):
            added[op["path"][len(prefix) :].replace("~1", "/")] = op["value"]
    return added


def build_stack(tmp_path: Path, api_url: str | None = None) -> Iterator[Stack]:
    kube_tls = make_tls_files(tmp_path / "kube", name="kubernetes")
    state = FakeKubeState(token="token-one")
    token_file = tmp_path / "token"
    token_file.write_text("token-one\n")
    with FakeKube(state, kube_tls.cert_file, kube_tls.key_file) as api:
        kube = KubeClient(KubeConfig(api_url or api.url, token_file, kube_tls.ca_file))
        metrics = Metrics()
        resolver = EngineResolver(
            kube.get_configmap, engine_namespace="llm", ttl=300, metrics=metrics
        )
        app = create_app(
            resolver, metrics=metrics, ready=kube.token_readable, on_shutdown=kube.aclose
        )
        webhook_tls = make_tls_files(tmp_path / "webhook")
        tls = ReloadingTLS(webhook_tls.cert_file, webhook_tls.key_file)
        with RunningWebhook(app, tls) as running:
            yield Stack(state, token_file, running.url, webhook_tls)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from build_stack(tmp_path)


def test_known_engine_costs_one_api_request_then_none(stack: Stack) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    for _ in range(5):
        response = stack.admit(pod())
        assert annotations_after(response)[CACHEBLEND_INJECTED_ANNOTATION] == "true"
    assert stack.api.requests == [("llm", ENGINE_CM, "200")]
    assert stack.metric("lmcache_webhook_engine_cache_lookups_total", result="hit") == 4
    assert stack.metric("lmcache_webhook_injections_total", mode="cacheblend") == 5


def test_missing_engine_is_skipped_as_engine_not_found(stack: Stack) -> None:
    response = stack.admit(pod())
    assert annotations_after(response) == {CACHEBLEND_SKIP_REASON_ANNOTATION: "engine-not-found"}
    assert (
        stack.metric("lmcache_webhook_skips_total", mode="cacheblend", reason="engine-not-found")
        == 1
    )


def test_engine_created_after_a_miss_is_found_by_the_next_pod(stack: Stack) -> None:
    assert (
        annotations_after(stack.admit(pod()))[CACHEBLEND_SKIP_REASON_ANNOTATION]
        == "engine-not-found"
    )
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    assert annotations_after(stack.admit(pod()))[CACHEBLEND_INJECTED_ANNOTATION] == "true"
    assert [r[2] for r in stack.api.requests] == ["404", "200"]


def test_forbidden_pod_namespace_falls_through_to_engine_namespace(stack: Stack) -> None:
    stack.api.forbidden_namespaces.add("apps")
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    for _ in range(3):
        assert annotations_after(stack.admit(pod(), namespace="apps"))[
            CACHEBLEND_INJECTED_ANNOTATION
        ]
    # The 403 is remembered like a miss, so later pods cost no request at all.
    assert stack.api.requests == [("apps", ENGINE_CM, "403"), ("llm", ENGINE_CM, "200")]


def test_engine_in_pod_namespace_wins_over_engine_namespace(stack: Stack) -> None:
    stack.api.put_configmap("apps", ENGINE_CM, connection_data(cudagraph="piecewise"))
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    response = stack.admit(pod(), namespace="apps")
    ops = json.loads(base64.b64decode(response["patch"]))
    assert not any(op.get("value") == "--enforce-eager" for op in ops)
    assert stack.api.requests == [("apps", ENGINE_CM, "200")]


def test_namespaced_reference_reads_only_that_namespace(stack: Stack) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    stack.api.put_configmap("apps", ENGINE_CM, connection_data())
    assert annotations_after(stack.admit(pod(engine_ref="llm/blend"), namespace="apps"))
    assert stack.api.requests == [("llm", ENGINE_CM, "200")]


def test_rotated_token_file_is_used_on_the_next_request(stack: Stack) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    stack.api.put_configmap("llm", "other-connection", connection_data())
    assert annotations_after(stack.admit(pod()))[CACHEBLEND_INJECTED_ANNOTATION] == "true"

    stack.api.token = "token-two"  # the API now only accepts the new token...
    stack.token_file.write_text("token-two\n")  # ...which the kubelet has written
    response = stack.admit(pod(engine_ref="other"))
    assert annotations_after(response)[CACHEBLEND_INJECTED_ANNOTATION] == "true"
    assert stack.api.requests[-1] == ("llm", "other-connection", "200")


@pytest.mark.parametrize("status", [500, 503, 429])
def test_api_error_fails_open_without_patch_and_is_counted(stack: Stack, status: int) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    stack.api.fail_status = status
    response = stack.admit(pod())
    assert "patch" not in response
    assert response["allowed"] is True
    assert stack.metric("lmcache_webhook_errors_total", kind="kube_api") == 1
    assert (
        stack.metric(
            "lmcache_webhook_admission_requests_total", mode="cacheblend", outcome="failed_open"
        )
        == 1
    )
    # Not remembered as "not found": once the API recovers, the pod is injected.
    stack.api.fail_status = None
    assert annotations_after(stack.admit(pod()))[CACHEBLEND_INJECTED_ANNOTATION] == "true"


def test_rejected_token_fails_open(stack: Stack) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, connection_data())
    stack.api.token = "someone-else"
    response = stack.admit(pod())
    assert "patch" not in response
    assert stack.metric("lmcache_webhook_errors_total", kind="kube_api") == 1


def test_unusable_engine_configmap_fails_open(stack: Stack) -> None:
    stack.api.put_configmap("llm", ENGINE_CM, {"kv-transfer-config.json": "{broken"})
    response = stack.admit(pod())
    assert "patch" not in response
    assert stack.metric("lmcache_webhook_errors_total", kind="engine_config") == 1


def test_readiness_follows_the_token_file(stack: Stack) -> None:
    assert stack.get("/readyz").status_code == 200
    stack.token_file.unlink()
    assert stack.get("/readyz").status_code == 503


def test_unreachable_api_fails_open(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    for stack in build_stack(tmp_path, api_url=closed_url):
        response = stack.admit(pod())
        assert response == {"uid": response["uid"], "allowed": True}
        assert stack.metric("lmcache_webhook_errors_total", kind="kube_api") == 1
