"""Small builders for pods, engines and AdmissionReviews used across the webhook tests,
and `apply_patch`, the reference JSONPatch implementation the webhook's diff is checked with."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any

import jsonpatch

from lmcache_k8s.names import CACHEBLEND_ENGINE_ANNOTATION, CACHEBLEND_INJECT_LABEL, TRUE
from webhook.connection import EngineConfig, parse_connection_data

KV_TRANSFER_CONFIG = {
    "kv_connector": "CBKVConnector",
    "kv_connector_extra_config": {
        "cb.check_layer": 1,
        "cb.recomp_ratio": 0.15,
        "lmcache.mp.host": "tcp://blend.llm.svc.cluster.local",
        "lmcache.mp.port": "5555",
    },
    "kv_connector_module_path": "lmcache_cacheblend.connector",
    "kv_role": "kv_both",
}
PAYLOAD = {"pullPolicy": "IfNotPresent", "repository": "registry.example.com/cb", "tag": "1.0"}


def connection_data(**injection: Any) -> dict[str, str]:
    """The `data` of `<engine>-connection` as the chart writes it."""
    settings: dict[str, Any] = {
        "cudagraph": "eager",
        "imagePullSecrets": [],
        "payloadImage": PAYLOAD,
    }
    settings.update(injection)
    return {
        "kv-transfer-config.json": json.dumps(KV_TRANSFER_CONFIG, sort_keys=True, indent=2),
        "cacheblend-injection.json": json.dumps(settings, sort_keys=True, indent=2),
    }


def engine(namespace: str = "llm", name: str = "blend", **injection: Any) -> EngineConfig:
    return parse_connection_data(namespace, name, connection_data(**injection))


def plain_engine(namespace: str = "llm", name: str = "blend") -> EngineConfig:
    """An engine whose ConfigMap has no injection settings (a plain LMCache engine's)."""
    data = connection_data()
    del data["cacheblend-injection.json"]
    return parse_connection_data(namespace, name, data)


def pod(
    args: list[str] | None = None,
    *,
    engine_ref: str | None = "blend",
    annotations: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    meta_annotations = dict(annotations or {})
    if engine_ref is not None:
        meta_annotations[CACHEBLEND_ENGINE_ANNOTATION] = engine_ref
    if containers is None:
        containers = [
            {
                "name": "vllm",
                "image": "vllm/vllm-openai:v0.33.0",
                "args": ["--model", "Qwen/Qwen3-8B"] if args is None else args,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "vllm-",
            "namespace": "llm",
            "labels": {CACHEBLEND_INJECT_LABEL: TRUE},
            "annotations": meta_annotations,
        },
        "spec": {"containers": containers, **spec},
    }


def review(
    obj: dict[str, Any] | None,
    *,
    namespace: str = "llm",
    operation: str = "CREATE",
    kind: str = "Pod",
    uid: str | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
            "requestKind": {"group": "", "version": "v1", "kind": kind},
            "operation": operation,
            "namespace": namespace,
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": copy.deepcopy(obj),
            "oldObject": None,
            "dryRun": False,
        },
    }


def apply_patch(document: Mapping[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply RFC 6902 operations to a copy of `document` with `jsonpatch`."""
    return jsonpatch.apply_patch(dict(document), operations, in_place=False)
