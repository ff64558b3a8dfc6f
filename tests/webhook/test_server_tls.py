"""The real server: uvicorn over TLS on loopback, called like the API server calls it."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
from pathlib import Path

import httpx
import pytest

from lmcache_k8s.names import (
    CACHEBLEND_ENGINE_ANNOTATION,
    CACHEBLEND_INJECT_LABEL,
    CACHEBLEND_INJECTED_ANNOTATION,
    CACHEBLEND_WEBHOOK_PATH,
    LMCACHE_ENGINE_ANNOTATION,
    LMCACHE_INJECT_LABEL,
    LMCACHE_INJECTED_ANNOTATION,
    LMCACHE_WEBHOOK_PATH,
    TRUE,
)
from webhook.resolver import EngineResolver
from webhook.server import MAX_BODY_BYTES, create_app
from webhook.tls import ReloadingTLS

from .builders import apply_patch, pod, review
from .conftest import TLSFiles, Webhook, make_tls_files
from .pki import write_pair
from .serving import RunningWebhook

TIMEOUT = httpx.Timeout(5.0)


def client(ca_file: Path) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file)), timeout=TIMEOUT)


def post(webhook: Webhook, body: bytes | dict, **kwargs: object) -> httpx.Response:
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    with client(webhook.files.ca_file) as http:
        return http.post(
            webhook.url + "/mutate",
            content=content,
            headers={"Content-Type": "application/json"},
            **kwargs,  # type: ignore[arg-type]
        )


def decoded_patch(response: httpx.Response) -> list[dict]:
    return json.loads(base64.b64decode(response.json()["response"]["patch"]))


def assert_alive(webhook: Webhook) -> None:
    with client(webhook.files.ca_file) as http:
        assert http.get(webhook.url + "/healthz").status_code == 200
    answer = post(webhook, review(pod(), uid="still-alive"))
    assert answer.status_code == 200
    assert answer.json()["response"]["uid"] == "still-alive"


def test_admission_review_is_answered_with_uid_and_patch(webhook: Webhook) -> None:
    response = post(webhook, review(pod(), uid="0f0c-uid"))
    assert response.status_code == 200
    body = response.json()
    assert body["apiVersion"] == "admission.k8s.io/v1"
    assert body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == "0f0c-uid"
    assert body["response"]["allowed"] is True
    assert body["response"]["patchType"] == "JSONPatch"
    paths = {op["path"] for op in decoded_patch(response)}
    assert "/metadata/annotations/lmcache.ai~1cacheblend-injected" in paths
    assert "/spec/hostIPC" in paths


def test_resending_the_patched_pod_gets_no_patch(webhook: Webhook) -> None:
    original = pod()
    patched = apply_patch(original, decoded_patch(post(webhook, review(original))))
    assert patched["metadata"]["annotations"][CACHEBLEND_INJECTED_ANNOTATION] == "true"
    again = post(webhook, review(patched, uid="again"))
    assert again.json()["response"] == {"uid": "again", "allowed": True}


def test_skipped_pod_gets_only_the_skip_annotation(webhook: Webhook) -> None:
    response = post(webhook, review(pod(engine_ref="missing"), uid="skip"))
    assert decoded_patch(response) == [
        {
            "op": "add",
            "path": "/metadata/annotations/lmcache.ai~1cacheblend-skip-reason",
            "value": "engine-not-found",
        }
    ]
    assert response.json()["response"]["allowed"] is True


def test_pod_without_engine_annotation_gets_no_patch(webhook: Webhook) -> None:
    response = post(webhook, review(pod(engine_ref=None), uid="plain"))
    assert response.json()["response"] == {"uid": "plain", "allowed": True}


def test_update_and_other_kinds_are_allowed_without_patch(webhook: Webhook) -> None:
    update = post(webhook, review(pod(), operation="UPDATE", uid="u"))
    other = post(webhook, review({"metadata": {}}, kind="Deployment", uid="d"))
    assert update.json()["response"] == {"uid": "u", "allowed": True}
    assert other.json()["response"] == {"uid": "d", "allowed": True}


def envelope(**changes: object) -> dict:
    body = review(pod())
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def without_uid() -> dict:
    body = review(pod())
    del body["request"]["uid"]
    return body


def with_object(value: object) -> dict:
    body = review(pod())
    body["request"]["object"] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="malformed-json"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[]", id="array"),
        pytest.param(envelope(apiVersion="admission.k8s.io/v1beta1"), id="v1beta1"),
        pytest.param(envelope(kind="Pod"), id="wrong-kind"),
        pytest.param(envelope(request=None), id="no-request"),
        pytest.param(envelope(request="x"), id="request-not-object"),
        pytest.param(without_uid(), id="no-uid"),
        pytest.param(with_object("pod"), id="object-not-object"),
        pytest.param(with_object(None), id="pod-create-without-object"),
    ],
)
def test_malformed_requests_get_400_and_the_server_lives_on(webhook: Webhook, body: object) -> None:
    response = post(webhook, body)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert "error" in response.json()
    assert_alive(webhook)


def test_oversized_body_with_content_length_gets_413(webhook: Webhook) -> None:
    response = post(webhook, b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert_alive(webhook)


def test_oversized_chunked_body_gets_413(webhook: Webhook) -> None:
    def chunks():
        for _ in range(40):
            yield b"y" * 65536  # 2.5 MiB, no Content-Length

    with client(webhook.files.ca_file) as http:
        response = http.post(webhook.url + "/mutate", content=chunks())
    assert response.status_code == 413
    assert_alive(webhook)


def test_body_that_never_finishes_gets_408_without_waiting_for_it(webhook: Webhook) -> None:
    # The client promises 100 bytes, sends 15 and stalls; the server must answer anyway.
    context = ssl.create_default_context(cafile=str(webhook.files.ca_file))
    port = int(webhook.url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(
                b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"apiVersion": '
            )
            reply = tls.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
    assert time.monotonic() - started < 4
    assert_alive(webhook)


def test_get_on_mutate_is_405(webhook: Webhook) -> None:
    with client(webhook.files.ca_file) as http:
        assert http.get(webhook.url + "/mutate").status_code == 405


def test_health_readiness_and_metrics_endpoints(webhook: Webhook) -> None:
    post(webhook, review(pod()))
    with client(webhook.files.ca_file) as http:
        assert http.get(webhook.url + "/healthz").json() == {"status": "ok"}
        assert http.get(webhook.url + "/readyz").status_code == 200
        metrics = http.get(webhook.url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for name in (
        "lmcache_webhook_admission_requests_total",
        "lmcache_webhook_injections_total",
        'lmcache_webhook_skips_total{mode="cacheblend",reason="engine-not-found"}',
        'lmcache_webhook_skips_total{mode="lmcache",reason="dev-shm-emptydir"}',
        'lmcache_webhook_errors_total{kind="kube_api"}',
        "lmcache_webhook_admission_duration_seconds_bucket",
    ):
        assert name in text


def test_plain_http_is_refused(webhook: Webhook) -> None:
    with pytest.raises(httpx.HTTPError), httpx.Client(timeout=TIMEOUT) as http:
        http.get(webhook.url.replace("https://", "http://") + "/healthz")


# --- certificate rotation -------------------------------------------------------------


def served_serial(port: int, ca_file: Path, server_name: str | None) -> int:
    """Serial of the certificate a fresh connection is served (verified against ca_file)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        # server_name None: no SNI, as when the API server dials an IP address.
        context.check_hostname = server_name is not None
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return int(tls.getpeercert()["serialNumber"], 16)


@pytest.fixture
def rotating(tls_files: TLSFiles) -> RunningWebhook:
    resolver = EngineResolver(_nothing, engine_namespace="llm")
    tls = ReloadingTLS(tls_files.cert_file, tls_files.key_file)
    with RunningWebhook(create_app(resolver), tls) as running:
        yield running


async def _nothing(namespace: str, name: str) -> None:
    return None


@pytest.mark.parametrize("server_name", [None, "localhost"], ids=["no-sni", "sni"])
def test_replaced_certificate_is_served_on_the_next_connection(
    rotating: RunningWebhook, tls_files: TLSFiles, tmp_path: Path, server_name: str | None
) -> None:
    port = rotating.port
    assert served_serial(port, tls_files.ca_file, server_name) == tls_files.issued.serial

    with client(tls_files.ca_file) as http:  # a keep-alive client opened before rotation
        assert http.get(rotating.url + "/healthz").status_code == 200

        new = make_tls_files(tmp_path / "next", name="rotated")
        write_pair(new.issued, tls_files.cert_file, tls_files.key_file)

        assert served_serial(port, new.ca_file, server_name) == new.issued.serial
        assert new.issued.serial != tls_files.issued.serial
        with client(new.ca_file) as fresh:
            assert fresh.get(rotating.url + "/healthz").status_code == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            served_serial(port, tls_files.ca_file, server_name)
        # The connection that was already open keeps working.
        assert http.get(rotating.url + "/healthz").status_code == 200


def test_broken_replacement_keeps_the_previous_certificate(
    rotating: RunningWebhook, tls_files: TLSFiles, tmp_path: Path
) -> None:
    other = make_tls_files(tmp_path / "other", name="other")
    # Certificate and key that do not belong together: the reload must fail safely.
    tls_files.cert_file.write_bytes(other.issued.cert_pem)
    assert served_serial(rotating.port, tls_files.ca_file, None) == tls_files.issued.serial
    # Once the pair is consistent again, it is picked up.
    write_pair(other.issued, tls_files.cert_file, tls_files.key_file)
    assert served_serial(rotating.port, other.ca_file, None) == other.issued.serial


def _post_to(webhook: Webhook, path: str, body: dict) -> httpx.Response:
    with client(webhook.files.ca_file) as http:
        return http.post(webhook.url + path, json=body)


def lmcache_pod(*, both_labels: bool = False) -> dict:
    """A pod as the NVIDIA Dynamo and KServe LMCache guides label it."""
    obj = pod(engine_ref=None)
    labels = {LMCACHE_INJECT_LABEL: TRUE}
    annotations = {LMCACHE_ENGINE_ANNOTATION: "blend"}
    if both_labels:
        labels[CACHEBLEND_INJECT_LABEL] = TRUE
        annotations[CACHEBLEND_ENGINE_ANNOTATION] = "blend"
    obj["metadata"]["labels"] = labels
    obj["metadata"]["annotations"] = annotations
    return obj


def test_one_process_answers_both_paths(webhook: Webhook) -> None:
    source = lmcache_pod()
    answer = _post_to(webhook, LMCACHE_WEBHOOK_PATH, review(source))
    assert answer.status_code == 200
    injected = apply_patch(source, decoded_patch(answer))
    assert injected["metadata"]["annotations"][LMCACHE_INJECTED_ANNOTATION] == TRUE
    assert injected["spec"]["hostIPC"] is True
    args = injected["spec"]["containers"][0]["args"]
    assert args.count("--kv-transfer-config") == 1
    assert "--attention-backend" not in args  # the LMCache mode adds no CacheBlend flag
    # The same pod on the CacheBlend path: it did not ask there, so no patch.
    other = _post_to(webhook, CACHEBLEND_WEBHOOK_PATH, review(source)).json()["response"]
    assert "patch" not in other


def test_a_pod_with_both_labels_is_injected_by_the_cacheblend_path_only(webhook: Webhook) -> None:
    both = lmcache_pod(both_labels=True)
    lmcache = _post_to(webhook, LMCACHE_WEBHOOK_PATH, review(both)).json()["response"]
    assert "patch" not in lmcache
    answer = _post_to(webhook, CACHEBLEND_WEBHOOK_PATH, review(both))
    injected = apply_patch(both, decoded_patch(answer))
    assert injected["metadata"]["annotations"][CACHEBLEND_INJECTED_ANNOTATION] == TRUE
    # Whichever order the API server used, the second call changes nothing.
    again = _post_to(webhook, LMCACHE_WEBHOOK_PATH, review(injected)).json()["response"]
    assert "patch" not in again
