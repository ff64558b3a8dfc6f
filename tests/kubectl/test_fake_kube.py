"""The fake API answers like the real one: same envelopes, same Status bodies, real selectors."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest

from tests.fake_kube import label_matcher

from .cluster import recorded
from .conftest import TOKEN, Api


def fetch(api: Api, path: str, ca_pem: bytes) -> tuple[int, dict]:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    request = urllib.request.Request(api.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (
            "/apis/apps/v1/namespaces/capture/daemonsets?labelSelector=app.kubernetes.io/name%3Dlmcache",
            "list-daemonsets.json",
        ),
        (
            "/apis/apps/v1/daemonsets?labelSelector=app.kubernetes.io/name%3Dlmcache",
            "list-daemonsets-all-namespaces.json",
        ),
        (
            "/api/v1/namespaces/capture/pods?labelSelector=app.kubernetes.io/name%3Dlmcache",
            "list-pods.json",
        ),
        ("/api/v1/namespaces/capture/events", "list-events.json"),
    ],
)
def test_lists_come_back_as_the_real_api_server_sent_them(api: Api, kube_tls, path, name):
    data = recorded(name)
    api.state.load_list(data)
    status, body = fetch(api, path, kube_tls.ca.pem)
    assert status == 200
    body["metadata"]["resourceVersion"] = data["metadata"]["resourceVersion"]
    assert body == data


def test_forbidden_and_not_found_bodies_match_the_recorded_ones(api: Api, kube_tls):
    api.state.user = "system:serviceaccount:capture:nobody"
    api.state.deny("list", "daemonsets", "capture")
    assert fetch(api, "/apis/apps/v1/namespaces/capture/daemonsets", kube_tls.ca.pem) == (
        403,
        recorded("status-403-list-daemonsets.json"),
    )
    assert fetch(api, "/api/v1/namespaces/capture/configmaps/nope", kube_tls.ca.pem) == (
        404,
        recorded("status-404-configmap.json"),
    )


def test_version_is_the_recorded_one(api: Api, kube_tls):
    assert fetch(api, "/version", kube_tls.ca.pem) == (200, recorded("version.json"))


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("a=1", True),
        ("a==1", True),
        ("a!=1", False),
        ("a", True),
        ("!a", False),
        ("c", False),
        ("!c", True),
        ("a in (1,2),b notin (x)", True),
        ("a in (2,3)", False),
        ("a=1,b=2", True),
        ("a=1,b=3", False),
        ("c!=1", True),
    ],
)
def test_label_selectors_follow_the_kubernetes_grammar(selector, matches):
    assert label_matcher(selector)({"a": "1", "b": "2"}) is matches


def test_paging_hands_out_continue_tokens(api: Api, kube_tls):
    for i in range(5):
        api.state.put_configmap("capture", f"cm-{i}", {})
    status, page = fetch(api, "/api/v1/namespaces/capture/configmaps?limit=2", kube_tls.ca.pem)
    assert status == 200 and len(page["items"]) == 2
    assert page["metadata"]["remainingItemCount"] == 3
    token = page["metadata"]["continue"]
    _, rest = fetch(
        api, f"/api/v1/namespaces/capture/configmaps?limit=9&continue={token}", kube_tls.ca.pem
    )
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm-2", "cm-3", "cm-4"]
    assert "continue" not in rest["metadata"]
