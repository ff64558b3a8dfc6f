"""lmcache_k8s.connection: one hash for a kv-transfer-config, whatever its formatting."""

from __future__ import annotations

import hashlib
import json

import pytest

from lmcache_k8s.connection import canonical_json, connection_hash

CONFIG = {
    "kv_connector": "LMCacheMPConnector",
    "kv_connector_extra_config": {
        "lmcache.mp.host": "tcp://my-cache.capture.svc.cluster.local",
        "lmcache.mp.port": "5555",
    },
    "kv_connector_module_path": "lmcache.integration.vllm.lmcache_mp_connector",
    "kv_role": "kv_both",
}


def test_hash_is_the_first_16_hex_of_sha256_over_the_compact_sorted_json():
    text = (
        '{"kv_connector":"LMCacheMPConnector","kv_connector_extra_config":'
        '{"lmcache.mp.host":"tcp://my-cache.capture.svc.cluster.local","lmcache.mp.port":"5555"},'
        '"kv_connector_module_path":"lmcache.integration.vllm.lmcache_mp_connector",'
        '"kv_role":"kv_both"}'
    )
    assert canonical_json(CONFIG) == text
    assert connection_hash(CONFIG) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_configmaps_pretty_json_and_the_argv_token_hash_alike():
    pretty = json.dumps(CONFIG, indent=2, sort_keys=True)
    shuffled = json.dumps(dict(reversed(list(CONFIG.items()))))
    assert connection_hash(pretty) == connection_hash(canonical_json(CONFIG))
    assert connection_hash(shuffled) == connection_hash(CONFIG)


def test_any_change_of_value_changes_the_hash():
    moved = json.loads(json.dumps(CONFIG))
    moved["kv_connector_extra_config"]["lmcache.mp.port"] = "5556"
    assert connection_hash(moved) != connection_hash(CONFIG)


@pytest.mark.parametrize("text", ["{broken", "[1, 2]", '"a string"'])
def test_text_that_is_not_a_json_object_is_refused(text):
    with pytest.raises(ValueError):
        connection_hash(text)
