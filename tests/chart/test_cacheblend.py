"""CacheBlend engines (SPEC 2.6): an engine DaemonSet with the blend flags, the CacheBlend
connector, and the second ConfigMap key the injection webhook reads."""

from __future__ import annotations

import json

import pytest

from lmcache_k8s.names import COMPONENT_LABEL
from tests.chart.helpers import args, blend, container, notes, ok, pod_spec
from tests.support import HELMS, RELEASE, ref

helms = pytest.mark.parametrize("helm", HELMS)

BLEND_FLAGS = ["--engine-type", "blend", "--l1-align-bytes", "16777216"]
SELECTOR = {
    "app.kubernetes.io/name": "lmcache",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "cacheblend-engine",
    "lmcache.ai/engine": "my-cb",
}


def one(helm: str = "helm3", namespace: str = "llm", **fields):
    return ok({"cacheBlendEngines": {"my-cb": blend(**fields)}}, helm, namespace=namespace)


def daemonset(**fields):
    return one(**fields).get("DaemonSet", "my-cb")


def configmap_data(helm: str = "helm3", namespace: str = "llm", **fields) -> dict[str, str]:
    return one(helm, namespace, **fields).get("ConfigMap", "my-cb-connection")["data"]


@helms
def test_blend_engine_renders_the_engine_objects_with_its_component(helm):
    out = one(helm)
    # The webhook renders beside it by default (a CacheBlend engine needs its injection);
    # tests/chart/test_webhook.py covers those objects.
    own = [
        d
        for d in out.docs
        if not d["metadata"]["labels"].get(COMPONENT_LABEL, "").startswith("webhook")
    ]
    assert [ref(d) for d in own] == [
        "NetworkPolicy/my-cb",
        "ConfigMap/my-cb-connection",
        "Service/my-cb-metrics",
        "Service/my-cb",
        "DaemonSet/my-cb",
    ]
    for doc in own:
        labels = doc["metadata"]["labels"]
        assert {k: labels[k] for k in SELECTOR} == SELECTOR
    ds = out.get("DaemonSet", "my-cb")
    assert ds["spec"]["selector"]["matchLabels"] == SELECTOR
    assert pod_spec(ds)["hostIPC"] is True


@helms
def test_default_args_end_with_the_blend_flags(helm):
    ds = one(helm).get("DaemonSet", "my-cb")
    assert container(ds)["command"] == ["/opt/venv/bin/lmcache", "server"]
    assert args(ds) == [
        "--host", "0.0.0.0",
        "--port", "5555",
        "--http-host", "0.0.0.0",
        "--http-port", "8080",
        "--l1-size-gb", "60.0",
        "--chunk-size", "256",
        "--max-workers", "1",
        "--hash-algorithm", "blake3",
        "--eviction-policy", "LRU",
        "--eviction-trigger-watermark", "0.8",
        "--eviction-ratio", "0.2",
        *BLEND_FLAGS,
    ]  # fmt: skip


def test_blend_flags_come_after_the_coordinator_flags_and_before_extra_args():
    ds = daemonset(
        prometheus={"enabled": False},
        coordinator={"url": "http://c:9300"},
        extraArgs=["--foo"],
    )
    tail = args(ds)[22:]
    assert tail == [
        "--disable-metrics",
        "--coordinator-url", "http://c:9300",
        "--coordinator-heartbeat-interval", "5",
        "--coordinator-event-reporting",  # on by default for blend engines
        *BLEND_FLAGS,
        "--foo",
    ]  # fmt: skip


def test_resources_use_the_engine_formula():
    assert container(daemonset(l1={"sizeGB": 0.5}))["resources"] == {
        "requests": {"cpu": "4", "memory": "6Gi"},
        "limits": {"memory": "9Gi"},
    }


CB_CONNECTION = """{
  "kv_connector": "CBKVConnector",
  "kv_connector_extra_config": {
    "cb.check_layer": 1,
    "cb.recomp_ratio": 0.15,
    "lmcache.mp.host": "tcp://my-cb.inference.svc.cluster.local",
    "lmcache.mp.port": "6555"
  },
  "kv_connector_module_path": "lmcache_cacheblend.connector",
  "kv_role": "kv_both"
}"""


@helms
def test_connection_uses_the_cacheblend_connector_byte_exact(helm):
    data = configmap_data(helm, "inference", server={"port": 6555})
    assert data["kv-transfer-config.json"] == CB_CONNECTION
    assert json.dumps(json.loads(CB_CONNECTION), indent=2, sort_keys=True) == CB_CONNECTION


@pytest.mark.parametrize(
    ("blend_fields", "layer", "ratio"),
    [({"checkLayer": 0, "recompRatio": 1}, "0", "1.0"), ({"checkLayer": 12, "recompRatio": 0.05}, "12", "0.05")],
)  # fmt: skip
def test_blend_settings_print_layer_as_integer_and_ratio_as_float(blend_fields, layer, ratio):
    text = configmap_data(blend=blend_fields)["kv-transfer-config.json"]
    assert f'"cb.check_layer": {layer},' in text
    assert f'"cb.recomp_ratio": {ratio},' in text


INJECTION_DEFAULT = """{
  "cudagraph": "eager",
  "imagePullSecrets": [],
  "payloadImage": {
    "pullPolicy": "IfNotPresent",
    "repository": "registry.example.com/cacheblend-plugin",
    "tag": "latest"
  }
}"""

INJECTION_FULL = """{
  "cudagraph": "full_decode_only",
  "imagePullSecrets": [
    {
      "name": "plugin-pull"
    },
    {
      "name": "other"
    }
  ],
  "payloadImage": {
    "pullPolicy": "Always",
    "repository": "registry.example.com/cb",
    "tag": "0.1.0"
  },
  "targetContainer": "vllm"
}"""


@helms
def test_injection_key_with_defaults_omits_the_target_container(helm):
    data = configmap_data(helm)
    assert data["cacheblend-injection.json"] == INJECTION_DEFAULT


@helms
def test_injection_key_carries_every_injection_field(helm):
    injection = {
        "payloadImage": {"repository": "registry.example.com/cb", "tag": "0.1.0",
                         "pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "plugin-pull"}, {"name": "other"}],
        "targetContainer": "vllm",
        "cudagraph": "full_decode_only",
    }  # fmt: skip
    data = configmap_data(helm, injection=injection)
    assert data["cacheblend-injection.json"] == INJECTION_FULL
    assert json.dumps(json.loads(INJECTION_FULL), indent=2, sort_keys=True) == INJECTION_FULL


def test_plain_engines_have_no_injection_key():
    out = ok({"engines": {"e": {"l1": {"sizeGB": 1}}}})
    assert list(out.get("ConfigMap", "e-connection")["data"]) == ["kv-transfer-config.json"]


def test_notes_explain_the_opt_in_and_warn_when_the_webhook_is_off():
    text = notes({"cacheBlendEngines": {"my-cb": blend()}, "webhook": {"enabled": False}})
    assert 'lmcache.ai/cacheblend-inject: "true"' in text
    assert "lmcache.ai/cacheblend-engine" in text
    assert "webhook.enabled is false" in text
    # On by default with a CacheBlend engine: no warning then.
    trusted = {"tls": {"certManager": {"trustCRDsExist": True}}}
    text = notes({"cacheBlendEngines": {"my-cb": blend()}, "webhook": trusted})
    assert "webhook.enabled is false" not in text


def test_notes_show_the_webhook_rollout_and_the_gitops_caveat_of_helm_tls():
    text = notes(
        {
            "cacheBlendEngines": {"my-cb": blend()},
            "webhook": {"enabled": True, "tls": {"mode": "helm"}},
        }
    )
    assert "webhook.enabled is false" not in text
    assert "rollout status deployment/rel-lmcache-webhook" in text
    assert "use webhook.tls.mode=secret" in text
