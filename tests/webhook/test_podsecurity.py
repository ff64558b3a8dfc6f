"""Pod Security: the webhook never adds hostIPC where the namespace's enforced level forbids it.

The namespace is read through the real KubeClient from the fake API server
(GET /api/v1/namespaces/NAME), with the same RBAC wording a real one uses.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lmcache_k8s.names import (
    CACHEBLEND_INJECTED_ANNOTATION,
    CACHEBLEND_SKIP_REASON_ANNOTATION,
    POD_SECURITY_ENFORCE_LABEL,
)
from tests.fake_kube import FakeKube, FakeKubeState
from webhook.admission import admit
from webhook.kube import KubeClient, KubeConfig
from webhook.podsecurity import NamespaceLevels
from webhook.resolver import EngineResolver
from webhook.review import parse_review

from .builders import apply_patch, connection_data, pod, review
from .conftest import make_tls_files


def _run(state: FakeKubeState, tmp_path: Path, namespace: str):
    tls = make_tls_files(tmp_path / "kube", name="kubernetes")
    token = tmp_path / "token"
    token.write_text("t\n")
    source = pod()
    source["metadata"]["namespace"] = namespace

    async def go():
        kube = KubeClient(KubeConfig(api.url, token, tls.ca_file))
        try:
            resolver = EngineResolver(kube.get_configmap, engine_namespace="llm")
            levels = NamespaceLevels(kube.get_namespace)
            body = review(source, namespace=namespace)
            decision = await admit(
                parse_review(json.dumps(body).encode()), resolver, namespaces=levels
            )
            await resolver.aclose()
            return decision
        finally:
            await kube.aclose()

    with FakeKube(state, tls.cert_file, tls.key_file) as api:
        decision = asyncio.run(go())
    patched = apply_patch(source, decision.patch) if decision.patch else source
    return decision, patched["metadata"].get("annotations") or {}, patched


def _state(level: str | None) -> FakeKubeState:
    state = FakeKubeState(token="t")
    state.put_configmap("llm", "blend-connection", connection_data())
    labels = {"kubernetes.io/metadata.name": "team"}
    if level is not None:
        labels[POD_SECURITY_ENFORCE_LABEL] = level
    state.put_namespace("team", labels)
    return state


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_a_namespace_enforcing_a_level_that_forbids_host_ipc_skips_naming_it(
    tmp_path: Path, level: str
) -> None:
    decision, annotations, patched = _run(_state(level), tmp_path, "team")
    assert decision.outcome == "skipped"
    assert annotations[CACHEBLEND_SKIP_REASON_ANNOTATION] == f"pod-security-{level}"
    assert "hostIPC" not in patched["spec"]


@pytest.mark.parametrize("level", ["privileged", None], ids=["privileged", "unlabelled"])
def test_privileged_or_unlabelled_namespaces_are_injected(
    tmp_path: Path, level: str | None
) -> None:
    decision, annotations, patched = _run(_state(level), tmp_path, "team")
    assert decision.outcome == "injected"
    assert annotations[CACHEBLEND_INJECTED_ANNOTATION] == "true"
    assert patched["spec"]["hostIPC"] is True


def test_without_get_on_namespaces_the_pod_is_admitted_unchanged(tmp_path: Path) -> None:
    state = _state("baseline")
    state.deny("get", "namespaces", "")
    decision, annotations, _ = _run(state, tmp_path, "team")
    assert decision.outcome == "failed_open"
    assert decision.error_kind == "kube_api"
    assert annotations == {"lmcache.ai/cacheblend-engine": "blend"}


def test_levels_are_cached_for_the_ttl() -> None:
    calls: list[str] = []
    now = [0.0]

    async def fetch(name: str):
        calls.append(name)
        return {"metadata": {"labels": {POD_SECURITY_ENFORCE_LABEL: "baseline"}}}

    levels = NamespaceLevels(fetch, ttl=30, clock=lambda: now[0])

    async def go():
        assert await levels.enforce_level("a") == "baseline"
        now[0] = 29
        assert await levels.enforce_level("a") == "baseline"
        now[0] = 31
        assert await levels.enforce_level("a") == "baseline"

    asyncio.run(go())
    assert calls == ["a", "a"]
